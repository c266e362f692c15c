"""Seed statistics against scipy's one-way ANOVA and Spearman."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from flexibench.bench.noise import budget_agreement, seed_statistics


def test_architecture_share_matches_one_way_anova() -> None:
    rng = np.random.default_rng(0)
    cards = [f"c{i}" for i in range(12)]
    effect = dict(zip(cards, rng.normal(0, 2, len(cards))))
    rows = [(c, s, effect[c] + rng.normal(0, 1)) for c in cards for s in range(3)]
    rows.append(("lonely", 0, 99.0))  # one seed only: ignored
    rows.append(("c0", 3, float("nan")))  # not finite: ignored
    out = seed_statistics(rows)
    groups = [[v for c, _, v in rows[:-2] if c == card] for card in cards]
    f, _ = stats.f_oneway(*groups)
    k, n = len(groups), sum(map(len, groups))
    assert out["architecture_share"] == pytest.approx(f * (k - 1) / (f * (k - 1) + (n - k)))
    assert out["cards"] == 12 and out["records"] == 36 and out["null_share"] == pytest.approx(11 / 35)
    within = np.concatenate([np.asarray(g) - np.mean(g) for g in groups])
    assert out["seed_noise_std"] == pytest.approx(np.sqrt((within**2).sum() / (n - k)))
    rho = stats.spearmanr([g[0] for g in groups], [g[1] for g in groups])[0]
    assert out["spearman_seed0_seed1"] == pytest.approx(rho) and out["spearman_cards"] == 12


def test_no_repeated_seeds_gives_no_statistics() -> None:
    assert seed_statistics(pd.DataFrame({"card": ["a", "b"], "seed": [0, 0], "score": [1.0, 2.0]})) == {"cards": 0}


def test_budget_agreement_is_kendall_tau_of_half_against_full_budget() -> None:
    rng = np.random.default_rng(0)
    budgets = [250, 500, 750, 1000]
    scores = rng.normal(size=(12, 4)).cumsum(axis=1)
    scores[3, 0] = np.nan  # a card without the first checkpoint drops out of that comparison only
    table = budget_agreement(scores, budgets)
    assert list(table.budget) == [500, 1000]  # 750's half (375) is no checkpoint
    row = table.set_index("budget").loc[500]
    keep = np.isfinite(scores[:, 0])
    assert row.cards == 11 and row.tau_half == pytest.approx(stats.kendalltau(scores[keep, 0], scores[keep, 1])[0])
    assert table.set_index("budget").loc[1000].tau_final == pytest.approx(1.0)
    assert table.set_index("budget").loc[1000].tau_half == pytest.approx(
        stats.kendalltau(scores[:, 1], scores[:, 3])[0]
    )
