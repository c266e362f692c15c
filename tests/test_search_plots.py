"""Leaderboard figures plot the incumbent's noise-free score and redraw from curves.csv alone."""

from __future__ import annotations

import numpy as np
import pytest

from flexibench.search.objective import SyntheticObjective
from flexibench.search.plots import CURVES, curves_of, plot_runs, read_curves, replot
from flexibench.search.runner import read_trajectory, run_search
from flexibench.search.runs import group_runs, load_runs


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    objective = SyntheticObjective(seed=0, noise_min=2.0, noise_max=3.0)  # loud noise: observed >> true
    for algo in ("rs", "re"):
        for seed in range(3):
            run_search(algo, objective, budget=15, seed=seed, out_dir=out)
    return out, objective


def test_curves_are_the_noise_free_incumbent_not_the_best_observed(runs):
    out, objective = runs
    curves = {(c.algo, c.axis): c for c in curves_of(group_runs(load_runs([out])))}
    for algo in ("rs", "re"):
        finals = [read_trajectory(out / f"{algo}-seed{s}.jsonl")[-1] for s in range(3)]
        true = np.mean([f["best_true"] for f in finals])  # regret's number: optimum - this
        observed = np.mean([f["best_score"] for f in finals])
        assert curves[algo, "queries"].mean[-1] == pytest.approx(true)
        assert curves[algo, "hours"].mean[-1] == pytest.approx(true)
        assert true == pytest.approx(objective.optimum - np.mean([f["regret"] for f in finals]))
        assert observed > true + 1  # the noisy maximum the figures no longer show


def test_figures_redraw_from_curves_csv_alone(runs, tmp_path):
    out, objective = runs
    groups = group_runs(load_runs([out]))
    written = plot_runs(groups, tmp_path)
    assert {p.name for p in written} == {CURVES, "best_vs_queries.png", "best_vs_time.png", "final_bar.png"}
    curves, ylabel, optimum = read_curves(tmp_path / CURVES)
    assert optimum == pytest.approx(objective.optimum) and "noise-free" in ylabel and "synthetic" in ylabel
    for a, b in zip(curves_of(groups), curves):
        assert (a.label, a.algo, a.axis, a.runs) == (b.label, b.algo, b.axis, b.runs)
        np.testing.assert_array_equal(a.x, b.x)
        np.testing.assert_array_equal(a.mean, b.mean)
    for path in written[1:]:
        path.unlink()
    assert {p.name for p in replot(tmp_path)} == {"best_vs_queries.png", "best_vs_time.png", "final_bar.png"}
