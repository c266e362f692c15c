"""Pareto fronts and hypervolume against independent references, the table's front, multi-objective runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from botorch.utils.multi_objective.hypervolume import Hypervolume

import flexibench
from flexibench.interop.objectives import ObjectiveSpec, parse_objectives
from flexibench.interop.pareto import hypervolume, pareto_mask, table_front, to_minimisation


@pytest.fixture(scope="module")
def bench():
    return flexibench.load()


def _brute_mask(points: np.ndarray) -> np.ndarray:
    """Non-dominated by the definition, pair by pair."""
    out = []
    for p in points:
        out.append(not any(np.all(q <= p) and np.any(q < p) for q in points))
    return np.array(out)


@pytest.mark.parametrize("dim", [2, 3])
def test_front_and_hypervolume_match_references(dim: int) -> None:
    rng = np.random.default_rng(dim)
    for trial in range(20):
        points = rng.integers(0, 6, size=(25, dim)).astype(float) if trial % 2 else rng.random((40, dim))
        assert np.array_equal(pareto_mask(points), _brute_mask(points))
        ref = np.full(dim, 6.0 if trial % 2 else 1.0)
        expected = Hypervolume(torch.tensor(-ref)).compute(torch.tensor(-points[pareto_mask(points)]))
        assert hypervolume(points, ref) == pytest.approx(float(expected), rel=1e-9)
    assert hypervolume(np.array([[2.0, 2.0]]), [1.0, 1.0]) == 0.0  # beyond the reference point
    assert hypervolume(np.array([[0.5, 0.25]]), [1.0, 1.0]) == pytest.approx(0.375)


def test_objective_names_and_directions(bench) -> None:
    score, params, latency = parse_objectives(["score", "params", "latency_ms:min"])
    assert score.maximize and not params.maximize and not latency.maximize
    assert parse_objectives(["accuracy:max"])[0].maximize
    with pytest.raises(ValueError):
        parse_objectives(["params:up"])
    with pytest.raises(KeyError, match="latency_ms"):
        latency.column({"score": np.array([1.0])})
    column = latency.column(bench.query_many([0, len(bench) - 1], "nano"))  # a timed card, and one outside the run
    assert column[0] == pytest.approx(bench.query(bench.cards()[0], "nano").latency_ms) and np.isnan(column[1])
    assert latency.column({"latency_ms": np.array([3.0])}).tolist() == [3.0]  # a table column is an objective
    result = bench.query(bench.cards()[5], "nano")
    assert ObjectiveSpec("row", False).value(bench, result) == 5  # read from the table when the result lacks it
    assert to_minimisation(np.array([[30.0, 5.0]]), (score, params)).tolist() == [[-30.0, 5.0]]


@pytest.mark.parametrize("objectives", [("score", "params"), ("score", "flops")])
def test_table_front_is_the_non_dominated_cards(bench, objectives) -> None:
    front = table_front(bench, "nano", objectives)
    values = to_minimisation(front.values, front.objectives)
    on = values[front.mask]
    for v in values[~front.mask]:
        assert np.any(np.all(on <= v, axis=1) & np.any(on < v, axis=1))
    for v in on:
        assert not np.any(np.all(values <= v, axis=1) & np.any(values < v, axis=1))
    answer = bench.query_many(front.cards(bench), "nano")
    assert np.allclose(answer["score"], front.values[front.mask][:, 0])
    assert 0 < front.best_hypervolume < 1


def test_multiobjective_runs_and_scalarisation(bench) -> None:
    from flexibench.interop.multiobjective import ScalarisedObjective, evaluated_cards, hypervolume_curve

    front = table_front(bench, "nano", ("score", "params"))
    scalar = ScalarisedObjective(bench, front, "nano")
    assert scalar.optimum == pytest.approx(max(scalar.true_score(c) for c in front.cards(bench)))
    cards = evaluated_cards("optuna-nsga2", bench, front, "nano", seed=0, evals=12)
    assert len(cards) == 12
    curve = hypervolume_curve(bench, front, cards, "nano")
    assert np.all(np.diff(curve) >= -1e-12) and curve[-1] <= front.best_hypervolume + 1e-12
