"""Run a search: budget, seeds, simulated asynchronous workers, cost clock and JSONL trajectories.

Time is simulated, as in syne-tune's simulator backend: ``W`` workers start at
t = 0; each is busy for the charged cost of its evaluation (a :class:`Job`);
whenever one frees (the earliest :class:`Finished` event of the
:class:`EventQueue`), its result is told to the optimizer and the optimizer is
asked for the worker's next card. The charge is pretrain +
fine-tune seconds, or the objective's transferred cost (the paper: fine-tune only;
see :class:`~flexibench.search.objective.Evaluation`) when a card trained *before
the query was launched* passes the weight-transfer rule (:mod:`flexibench.search.transfer`).

Budgets below the full one: an optimizer may ask a :class:`~flexibench.search.protocol.Trial`
(a card and a checkpoint of the objective's learning curve). The objective prices it at
that checkpoint's share of pretraining, and the runner charges that share: a multi-fidelity
scheduler (successive halving, Hyperband, ASHA) runs through the same clock. A card asked
again at a larger budget continues from its own largest finished checkpoint (under a
constant schedule a checkpoint is exactly a shorter run), so it is charged only the
difference in pretraining plus its fine-tuning; when weight transfer would be cheaper
still, that is charged instead. ``tau=None`` turns weight transfer off.

Every run writes ``<out_dir>/<algo>-seed<k>.jsonl``: a ``header`` line, one
``query`` line per finished evaluation (a :class:`QueryRow`, in completion order)
and a ``summary``.
"""

from __future__ import annotations

import heapq
import json
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from flexibench.core import DesignSpace, ModelCard
from flexibench.core.version import __version__
from flexibench.search.encodings import Encoding
from flexibench.search.objective import Evaluation, Objective
from flexibench.search.protocol import Observation, Optimizer, SearchError, Trial
from flexibench.search.registry import make_optimizer
from flexibench.search.transfer import DEFAULT_TAU, TransferIndex

ObjectiveLike = Objective | Callable[[], Objective]


@dataclass(frozen=True)
class Job:
    """One evaluation a worker runs: what was asked, what it cost and when it started."""

    worker: int
    card: ModelCard
    evaluation: Evaluation
    transferred: bool
    cost_s: float
    start_s: float
    ask_latency_s: float
    budget: int | None = None
    resumed: bool = False


@dataclass(frozen=True, order=True)
class Finished:
    """Event: ``job`` finishes at simulated ``time_s`` (``seq`` breaks ties in launch order)."""

    time_s: float
    seq: int
    job: Job = field(compare=False)


class EventQueue:
    """The simulated clock's pending events, earliest first (a heap of :class:`Finished`)."""

    def __init__(self) -> None:
        self._heap: list[Finished] = []
        self._seq = 0

    def push(self, job: Job) -> None:
        heapq.heappush(self._heap, Finished(job.start_s + job.cost_s, self._seq, job))
        self._seq += 1

    def pop(self) -> Finished:
        return heapq.heappop(self._heap)

    def __bool__(self) -> bool:
        return bool(self._heap)


@dataclass(frozen=True)
class QueryRow:
    """One ``query`` line of a trajectory: a finished evaluation and the incumbent after it."""

    step: int
    card: dict[str, Any]
    short: str
    score: float
    true_score: float | None
    cost_s: float
    pretrain_s: float
    finetune_s: float
    transferred: bool
    start_s: float
    time_s: float
    worker: int
    best_score: float
    best_true: float | None
    regret: float | None
    ask_latency_s: float
    converged: bool
    budget: int | None = None
    resumed: bool = False

    @classmethod
    def of(
        cls,
        step: int,
        event: Finished,
        true: float | None,
        incumbent: tuple[float, float | None, float | None],
        converged: bool,
    ) -> QueryRow:
        """The row of a finished event; ``incumbent`` is (best score, its true score, regret) after it."""
        job, evaluation = event.job, event.job.evaluation
        measured = (evaluation.score, true, job.cost_s, evaluation.pretrain_s, evaluation.finetune_s, job.transferred)
        timing = (job.start_s, event.time_s, job.worker)
        return cls(
            step,
            job.card.to_dict(),
            job.card.short(),
            *measured,
            *timing,
            *incumbent,
            job.ask_latency_s,
            converged,
            job.budget,
            job.resumed,
        )

    def to_record(self) -> dict[str, Any]:
        return {"type": "query", **asdict(self)}


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


class _Simulation:
    """Asynchronous workers on a simulated clock: launch asks, each finish event tells and relaunches."""

    def __init__(
        self,
        optimizer: Optimizer,
        objective: Objective,
        pool_size: int,
        budget: int | None,
        time_budget_s: float | None,
        tau: float | None,
        noise_rng: np.random.Generator,
    ) -> None:
        self.optimizer, self.objective, self.pool_size = optimizer, objective, pool_size
        self.budget, self.time_budget_s, self.noise_rng = budget, time_budget_s, noise_rng
        self.transfer = TransferIndex(tau) if tau is not None else None
        self.trained_pretrain_s: dict[ModelCard, float] = {}  # pretraining a card's own checkpoint already holds
        self.budgeted = False  # set once an optimizer asks a Trial: it may ask a card again, so the pool is no limit
        self.events = EventQueue()
        self.launched = 0
        self.clock = 0.0
        self.rows: list[QueryRow] = []
        self.best_score, self.best_true, self.best_card = -np.inf, None, None
        self.converged_at: int | None = None

    def can_launch(self) -> bool:
        within_queries = self.budget is None or self.launched < self.budget
        within_time = self.time_budget_s is None or self.clock < self.time_budget_s
        within_pool = self.launched < self.pool_size or self.budgeted
        return within_queries and within_time and within_pool

    def launch(self, worker: int) -> None:
        tic = time.perf_counter()
        asked = self.optimizer.ask()
        latency = time.perf_counter() - tic
        card, budget = (asked.card, asked.budget) if isinstance(asked, Trial) else (asked, None)
        if isinstance(asked, Trial):
            self.budgeted = True
        if budget is None:
            evaluation = self.objective.evaluate(card, self.noise_rng)
        else:
            evaluation = self.objective.evaluate(card, self.noise_rng, budget=budget)
        cost, transferred, resumed = self.charge(card, evaluation)
        self.events.push(Job(worker, card, evaluation, transferred, cost, self.clock, latency, budget, resumed))
        self.launched += 1

    def charge(self, card: ModelCard, evaluation: Evaluation) -> tuple[float, bool, bool]:
        """(seconds charged, weight transfer applied, continued from its own checkpoint): the cheapest that applies."""
        cost, transferred, resumed = evaluation.full_s, False, False
        done = self.trained_pretrain_s.get(card)
        if done is not None:
            own = max(evaluation.pretrain_s - done, 0.0) + evaluation.finetune_s
            if own < cost:
                cost, resumed = own, True
        if self.transfer is not None and self.transfer.can_transfer(card) and evaluation.transferred_s < cost:
            cost, transferred, resumed = evaluation.transferred_s, True, False
        return cost, transferred, resumed

    def run(self, workers: int) -> list[QueryRow]:
        for worker in range(workers):
            if self.can_launch():
                self.launch(worker)
        while self.events:
            event = self.events.pop()
            if self.time_budget_s is not None and event.time_s > self.time_budget_s:
                continue  # finished after the simulated deadline: never observed
            self.clock = event.time_s
            self.rows.append(self.finish(event))
            if self.can_launch():
                self.launch(event.job.worker)
        return self.rows

    def finish(self, event: Finished) -> QueryRow:
        job, evaluation = event.job, event.job.evaluation
        observation = Observation(
            score=evaluation.score,
            cost_s=job.cost_s,
            pretrain_s=evaluation.pretrain_s,
            finetune_s=evaluation.finetune_s,
            transferred=job.transferred,
            budget=job.budget,
            resumed=job.resumed,
        )
        self.optimizer.tell(job.card, observation)
        if self.transfer is not None:
            self.transfer.add(job.card)
        held = self.trained_pretrain_s.get(job.card, 0.0)
        self.trained_pretrain_s[job.card] = max(held, evaluation.pretrain_s)
        step = len(self.rows) + 1
        true = self.objective.true_score(job.card)
        if evaluation.score > self.best_score:
            self.best_score, self.best_true, self.best_card = evaluation.score, true, job.card
        converged = bool(self.optimizer.state().get("converged"))
        if converged and self.converged_at is None:
            self.converged_at = step
        optimum = self.objective.optimum
        regret = None if optimum is None or self.best_true is None else optimum - self.best_true
        incumbent = (self.best_score, self.best_true, regret)
        return QueryRow.of(step, event, true, incumbent, converged)

    def summary(self, wall_s: float, cpu_s: float) -> dict[str, Any]:
        done = bool(self.rows)
        return {
            "type": "summary",
            "queries": len(self.rows),
            "best_score": self.best_score if done else None,
            "best_true": self.best_true,
            "best_card": self.best_card.to_dict() if self.best_card is not None else None,
            "regret": self.rows[-1].regret if done else None,
            "sim_time_s": self.clock,
            "wall_s": wall_s,
            "cpu_s": cpu_s,  # this process's CPU seconds for the run: its own cost, whatever else the machine ran
            "converged_at_step": self.converged_at,
            "transfers": sum(1 for row in self.rows if row.transferred),
            "resumed": sum(1 for row in self.rows if row.resumed),
        }


def run_search(
    algo: str | Optimizer,
    objective: ObjectiveLike,
    budget: int | None = 100,
    seed: int = 0,
    workers: int = 1,
    encoding: str | Encoding | None = None,
    out_dir: str | Path | None = None,
    *,
    space: DesignSpace | None = None,
    time_budget_s: float | None = None,
    tau: float | None = DEFAULT_TAU,
    optimizer_kwargs: dict[str, Any] | None = None,
) -> RunResult:
    """Run one algorithm with one seed until ``budget`` queries or ``time_budget_s`` simulated seconds.

    ``algo`` is a registry name or an optimizer instance (anything with the
    :class:`~flexibench.search.protocol.Optimizer` protocol; it searches its own
    ``encoding`` and its own seed rules its choices). For a name, the seed fixes both
    the optimizer's choices and the evaluation noise (two independent streams spawned
    from it), so a run is reproducible exactly. ``encoding`` is a name (the whole
    level-1 pool of ``space``, default the paper's space) or an :class:`Encoding`,
    e.g. a restricted or finer-level pool from :mod:`flexibench.search.pools`. ``tau`` is the
    weight-transfer threshold (None: no transfer). An optimizer that asks
    :class:`~flexibench.search.protocol.Trial` s runs at partial budgets (module docstring).
    """
    if budget is None and time_budget_s is None:
        raise SearchError("give a budget: a number of queries, simulated seconds, or both")
    if budget is not None and budget < 1:
        raise SearchError(f"budget: {budget} is not allowed; allowed: a positive number of queries")
    if workers < 1:
        raise SearchError(f"workers: {workers} is not allowed; allowed: a positive integer")
    obj = _resolve(objective)
    opt_seed, noise_seed = np.random.SeedSequence(seed).spawn(2)
    if isinstance(algo, str):
        optimizer: Optimizer = make_optimizer(
            algo,
            space=space,
            encoding="naive" if encoding is None else encoding,
            seed=int(opt_seed.generate_state(1)[0]),
            **(optimizer_kwargs or {}),
        )
    elif isinstance(algo, Optimizer):
        if encoding is not None and encoding is not algo.encoding:
            raise SearchError("encoding: an optimizer instance searches its own pool; give no other encoding")
        if optimizer_kwargs:
            raise SearchError("optimizer_kwargs: only for an algorithm given by name")
        optimizer = algo
    else:
        raise SearchError(f"algo: {algo!r} is neither an algorithm name nor an optimizer")
    enc = optimizer.encoding
    header = {
        "type": "header",
        "algo": optimizer.name,
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
    started, cpu_started = time.perf_counter(), time.process_time()
    simulation = _Simulation(optimizer, obj, len(enc), budget, time_budget_s, tau, np.random.default_rng(noise_seed))
    rows = simulation.run(workers)
    summary = simulation.summary(time.perf_counter() - started, time.process_time() - cpu_started)
    records = [header, *(row.to_record() for row in rows), summary]
    result = RunResult(optimizer.name, seed, records)
    if out_dir is not None:
        result.path = write_trajectory(records, Path(out_dir) / f"{optimizer.name}-seed{seed}.jsonl")
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
    encoding: str | Encoding | None = None,
    out_dir: str | Path = "runs",
    *,
    processes: int = 2,
    time_budget_s: float | None = None,
    tau: float | None = DEFAULT_TAU,
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
