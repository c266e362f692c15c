"""syne-tune's schedulers on the table, through its own Tuner and simulator backend, as FlexiBench trajectories.

:func:`run_scheduler` builds a :class:`~flexibench.interop.blackbox.TableBlackbox`, hands it to
syne-tune's ``UserBlackboxBackend`` (the simulator backend for user blackboxes), runs the
named scheduler from ``syne_tune.optimizer.baselines`` with ``n_workers`` simulated workers
under a simulated wall-clock limit, and writes the results as a FlexiBench trajectory
(header, one ``query`` line per trial, summary), so ``flexibench leaderboard`` and
:mod:`flexibench.interop.compare` read them beside FlexiBench's own runs.

Two settings make syne-tune's clock the table's clock and nothing else, as FlexiBench's
runner keeps it: the simulator's delays are zero, and the time the scheduler itself spends
deciding is not added to the simulated clock (syne-tune adds the real seconds spent
outside the backend by default, which ties results to the machine's load;
:class:`DecisionFreeTimeKeeper` turns that off). The tuner still advances time in steps of
``tuner_sleep_time`` while every worker is busy, so a freed worker waits at most that long.

A trial's line carries the budget it reached (``budget``: the last checkpoint it reported);
only trials that reached the fidelity's last checkpoint can become the incumbent, whose
noise-free final score gives the regret, as for FlexiBench's algorithms.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from syne_tune.backend.simulator_backend.time_keeper import SimulatedTimeKeeper

from flexibench.core.version import __version__
from flexibench.interop.blackbox import ELAPSED, SCORE, TableBlackbox
from flexibench.interop.trajectory import Finished, trajectory_records
from flexibench.search.objective import TableObjective
from flexibench.search.runner import write_trajectory

__all__ = ["SCHEDULERS", "DecisionFreeTimeKeeper", "Simulation", "make_scheduler", "run_scheduler", "simulate"]

#: FlexiBench's names (palette entries) for syne-tune's schedulers, and what each is.
SCHEDULERS = {
    "st-rs": "RandomSearch: uniform over the flat configuration space",
    "st-re": "REA: regularized evolution (population 20, sample 5, as FlexiBench's re)",
    "st-bo": "BOTorch: Gaussian-process Bayesian optimization (acquisition: 5 restarts x 100 raw samples)",
    "st-tpe": "TPE: syne-tune's kernel-density (tree-Parzen) searcher",
    "st-asha": "ASHA: asynchronous successive halving on the learning curve, random configurations",
    "st-bohb": "BOHB: ASHA with kernel-density (TPE-style) configurations",
}


class DecisionFreeTimeKeeper(SimulatedTimeKeeper):
    """syne-tune's simulated clock without the real time spent in the scheduler (see the module docstring)."""

    def real_time_since_last_recent_exit(self) -> float:
        return 0.0


def rung_settings(budgets: list[int]) -> tuple[int, int]:
    """(grace period, reduction factor) whose ASHA rungs all fall on recorded checkpoints (3 if it can, else 2)."""
    grace, top = budgets[0], budgets[-1]
    for factor in (3, 2):
        rungs, r = [], grace
        while r < top:
            rungs.append(r)
            r *= factor
        if all(level in budgets for level in rungs):
            return grace, factor
    return grace, 2


def make_scheduler(name: str, blackbox: TableBlackbox, seed: int) -> Any:
    """The syne-tune scheduler called ``name`` (a key of :data:`SCHEDULERS`), maximising the score."""
    from syne_tune.optimizer import baselines as st

    space, common = blackbox.configuration_space, {"do_minimize": False, "random_seed": seed}
    if name == "st-rs":
        return st.RandomSearch(space, metrics=[SCORE], **common)
    if name == "st-re":
        return st.REA(space, metric=SCORE, population_size=20, sample_size=5, **common)
    if name == "st-bo":  # fewer acquisition restarts than syne-tune's 20 x 200: it fits the CPU budget
        return st.BOTorch(space, metric=SCORE, searcher_kwargs={"num_restarts": 5, "num_raw_samples": 100}, **common)
    if name == "st-tpe":
        return st.TPE(space, metric=SCORE, **common)
    if name in ("st-asha", "st-bohb"):
        grace, factor = rung_settings(list(blackbox.fidelity_values.tolist()))
        cls = st.ASHA if name == "st-asha" else st.BOHB
        return cls(
            space,
            metric=SCORE,
            time_attr=blackbox.unit,
            max_t=blackbox.max_budget,
            grace_period=grace,
            reduction_factor=factor,
            **common,
        )
    raise ValueError(f"scheduler: {name!r} is not allowed; allowed: {sorted(SCHEDULERS)}")


@contextlib.contextmanager
def _quiet_folder() -> Iterator[str]:
    """A temporary SYNETUNE_FOLDER (the tuner writes its CSV and metadata there) and syne-tune's logs muted."""
    previous = os.environ.get("SYNETUNE_FOLDER")
    level = logging.getLogger("syne_tune").level
    with tempfile.TemporaryDirectory(prefix="flexibench-synetune-") as folder:
        os.environ["SYNETUNE_FOLDER"] = folder
        logging.getLogger("syne_tune").setLevel(logging.WARNING)
        try:
            yield folder
        finally:
            logging.getLogger("syne_tune").setLevel(level)
            if previous is None:
                os.environ.pop("SYNETUNE_FOLDER", None)
            else:
                os.environ["SYNETUNE_FOLDER"] = previous


@dataclass
class Simulation:
    """What one syne-tune run left: the blackbox, every report (syne-tune's result rows), each trial's start."""

    blackbox: TableBlackbox
    results: list[dict[str, Any]]
    starts: dict[int, float]


@contextlib.contextmanager
def _global_seeds(seed: int, *, torch: bool) -> Iterator[None]:
    """Seed the global generators syne-tune samples from, and put them back afterwards.

    syne-tune 0.16 draws random configurations from numpy's global generator
    (``Domain.sample()`` without ``random_state``), whatever ``random_seed`` the scheduler
    got; BOTorch's searcher draws from torch's. Without this, the same seed gives another run.
    """
    import random

    np_state, py_state = np.random.get_state(), random.getstate()
    np.random.seed(seed)
    random.seed(seed)
    try:
        if torch:
            import torch as _torch

            with _torch.random.fork_rng():
                _torch.manual_seed(seed)
                yield
        else:
            yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


def simulate(
    name: str,
    bench: Any,
    fidelity: str | None = None,
    *,
    seed: int = 0,
    workers: int = 4,
    time_budget_s: float = 3600.0,
    tuner_sleep_time: float = 1.0,
) -> Simulation:
    """Run scheduler ``name`` on syne-tune's simulator backend with ``workers`` workers for ``time_budget_s``."""
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend.simulator_backend.simulator_backend import SimulatorConfig
    from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
    from syne_tune.blackbox_repository import UserBlackboxBackend

    blackbox = TableBlackbox(bench, fidelity, seed=seed)
    zero = SimulatorConfig(0.0, 0.0, 0.0, 0.0, 0.0)
    backend = UserBlackboxBackend(
        blackbox=blackbox, elapsed_time_attr=ELAPSED, simulator_config=zero, tuner_sleep_time=tuner_sleep_time
    )
    backend._time_keeper = DecisionFreeTimeKeeper()  # the one attribute the backend keeps its clock in
    callback = SimulatorCallback()
    with _quiet_folder(), contextlib.redirect_stdout(io.StringIO()), _global_seeds(seed, torch=name == "st-bo"):
        tuner = Tuner(
            trial_backend=backend,
            scheduler=make_scheduler(name, blackbox, seed),
            stop_criterion=StoppingCriterion(max_wallclock_time=time_budget_s),
            n_workers=workers,
            sleep_time=0,
            callbacks=[callback],
            tuner_name=f"{name}-seed{seed}",
            suffix_tuner_name=False,
            save_tuner=False,
            results_update_interval=1e9,
            print_update_interval=1e9,
        )
        tuner.run()
    origin = backend.time_keeper.start_time_stamp
    starts = {i: (t.creation_time - origin).total_seconds() for i, t in backend._trial_dict.items()}
    return Simulation(blackbox, list(callback.results), starts)


def trials_of(run: Simulation, time_budget_s: float) -> list[Finished]:
    """One :class:`Finished` per trial: its last report within the time budget (what the scheduler saw)."""
    from syne_tune.constants import ST_TUNER_TIME

    blackbox = run.blackbox
    last: dict[int, dict[str, Any]] = {}
    for row in run.results:
        if row[ST_TUNER_TIME] <= time_budget_s + 1e-9:
            last[int(row["trial_id"])] = row  # reports arrive in time order per trial
    out = []
    for trial_id, row in last.items():
        config = {k[len("config_") :]: v for k, v in row.items() if k.startswith("config_")}
        end, cost = float(row[ST_TUNER_TIME]), float(row[ELAPSED])
        out.append(
            Finished(
                card=blackbox.card(config),
                score=float(row[SCORE]),
                budget=int(row[blackbox.unit]),
                full=int(row[blackbox.unit]) == blackbox.max_budget,
                cost_s=cost,
                start_s=run.starts[trial_id],
                time_s=end,
                worker=-1,
                trial=trial_id,
            )
        )
    return sorted(out, key=lambda f: (f.time_s, f.trial))


def run_scheduler(
    name: str,
    bench: Any,
    fidelity: str | None = None,
    *,
    seed: int = 0,
    workers: int = 4,
    time_budget_s: float = 3600.0,
    out_dir: str | Path | None = None,
    objective: TableObjective | None = None,
    tuner_sleep_time: float = 1.0,
) -> list[dict[str, Any]]:
    """Run one syne-tune scheduler with one seed; returns (and writes, with ``out_dir``) its trajectory records."""
    fidelity = fidelity or bench.default_fidelity
    objective = objective or TableObjective(bench, fidelity)
    started = time.perf_counter()
    run = simulate(
        name,
        bench,
        fidelity,
        seed=seed,
        workers=workers,
        time_budget_s=time_budget_s,
        tuner_sleep_time=tuner_sleep_time,
    )
    blackbox = run.blackbox
    header = {
        "type": "header",
        "algo": name,
        "seed": seed,
        "encoding": "syne-tune flat space",
        "pool": bench.space.count(blackbox.level),
        "workers": workers,
        "budget": None,
        "time_budget_s": time_budget_s,
        "tau": None,
        "optimizer_kwargs": {"scheduler": SCHEDULERS[name], "tuner_sleep_time": tuner_sleep_time},
        "flexibench": __version__,
        "library": "syne-tune",
        "budget_unit": blackbox.unit,
        "max_budget": blackbox.max_budget,
        **objective.describe(),
    }
    records = trajectory_records(header, trials_of(run, time_budget_s), objective, started)
    if out_dir is not None:
        write_trajectory(records, Path(out_dir) / f"{name}-seed{seed}.jsonl")
    return records
