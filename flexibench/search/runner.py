"""Run a search: budget, seeds, simulated asynchronous workers, cost clock and JSONL trajectories.

Time is simulated, as in syne-tune's simulator backend: ``W`` workers start at
t = 0; each is busy for the charged cost of its evaluation; whenever one frees
(the earliest finish event), its result is told to the optimizer and the
optimizer is asked for the worker's next card. The charge is pretrain +
fine-tune seconds, or the objective's transferred cost (the paper: fine-tune only;
see :class:`~flexibench.search.objective.Evaluation`) when a card trained *before
the query was launched* passes the weight-transfer rule (:mod:`flexibench.search.transfer`).

Every run writes ``<out_dir>/<algo>-seed<k>.jsonl``: a ``header`` line, one
``query`` line per finished evaluation (in completion order) and a ``summary``.
"""

from __future__ import annotations

import heapq
import json
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from flexibench import __version__
from flexibench.search.encodings import Encoding, make_encoding
from flexibench.search.objective import Objective
from flexibench.search.protocol import Observation, SearchError
from flexibench.search.registry import make_optimizer
from flexibench.search.transfer import TransferIndex
from flexibench.space import DesignSpace

ObjectiveLike = Objective | Callable[[], Objective]


@dataclass
class RunResult:
    """A finished run: its records (as written) and where they were written (if anywhere)."""

    algo: str
    seed: int
    records: list[dict[str, Any]] = field(default_factory=list)
    path: Path | None = None

    @property
    def queries(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r["type"] == "query"]

    @property
    def summary(self) -> dict[str, Any]:
        return self.records[-1]


def _resolve(objective: ObjectiveLike) -> Objective:
    if isinstance(objective, Objective):
        return objective
    if callable(objective):
        return objective()
    raise SearchError(f"objective: {objective!r} is neither an objective nor a factory of one")


def run_search(
    algo: str,
    objective: ObjectiveLike,
    budget: int | None = 100,
    seed: int = 0,
    workers: int = 1,
    encoding: str | Encoding = "naive",
    out_dir: str | Path | None = None,
    *,
    time_budget_s: float | None = None,
    tau: float = 0.8,
    optimizer_kwargs: dict[str, Any] | None = None,
) -> RunResult:
    """Run one algorithm with one seed until ``budget`` queries or ``time_budget_s`` simulated seconds.

    The seed fixes both the optimizer's choices and the evaluation noise (two
    independent streams spawned from it), so a run is reproducible exactly.
    ``encoding`` is a name (the whole level-1 pool) or an :class:`Encoding`, e.g. a
    restricted or finer-level pool from :mod:`flexibench.search.pools`.
    """
    if budget is None and time_budget_s is None:
        raise SearchError("give a budget: a number of queries, simulated seconds, or both")
    if budget is not None and budget < 1:
        raise SearchError(f"budget: {budget} is not allowed; allowed: a positive number of queries")
    if workers < 1:
        raise SearchError(f"workers: {workers} is not allowed; allowed: a positive integer")
    obj = _resolve(objective)
    enc = make_encoding(encoding) if isinstance(encoding, str) else encoding
    opt_seed, noise_seed = np.random.SeedSequence(seed).spawn(2)
    optimizer = make_optimizer(
        algo,
        space=DesignSpace.default(),
        encoding=enc,
        seed=int(opt_seed.generate_state(1)[0]),
        **(optimizer_kwargs or {}),
    )
    noise_rng = np.random.default_rng(noise_seed)
    transfer = TransferIndex(tau)
    optimum = obj.optimum
    header = {
        "type": "header",
        "algo": algo,
        "seed": seed,
        "encoding": enc.name,
        "pool": len(enc),
        "workers": workers,
        "budget": budget,
        "time_budget_s": time_budget_s,
        "tau": tau,
        "optimizer_kwargs": optimizer_kwargs or {},
        "flexibench": __version__,
        **obj.describe(),
    }
    records: list[dict[str, Any]] = [header]
    events: list[tuple[float, int, int, dict[str, Any]]] = []
    launched = 0
    clock = 0.0
    best_score, best_true, best_card = -np.inf, None, None
    converged_at: int | None = None
    started = time.perf_counter()

    def can_launch() -> bool:
        within_queries = budget is None or launched < budget
        within_time = time_budget_s is None or clock < time_budget_s
        return within_queries and within_time and launched < len(enc)

    def launch(worker: int) -> None:
        nonlocal launched
        tic = time.perf_counter()
        card = optimizer.ask()
        latency = time.perf_counter() - tic
        evaluation = obj.evaluate(card, noise_rng)
        transferred = transfer.can_transfer(card)
        cost = evaluation.transferred_s if transferred else evaluation.full_s
        job = {"card": card, "eval": evaluation, "transferred": transferred, "cost": cost}
        job.update(start=clock, latency=latency, worker=worker)
        heapq.heappush(events, (clock + cost, launched, worker, job))
        launched += 1

    for worker in range(workers):
        if can_launch():
            launch(worker)
    step = 0
    while events:
        finish, _, worker, job = heapq.heappop(events)
        if time_budget_s is not None and finish > time_budget_s:
            continue  # finished after the simulated deadline: never observed
        clock = finish
        card, evaluation = job["card"], job["eval"]
        observation = Observation(
            score=evaluation.score,
            cost_s=job["cost"],
            pretrain_s=evaluation.pretrain_s,
            finetune_s=evaluation.finetune_s,
            transferred=job["transferred"],
        )
        optimizer.tell(card, observation)
        transfer.add(card)
        step += 1
        true = obj.true_score(card)
        if evaluation.score > best_score:
            best_score, best_true, best_card = evaluation.score, true, card
        state = optimizer.state()
        if state.get("converged") and converged_at is None:
            converged_at = step
        records.append(
            {
                "type": "query",
                "step": step,
                "card": card.to_dict(),
                "short": card.short(),
                "score": evaluation.score,
                "true_score": true,
                "cost_s": job["cost"],
                "pretrain_s": evaluation.pretrain_s,
                "finetune_s": evaluation.finetune_s,
                "transferred": job["transferred"],
                "start_s": job["start"],
                "time_s": finish,
                "worker": worker,
                "best_score": best_score,
                "best_true": best_true,
                "regret": None if optimum is None or best_true is None else optimum - best_true,
                "ask_latency_s": job["latency"],
                "converged": bool(state.get("converged")),
            }
        )
        if can_launch():
            launch(worker)
    records.append(
        {
            "type": "summary",
            "queries": step,
            "best_score": best_score if step else None,
            "best_true": best_true,
            "best_card": best_card.to_dict() if best_card is not None else None,
            "regret": records[-1]["regret"] if step else None,
            "sim_time_s": clock,
            "wall_s": time.perf_counter() - started,
            "converged_at_step": converged_at,
            "transfers": sum(1 for r in records if r["type"] == "query" and r["transferred"]),
        }
    )
    result = RunResult(algo, seed, records)
    if out_dir is not None:
        result.path = write_trajectory(records, Path(out_dir) / f"{algo}-seed{seed}.jsonl")
    return result


def write_trajectory(records: Sequence[dict[str, Any]], path: Path) -> Path:
    """Write records as JSON lines atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".jsonl.tmp")
    with tmp.open("w") as handle:
        for record in records:
            handle.write(json.dumps(record, separators=(",", ":")) + "\n")
    tmp.replace(path)
    return path


def read_trajectory(path: str | Path) -> list[dict[str, Any]]:
    with Path(path).open() as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _run_job(job: dict[str, Any]) -> str:
    import torch

    torch.set_num_threads(1)
    result = run_search(**job)
    return str(result.path)


def run_many(
    algos: Iterable[str],
    objective: ObjectiveLike,
    budget: int | None = 100,
    seeds: int | Sequence[int] = 10,
    workers: int = 1,
    encoding: str | Encoding = "naive",
    out_dir: str | Path = "runs",
    *,
    processes: int = 2,
    time_budget_s: float | None = None,
    tau: float = 0.8,
    optimizer_kwargs: dict[str, dict[str, Any]] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Every (algorithm, seed) pair, in ``processes`` parallel processes; returns the trajectory paths.

    ``objective`` must be picklable: an objective instance or a factory such as
    ``functools.partial(SyntheticObjective, seed=0)`` (built once per run in the worker).
    ``optimizer_kwargs`` maps algorithm names to extra constructor keywords.
    """
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    jobs = [
        {
            "algo": algo,
            "objective": objective,
            "budget": budget,
            "seed": seed,
            "workers": workers,
            "encoding": encoding,
            "out_dir": str(out_dir),
            "time_budget_s": time_budget_s,
            "tau": tau,
            "optimizer_kwargs": (optimizer_kwargs or {}).get(algo),
        }
        for algo in algos
        for seed in seed_list
    ]
    paths: list[Path] = []
    if processes <= 1:
        for job in jobs:
            paths.append(Path(_run_job(job)))
            if progress:
                progress(str(paths[-1]))
        return paths
    with ProcessPoolExecutor(max_workers=processes, mp_context=get_context("spawn")) as pool:
        for path in pool.map(_run_job, jobs):
            paths.append(Path(path))
            if progress:
                progress(path)
    return paths
