"""The ``flexibench`` command line. Thin: parse, call the library, print.

Each subsystem contributes its subcommands through a ``register(subparsers)``
function in its own ``commands`` module (listed in ``COMMAND_MODULES``), so the
CLI grows without one file knowing every command. Library errors
(:class:`flexibench.errors.FlexiBenchError`) are printed as one line on stderr
with exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from flexibench import __version__
from flexibench.errors import FlexiBenchError

COMMAND_MODULES = (
    "flexibench.space.commands",
    "flexibench.models.commands",
    "flexibench.bench.commands",
    "flexibench.library.commands",
    "flexibench.train.commands",
    "flexibench.search.commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flexibench", description="FlexiBERT design-space benchmark.")
    parser.add_argument("--version", action="version", version=f"flexibench {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
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
