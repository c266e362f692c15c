"""The ``flexibench`` command line. Thin: parse, call the library, print.

Each subsystem contributes its subcommands through a ``register(subparsers)``
function in its own ``commands`` module, so the CLI grows without one file knowing
every option. Only the module that owns the command being run is imported: the
others stand in as one-line entries of :data:`COMMANDS` (its help text), so
``flexibench --help``, ``info``, ``query``, ``card`` and ``space`` start without
torch or networkx (a test keeps :data:`COMMANDS` in step with the modules). Library
errors (:class:`flexibench.core.errors.FlexiBenchError`) are printed as one line on
stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from flexibench.core.errors import FlexiBenchError
from flexibench.core.version import __version__

#: Top-level command -> (the ``commands`` module that registers it, its one-line help), in --help order.
COMMANDS: dict[str, tuple[str, str]] = {
    "space": ("flexibench.core.commands", "design-space sizes and enumeration"),
    "card": ("flexibench.core.commands", "validate and show model cards"),
    "model": ("flexibench.models.commands", "FlexiBERT model sizes"),
    "query": ("flexibench.bench.commands", "look up (or predict) how a card performs"),
    "info": ("flexibench.bench.commands", "what the table holds: cards, records, seeds, surrogate figures"),
    "pack": ("flexibench.bench.commands", "merge journal shards and the graph library into a new table"),
    "verify": ("flexibench.bench.commands", "check a table's structure, checksums, row counts and hashes"),
    "latency": (
        "flexibench.bench.commands",
        "hardware objectives: time every level-1 card on this CPU into journal shards (resumable)",
    ),
    "library": ("flexibench.library.commands", "graph library: GED, embeddings, neighbours"),
    "train": ("flexibench.train.commands", "pretrain + fine-tune one card under a recipe; print its record"),
    "sweep": ("flexibench.train.commands", "evaluate many cards x seeds into journal shards (resumable)"),
    "search": (
        "flexibench.search.commands",
        "run search algorithms over seeds in simulated time; one JSONL trajectory per run",
    ),
    "leaderboard": ("flexibench.search.commands", "markdown + CSV leaderboard and plots from search runs"),
}
COMMAND_MODULES = tuple(dict.fromkeys(module for module, _ in COMMANDS.values()))


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The CLI's parser. ``command`` given: only its module is imported, every other command is a stub.

    Without ``command`` every module registers its commands (the full parser, for tools and tests).
    A stub only lists the command under --help; it is never what parses a command that runs.
    """
    parser = argparse.ArgumentParser(prog="flexibench", description="FlexiBERT design-space benchmark.")
    parser.add_argument("--version", action="version", version=f"flexibench {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        names = [name for name, (owner, _) in COMMANDS.items() if owner == module]
        if command is None or command in names:
            importlib.import_module(module).register(subparsers)
        else:
            for name in names:
                subparsers.add_parser(name, help=COMMANDS[name][1], add_help=False)
    return parser


def _command_of(argv: Sequence[str]) -> str | None:
    """The command ``argv`` runs: its first word that is not an option (top-level options take no value)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = _command_of(argv)
    parser = build_parser(command if command in COMMANDS else "")
    args = parser.parse_args(argv)
    try:
        result = args.handler(args)
    except FlexiBenchError as exc:
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(exc))  # one line, whatever was typed
        print(f"flexibench: error: {text}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `flexibench space enumerate | head`
        sys.stderr.close()
        return 0
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
