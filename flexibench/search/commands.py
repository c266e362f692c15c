"""CLI: ``flexibench search`` (run algorithms x seeds) and ``flexibench leaderboard`` (aggregate runs)."""

from __future__ import annotations

import argparse
import functools
import shlex
import sys
import time

from flexibench.core.errors import FlexiBenchError
from flexibench.core.transfer_rule import DEFAULT_TAU
from flexibench.search.encodings import ENCODINGS
from flexibench.search.leaderboard import DEFAULT_BUDGETS, write_leaderboard
from flexibench.search.objective import OBJECTIVES, SyntheticObjective, TableObjective
from flexibench.search.registry import OPTIMIZERS
from flexibench.search.runner import run_many


def register(subparsers: argparse._SubParsersAction) -> None:
    search = subparsers.add_parser(
        "search",
        help="run search algorithms over seeds in simulated time; one JSONL trajectory per run",
        description="Algorithms: " + ", ".join(OPTIMIZERS),
    )
    search.add_argument("--algo", required=True, help="algorithm name(s), comma-separated, or 'all'")
    search.add_argument("--budget", type=int, default=100, help="queries per run (default 100)")
    search.add_argument("--time-budget", type=float, default=None, help="simulated seconds per run (optional)")
    search.add_argument("--seeds", type=int, default=10, help="seeds 0..K-1 per algorithm (default 10)")
    search.add_argument("--seed-offset", type=int, default=0, help="first seed (default 0)")
    search.add_argument("--workers", type=int, default=1, help="simulated asynchronous workers (default 1)")
    search.add_argument("--encoding", choices=ENCODINGS, default="naive")
    search.add_argument("--objective", choices=OBJECTIVES, default="synthetic")
    search.add_argument("--objective-seed", type=int, default=0, help="seed of the synthetic objective")
    search.add_argument(
        "--table", default=None, help="table file (objective 'table'; default: $FLEXIBENCH_TABLE or data/flexibench.h5)"
    )
    search.add_argument("--fidelity", default=None, help="table fidelity (objective 'table'; default: the table's)")
    search.add_argument(
        "--tau", type=float, default=DEFAULT_TAU, help=f"weight-transfer overlap threshold (default {DEFAULT_TAU})"
    )
    search.add_argument("--processes", type=int, default=2, help="parallel processes (default 2)")
    search.add_argument("--out", required=True, help="directory for the trajectories")
    search.set_defaults(handler=_search)

    board = subparsers.add_parser("leaderboard", help="markdown + CSV leaderboard and plots from search runs")
    board.add_argument("runs", nargs="+", help="directories holding *.jsonl trajectories")
    board.add_argument("--out", default="leaderboards", help="output directory (default leaderboards/)")
    board.add_argument(
        "--budgets",
        default=",".join(map(str, DEFAULT_BUDGETS)),
        help="query budgets for the table, comma-separated (default 10,25,50,100)",
    )
    board.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    board.set_defaults(handler=_leaderboard)


def _algorithms(text: str) -> list[str]:
    names = list(OPTIMIZERS) if text.strip() == "all" else [a.strip() for a in text.split(",") if a.strip()]
    unknown = [a for a in names if a not in OPTIMIZERS]
    if unknown or not names:
        raise FlexiBenchError(f"--algo: {unknown or text!r} is not allowed; allowed: {sorted(OPTIMIZERS)} or 'all'")
    return names


def _search(args: argparse.Namespace) -> int:
    algos = _algorithms(args.algo)
    if args.objective == "table":
        from flexibench.bench.benchmark import load

        with load(args.table) as bench:  # defaults as `flexibench query` has them
            table, fidelity = str(bench.path), args.fidelity or bench.default_fidelity
            bench.budgets(fidelity)  # an unknown fidelity fails here, before any process starts
        objective = functools.partial(TableObjective.from_path, table, fidelity)
        print(f"objective: table {table}, fidelity {fidelity}", file=sys.stderr)
    else:
        objective = functools.partial(SyntheticObjective, seed=args.objective_seed)
    seeds = list(range(args.seed_offset, args.seed_offset + args.seeds))
    started = time.perf_counter()
    total, done = len(algos) * len(seeds), []

    def progress(path: str) -> None:
        done.append(path)
        elapsed = time.perf_counter() - started
        print(f"[{len(done)}/{total}] {elapsed:.0f} s  {path}", file=sys.stderr, flush=True)

    paths = run_many(
        algos,
        objective,
        budget=args.budget,
        seeds=seeds,
        workers=args.workers,
        encoding=args.encoding,
        out_dir=args.out,
        processes=args.processes,
        time_budget_s=args.time_budget,
        tau=args.tau,
        progress=progress,
    )
    print(f"{len(paths)} runs in {time.perf_counter() - started:.1f} s -> {args.out}")
    return 0


def _leaderboard(args: argparse.Namespace) -> int:
    try:
        budgets = [int(b) for b in args.budgets.split(",") if b.strip()]
    except ValueError:
        raise FlexiBenchError(f"--budgets: {args.budgets!r} is not allowed; allowed: integers like 10,25,50") from None
    command = "flexibench leaderboard " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if sys.argv[2:] else None
    for path in write_leaderboard(args.runs, args.out, budgets, command=command, plots=not args.no_plots):
        print(path)
    return 0
