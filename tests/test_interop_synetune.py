"""The table as a syne-tune blackbox, run by syne-tune's simulator backend: its clock is the table's training time."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

pytest.importorskip("syne_tune")

import flexibench  # noqa: E402
from flexibench.interop.blackbox import ELAPSED, RECORD_SEED, TableBlackbox, blackboxes  # noqa: E402
from flexibench.interop.schema import card_to_values  # noqa: E402
from flexibench.interop.synetune import run_scheduler, rung_settings, simulate, trials_of  # noqa: E402

SLEEP = 1.0  # the tuner's simulated sleep step: the most a freed worker waits


@pytest.fixture(scope="module")
def bench():
    return flexibench.load()


def _table_cost(bench, card, record_seed: int) -> float:
    """What the table says evaluating ``card`` costs: that seed's record, or the surrogate's time estimate."""
    if record_seed >= 0:
        return bench.query(card, seed=record_seed).total_time_s
    return bench.query(card).total_time_s


def test_blackbox_reports_the_tables_learning_curve_and_times(bench) -> None:
    blackbox = TableBlackbox(bench, "nano", seed=0)
    budgets, _ = bench.budgets("nano")
    assert blackbox.fidelity_values.tolist() == budgets
    measured = bench.best(1, "nano")[0].card
    values = blackbox(card_to_values(measured, bench.space, 1))  # every checkpoint: (budgets, objectives)
    seed = int(values[0, blackbox.objectives_names.index(RECORD_SEED)])
    assert seed >= 0
    for i, b in enumerate(budgets):
        record = bench.query(measured, "nano", seed=seed, budget=b)
        assert values[i, 0] == pytest.approx(record.score)
        assert values[i, 1] == pytest.approx(record.pretrain_time_s + record.finetune_time_s)
    assert values[-1, 1] == pytest.approx(bench.query(measured, seed=seed).total_time_s)
    unmeasured = bench.cards("nano", measured=False)[7]
    curve = blackbox(card_to_values(unmeasured, bench.space, 1))
    mean = bench.learning_curve(unmeasured, "nano")
    z = (curve[:, 0] - mean.scores) / mean.score_std  # one coherent draw along the curve
    assert np.allclose(z, z[-1]) and curve[0, 2] == -1
    assert curve[-1, 1] == pytest.approx(bench.query(unmeasured).total_time_s)
    at = blackbox(card_to_values(unmeasured, bench.space, 1), fidelity=budgets[1], seed=5)
    assert at == blackbox(card_to_values(unmeasured, bench.space, 1), fidelity={"steps": budgets[1]}, seed=5)
    assert set(blackboxes(bench)) == set(bench.fidelities)
    copy = pickle.loads(pickle.dumps(blackbox))  # syne-tune's Tuner pickles its backend with the blackbox
    assert copy.bench.path == bench.path and copy.fidelity_values.tolist() == budgets


def test_rungs_fall_on_recorded_checkpoints() -> None:
    assert rung_settings([50, 100, 150, 200]) == (50, 3)  # rungs 50, 150
    assert rung_settings([10, 20, 40, 80]) == (10, 2)  # 30 is no checkpoint: rungs 10, 20, 40


@pytest.mark.parametrize("workers", [1, 4])
def test_simulated_clock_is_the_sum_of_the_tables_training_times(bench, workers: int) -> None:
    """syne-tune's simulated wall-clock against the table's costs, trial by trial (RandomSearch: full budgets)."""
    horizon = 1500.0
    run = simulate("st-rs", bench, "nano", seed=3, workers=workers, time_budget_s=horizon, tuner_sleep_time=SLEEP)
    last = {}
    for row in run.results:
        last[row["trial_id"]] = row
    finished = {i: r for i, r in last.items() if r["steps"] == 200}
    assert len(finished) >= 5 * workers
    costs, intervals = [], []
    for trial_id, row in finished.items():
        card = run.blackbox.card({k[7:]: v for k, v in row.items() if k.startswith("config_")})
        cost = _table_cost(bench, card, int(row[RECORD_SEED]))
        end = row["st_tuner_time"]
        start = run.starts[trial_id]
        assert end - start == pytest.approx(cost, abs=1e-6)  # the clock charged exactly the table's time
        assert row[ELAPSED] == pytest.approx(cost, abs=1e-6)
        costs.append(cost)
        intervals.append((start, end))
    intervals.sort()
    if workers == 1:  # one worker: the clock is the sum of the costs plus sleep-step waits between trials
        clock = intervals[-1][1]
        assert clock >= sum(costs) - 1e-6
        assert clock - sum(costs) <= SLEEP * len(costs) + 1e-6
        for (_, end), (start, _) in zip(intervals, intervals[1:]):
            assert 0 <= start - end <= SLEEP + 1e-6
    else:  # never more than `workers` trials at once, and the workers stay busy
        events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals], key=lambda x: (x[0], x[1]))
        running = peak = 0
        for _, step in events:
            running += step
            peak = max(peak, running)
        assert peak == workers
        assert intervals[-1][1] >= sum(costs) / workers
    trials = trials_of(run, horizon)
    assert [t.full for t in trials].count(True) == len(finished)


def test_schedulers_write_reproducible_trajectories_with_regret(bench, tmp_path) -> None:
    from flexibench.search.objective import TableObjective
    from flexibench.search.runs import load_runs

    objective = TableObjective(bench, "nano")
    first = run_scheduler("st-asha", bench, "nano", seed=1, workers=4, time_budget_s=1200, objective=objective)
    again = run_scheduler("st-asha", bench, "nano", seed=1, workers=4, time_budget_s=1200, objective=objective)
    strip = [{k: v for k, v in r.items() if k != "wall_s"} for r in first]
    assert strip == [{k: v for k, v in r.items() if k != "wall_s"} for r in again]
    queries = [r for r in first if r["type"] == "query"]
    assert {q["budget"] for q in queries} >= {50, 200}  # ASHA stopped some trials at the first rung
    full = [q for q in queries if q["full"]]
    best = max(full, key=lambda q: q["score"])
    assert first[-1]["regret"] == pytest.approx(objective.optimum - objective.true_score(flexibench_card(best)))
    assert all(q["time_s"] <= 1200 for q in queries)
    run_scheduler("st-re", bench, "nano", seed=0, workers=2, time_budget_s=900, out_dir=tmp_path, objective=objective)
    (run,) = load_runs([tmp_path])
    assert run.label == "st-re" and not math.isnan(run.regret[-1])


def flexibench_card(query):
    from flexibench.core import ModelCard

    return ModelCard.from_dict(query["card"])
