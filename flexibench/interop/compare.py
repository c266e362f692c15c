"""The combined leaderboard: FlexiBench's algorithms, syne-tune's schedulers and Optuna's samplers, one budget.

``python -m flexibench.interop.compare --out runs/combined-nano --board leaderboards/combined-nano``
runs whatever (method, seed) trajectory is missing under ``--out`` and writes the board.

The shared budget (:class:`Protocol`): every method gets ``workers`` simulated asynchronous
workers for ``time_budget_s`` simulated seconds, on one clock, the table's per-card training
time. FlexiBench's runner and syne-tune's simulator are both event clocks of this kind, so
the budget is the same compute (worker-hours) whichever way a method spends it: many full
evaluations, or many partial ones (ASHA and BOHB stop trials at learning-curve rungs).
Results finishing after the deadline are not seen. Nobody is charged for deciding (ask
latency and scheduler time are off the clock), and weight transfer is priced at the full
pretraining (``transfer_pretrain_share=1``): syne-tune's and Optuna's methods cannot
transfer weights, so no one gets that discount. The seeds are ``0 .. seeds-1`` for everyone;
regret is the table optimum minus the noise-free final score of the incumbent, the card with
the best observed full-budget score.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from flexibench.search.objective import TableObjective
from flexibench.search.registry import OPTIMIZERS

FLEXIBENCH = tuple(OPTIMIZERS)
SYNETUNE = ("st-rs", "st-re", "st-tpe", "st-asha", "st-bohb")  # st-bo (BOTorch GP) also runs: --synetune
OPTUNA = ("optuna-tpe", "optuna-random")


@dataclass(frozen=True)
class Protocol:
    """The budget and seeds every method of one leaderboard shares (see the module docstring)."""

    table: str
    fidelity: str
    workers: int = 4
    time_budget_s: float = 3600.0
    seeds: int = 10
    encoding: str = "naive"  # FlexiBench's model-based algorithms' view of the cards
    table_version: str = ""  # creation time and id (first 12 hex digits of the stored checksums)

    def describe(self) -> dict[str, Any]:
        return asdict(self)


def table_objective(table: str, fidelity: str) -> TableObjective:
    """The objective of the protocol: the table, with no weight-transfer discount (module docstring)."""
    from flexibench.bench import load

    return TableObjective(load(table), fidelity, transfer_pretrain_share=1.0)


def is_complete(path: Path) -> bool:
    """True when ``path`` is a finished trajectory (its last line is a summary)."""
    if not path.is_file():
        return False
    lines = path.read_text().strip().splitlines()
    return bool(lines) and json.loads(lines[-1]).get("type") == "summary"


def _missing(out: Path, algos: Sequence[str], seeds: int) -> dict[str, list[int]]:
    return {a: [s for s in range(seeds) if not is_complete(out / f"{a}-seed{s}.jsonl")] for a in algos}


def run_flexibench(protocol: Protocol, out: Path, algos: Sequence[str], processes: int, progress: Callable) -> None:
    """FlexiBench's algorithms through its own runner (``run_many``, as ``flexibench search`` runs them)."""
    from flexibench.search.runner import run_many

    objective = functools.partial(table_objective, protocol.table, protocol.fidelity)
    for algo, seeds in _missing(out, algos, protocol.seeds).items():
        if seeds:
            run_many(
                [algo],
                objective,
                budget=None,
                seeds=seeds,
                workers=protocol.workers,
                encoding=protocol.encoding,
                out_dir=out,
                processes=processes,
                time_budget_s=protocol.time_budget_s,
                progress=progress,
            )


def _synetune_job(job: dict[str, Any]) -> str:
    import torch

    from flexibench.bench import load
    from flexibench.interop.synetune import run_scheduler

    torch.set_num_threads(1)
    bench = load(job["table"])
    objective = table_objective(job["table"], job["fidelity"])
    run_scheduler(
        job["name"],
        bench,
        job["fidelity"],
        seed=job["seed"],
        workers=job["workers"],
        time_budget_s=job["time_budget_s"],
        out_dir=job["out"],
        objective=objective,
    )
    return str(Path(job["out"]) / f"{job['name']}-seed{job['seed']}.jsonl")


def _optuna_job(job: dict[str, Any]) -> str:
    import torch

    from flexibench.interop.optuna_study import OptunaOptimizer
    from flexibench.search.runner import run_search

    torch.set_num_threads(1)
    objective = table_objective(job["table"], job["fidelity"])
    optimizer = OptunaOptimizer(job["name"], objective.bench.space, seed=job["seed"])
    result = run_search(
        optimizer,
        objective,
        budget=None,
        seed=job["seed"],
        workers=job["workers"],
        out_dir=job["out"],
        time_budget_s=job["time_budget_s"],
    )
    return str(result.path)


def run_external(
    protocol: Protocol, out: Path, algos: Sequence[str], job: Callable, processes: int, progress: Callable
) -> None:
    """syne-tune's schedulers (``_synetune_job``) or Optuna's samplers (``_optuna_job``), one process per run."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    jobs = [
        {**protocol.describe(), "name": algo, "seed": seed, "out": str(out)}
        for algo, seeds in _missing(out, algos, protocol.seeds).items()
        for seed in seeds
    ]
    if processes <= 1:
        for spec in jobs:
            progress(job(spec))
        return
    with ProcessPoolExecutor(max_workers=processes, mp_context=get_context("spawn")) as pool:
        for path in pool.map(job, jobs):
            progress(path)


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="runs/combined-nano", help="trajectory folder (missing runs are made)")
    parser.add_argument("--board", default="leaderboards/combined-nano", help="leaderboard folder")
    parser.add_argument("--table", default=None, help="packed table (default: $FLEXIBENCH_TABLE or the packaged one)")
    parser.add_argument("--fidelity", default=None, help="fidelity (default: the table's)")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4, help="simulated workers per run")
    parser.add_argument("--hours", type=float, default=1.0, help="simulated wall-clock budget per run (hours)")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--only", default="flexibench,synetune,optuna", help="which families to run")
    parser.add_argument("--synetune", default=",".join(SYNETUNE), help="syne-tune schedulers (st-bo: BOTorch, slow)")
    parser.add_argument("--optuna", default=",".join(OPTUNA), help="Optuna samplers")
    args = parser.parse_args(argv)
    from flexibench.bench import load

    with load(args.table) as bench:
        table, fidelity = str(bench.path), args.fidelity or bench.default_fidelity
        bench.budgets(fidelity)
        version = f"{bench.meta.get('created', '?')} (id {str(bench.meta.get('attrs_checksum', '?'))[:12]})"
    protocol = Protocol(table, fidelity, args.workers, args.hours * 3600.0, args.seeds, table_version=version)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started, done = time.perf_counter(), []

    def progress(path: str) -> None:
        done.append(path)
        print(f"[{len(done)}] {time.perf_counter() - started:.0f} s  {path}", file=sys.stderr, flush=True)

    families = {f.strip() for f in args.only.split(",")}
    if "flexibench" in families:
        run_flexibench(protocol, out, FLEXIBENCH, args.processes, progress)
    if "synetune" in families:
        run_external(protocol, out, _names(args.synetune), _synetune_job, args.processes, progress)
    if "optuna" in families:
        run_external(protocol, out, _names(args.optuna), _optuna_job, args.processes, progress)
    from flexibench.interop.timeboard import write_timeboard

    command = "python -m flexibench.interop.compare " + " ".join(argv if argv is not None else sys.argv[1:])
    for path in write_timeboard([out], args.board, protocol, command=command.strip()):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
