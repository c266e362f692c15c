"""Transformer2vec fitting: MDS init, Eq. 4 refinement, knee choice, out-of-library embedding."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.distance import pdist

from flexibench.library.embedding import (
    _pair_index,
    choose_dimension,
    classical_mds,
    embed_new,
    evaluate,
    fit_embedding,
    refine,
)

torch.set_num_threads(1)


def euclidean_table(points: np.ndarray) -> np.ndarray:
    """Condensed x10 integer distances of points (the format of GED tables)."""
    return np.round(10 * pdist(points)).astype(np.uint16)


def test_pair_index_inverts_condensed_order():
    n = 37
    i, j = np.triu_indices(n, 1)
    got_i, got_j = _pair_index(n, np.arange(len(i)))
    assert (got_i == i).all() and (got_j == j).all()


def test_classical_mds_recovers_euclidean_distances():
    pts = np.random.default_rng(0).uniform(0, 50, size=(120, 3))
    table = euclidean_table(pts)
    coords = classical_mds(table, 120, 3)
    report = evaluate(coords, table)
    assert report.rmse < 0.1 and report.spearman > 0.999


def test_refinement_reduces_eq4_loss_on_non_euclidean_distances():
    rng = np.random.default_rng(1)
    pts = rng.uniform(0, 50, size=(150, 6))
    table = np.round(10 * pdist(pts, "cityblock")).astype(np.uint16)  # L1: not exactly embeddable in R^d
    init = classical_mds(table, 150, 4)
    tuned = refine(init, table, steps=300, batch=4096, lr=0.05)
    assert evaluate(tuned, table).rmse < evaluate(init, table).rmse


def test_knee_and_fit_errors_decrease_with_dimension():
    pts = np.random.default_rng(2).normal(size=(100, 8)) * np.array([30, 20, 10, 5, 1, 0.5, 0.2, 0.1])
    table = euclidean_table(pts)
    knee, reports, fits = choose_dimension(table, 100, dims=(1, 2, 3, 4, 6, 8), steps=150)
    errors = [r.rmse for r in reports]
    assert errors[0] > errors[-1]
    assert 2 <= knee <= 6
    assert fits[knee].shape == (100, knee)


def test_embed_new_recovers_a_held_out_point():
    rng = np.random.default_rng(3)
    anchors = rng.uniform(0, 20, size=(60, 4))
    truth = rng.uniform(0, 20, size=4)
    dist = np.sqrt(((anchors - truth) ** 2).sum(axis=1))
    got = embed_new(anchors, dist, steps=600)
    assert np.linalg.norm(got - truth) < 0.05


@pytest.mark.slow
def test_level1_fit_is_good():
    from flexibench.core import DesignSpace
    from flexibench.library.all_pairs import condensed_lower_bound

    cards = list(DesignSpace.default().enumerate(1))
    table = condensed_lower_bound(cards)
    coords = fit_embedding(table, len(cards), 16, steps=500)
    report = evaluate(coords, table, sample=200_000)
    assert report.spearman > 0.95


def test_classical_mds_axis_signs_do_not_depend_on_the_eigensolver_start():
    """Each axis's largest-magnitude coordinate is positive, whatever sign the solver returned."""
    pts = np.random.default_rng(2).uniform(0, 50, size=(90, 4))
    table = euclidean_table(pts)
    runs = [classical_mds(table, 90, 4, seed=s) for s in (0, 1, 2)]  # v0 differs: the solver's signs may too
    for coords in runs:
        largest = coords[np.abs(coords).argmax(axis=0), np.arange(4)]
        assert (largest > 0).all()
    assert np.allclose(runs[0], runs[1], atol=1e-3) and np.allclose(runs[0], runs[2], atol=1e-3)
