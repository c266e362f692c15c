"""CLI: ``flexibench space count|enumerate`` and ``flexibench card validate|show``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from flexibench.core.card import ModelCard
from flexibench.core.design_space import DesignSpace
from flexibench.core.graph import card_graph, card_hash


def add_space_option(parser: argparse.ArgumentParser) -> None:
    """``--space FILE``: a design-space YAML (default: the paper's Table 2 space)."""
    parser.add_argument("--space", default=None, help="design-space YAML (default: the paper's Table 2)")


def space_from_args(args: argparse.Namespace) -> DesignSpace:
    """``--space`` is always a file path (never YAML text), so a mistyped name is reported as missing."""
    return DesignSpace.from_yaml(Path(args.space)) if getattr(args, "space", None) else DesignSpace.default()


def register(subparsers: argparse._SubParsersAction) -> None:
    space = subparsers.add_parser("space", help="design-space sizes and enumeration").add_subparsers(
        dest="space_command", required=True
    )
    count = space.add_parser("count", help="number of cards at a hierarchy level (closed form)")
    count.add_argument("--level", type=int, default=1)
    add_space_option(count)
    count.set_defaults(handler=_count)
    enum = space.add_parser("enumerate", help="JSON lines {hash, card} for every card at a level")
    enum.add_argument("--level", type=int, default=1)
    enum.add_argument("--limit", type=int, default=None, help="stop after this many cards")
    add_space_option(enum)
    enum.set_defaults(handler=_enumerate)

    card = subparsers.add_parser("card", help="validate and show model cards").add_subparsers(
        dest="card_command", required=True
    )
    validate = card.add_parser("validate", help="check a card (name or JSON) against the design space")
    validate.add_argument("card")
    add_space_option(validate)
    validate.set_defaults(handler=_validate)
    show = card.add_parser("show", help="print a card (name or JSON) with its level, hash and graph size")
    show.add_argument("card")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    add_space_option(show)
    show.set_defaults(handler=_show)


def _count(args: argparse.Namespace) -> int:
    print(space_from_args(args).count(args.level))
    return 0


def _enumerate(args: argparse.Namespace) -> int:
    out = sys.stdout
    for i, card in enumerate(space_from_args(args).enumerate(args.level)):
        if args.limit is not None and i >= args.limit:
            break
        out.write(json.dumps({"hash": card_hash(card), "card": card.to_dict()}, separators=(",", ":")) + "\n")
    return 0


def _validate(args: argparse.Namespace) -> int:
    space = space_from_args(args)
    card = space.validate(ModelCard.parse(args.card))
    print(f"ok: level {space.level_of(card)}: {card.short()}")
    return 0


def _show(args: argparse.Namespace) -> int:
    space = space_from_args(args)
    card = space.validate(ModelCard.parse(args.card))
    graph = card_graph(card)
    info = {
        "card": card.to_dict(),
        "short": card.short(),
        "level": space.level_of(card),
        "homogeneous": card.is_homogeneous,
        "hash": card_hash(card),
        "graph": {"nodes": len(graph.labels), "edges": len(graph.edges)},
    }
    if args.json:
        print(json.dumps(info))
    else:
        print(
            f"{info['short']}\n  card:  {card.to_json()}\n  level: {info['level']}  homogeneous: {info['homogeneous']}"
        )
        print(f"  hash:  {info['hash']}\n  graph: {len(graph.labels)} nodes, {len(graph.edges)} edges")
    return 0
