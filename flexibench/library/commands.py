"""CLI: ``flexibench library build|ged|neighbours|ged-table``."""

from __future__ import annotations

import argparse
import json
import time

from flexibench.core.card import ModelCard
from flexibench.core.commands import add_space_option, space_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    lib = subparsers.add_parser("library", help="graph library: GED, embeddings, neighbours").add_subparsers(
        dest="library_command", required=True
    )
    build = lib.add_parser("build", help="build (or load from cache) a level's library and optionally copy it")
    build.add_argument("--level", type=int, default=1)
    build.add_argument("--dim", type=int, default=16)
    build.add_argument("--out", default=None, help="also write the library to this .npz file")
    build.add_argument("--cache-dir", default=None, help="cache directory (default $FLEXIBENCH_CACHE)")
    add_space_option(build)
    build.set_defaults(handler=_build)

    ged = lib.add_parser("ged", help="exact graph edit distance between two cards (names or JSON)")
    ged.add_argument("card_a")
    ged.add_argument("card_b")
    ged.add_argument("--json", action="store_true", help="machine-readable output")
    ged.set_defaults(handler=_ged)

    nb = lib.add_parser("neighbours", help="nearest library cards by biased overlap, then embedding distance")
    nb.add_argument("card")
    nb.add_argument("-k", type=int, default=10)
    nb.add_argument("--level", type=int, default=1)
    nb.add_argument("--cache-dir", default=None)
    nb.set_defaults(handler=_neighbours)

    table = lib.add_parser("ged-table", help="all-pairs GED table (x10, condensed) of a level into the cache")
    table.add_argument("--level", type=int, default=1)
    table.add_argument("--out", default=None, help="write here instead of the cache")
    table.add_argument("--cache-dir", default=None)
    add_space_option(table)
    table.set_defaults(handler=_ged_table)


def _build(args: argparse.Namespace) -> int:
    from flexibench.library.library import load_or_build_library

    start = time.perf_counter()
    lib = load_or_build_library(args.level, space_from_args(args), args.dim, args.cache_dir)
    if args.out:
        lib.save(args.out)
    print(
        json.dumps(
            {
                "level": lib.level,
                "cards": len(lib),
                "dim": lib.dim,
                "k": int(lib.neighbours.shape[1]),
                "fit_rmse": lib.meta.get("fit_rmse"),
                "fit_spearman": lib.meta.get("fit_spearman"),
                "seconds": round(time.perf_counter() - start, 2),
                "out": args.out,
            }
        )
    )
    return 0


def _ged(args: argparse.Namespace) -> int:
    from flexibench.library.ged import ged_lower_bound_x10, ged_x10

    a, b = ModelCard.parse(args.card_a), ModelCard.parse(args.card_b)
    exact = ged_x10(a, b)
    bound = ged_lower_bound_x10(a, b)
    if args.json:
        print(json.dumps({"ged": exact / 10, "ged_x10": exact, "table_lower_bound_x10": bound}))
    else:
        print(f"{exact / 10:g}")
    return 0


def _neighbours(args: argparse.Namespace) -> int:
    from flexibench.library.library import load_or_build_library
    from flexibench.library.neighbours import biased_overlap

    lib = load_or_build_library(args.level, cache_dir=args.cache_dir)
    card = ModelCard.parse(args.card)
    query = lib.embed(card)
    for j in lib.nearest(card, args.k):
        other = lib.cards[j]
        dist = float(((lib.embeddings[j] - query) ** 2).sum() ** 0.5)
        print(
            json.dumps(
                {"index": j, "overlap": biased_overlap(card, other), "distance": round(dist, 3), "card": other.short()}
            )
        )
    return 0


def _ged_table(args: argparse.Namespace) -> int:
    from flexibench.library.library import load_or_build_ged_table

    start = time.perf_counter()
    table, path = load_or_build_ged_table(args.level, space_from_args(args), None, args.cache_dir, args.out)
    print(
        json.dumps({"path": str(path), "pairs": int(table.shape[0]), "seconds": round(time.perf_counter() - start, 2)})
    )
    return 0
