"""How much of a score is architecture and how much is seed: the statistics a fidelity is judged by.

A fidelity is useful for search only if it ranks architectures the same way when
rerun with another seed. For cards measured with two or more seeds this module gives
the pooled within-card standard deviation (seed noise), the between-card standard
deviation, the share of the total sum of squares between cards (one-way ANOVA; 1 =
all architecture; with pure noise it is about (cards - 1) / (records - 1)) and the
Spearman correlation of seed 0 against seed 1 across cards. Used by
``paper_repro/seed_noise.py``, ``benchmarks/bench_recipes.py`` and ``data/README.md``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats


def seed_statistics(rows: pd.DataFrame | Iterable[tuple[str, int, float]], column: str = "score") -> dict[str, float]:
    """Seed noise, architecture share and seed-0-vs-1 Spearman of ``column`` over cards with >= 2 seeds.

    ``rows``: a frame with ``card``, ``seed`` and ``column``, or ``(card, seed, value)`` tuples.
    Non-finite values are dropped first. Returns ``{"cards": 0}`` when no card has two seeds.
    """
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows), columns=["card", "seed", column])
    ok = frame[np.isfinite(frame[column].astype(float))]
    ok = ok[ok.groupby("card")[column].transform("size") >= 2]
    if ok.empty:
        return {"cards": 0}
    values = ok[column].astype(float)
    groups = values.groupby(ok["card"])
    total_ss = float(((values - values.mean()) ** 2).sum())
    within_ss = float(groups.apply(lambda s: ((s - s.mean()) ** 2).sum()).sum())
    dof = len(ok) - groups.ngroups
    out: dict[str, float] = {
        "cards": int(groups.ngroups),
        "records": int(len(ok)),
        "seed_noise_std": math.sqrt(within_ss / dof) if dof else math.nan,
        "between_card_std": float(groups.mean().std(ddof=1)) if groups.ngroups > 1 else math.nan,
        "architecture_share": 1.0 - within_ss / total_ss if total_ss > 0 else math.nan,
        "null_share": (groups.ngroups - 1) / (len(ok) - 1) if len(ok) > 1 else math.nan,
    }
    wide = ok.pivot_table(index="card", columns="seed", values=column)
    if {0, 1} <= set(wide.columns):
        pair = wide[[0, 1]].dropna()
        if len(pair) >= 3:
            rho, p = stats.spearmanr(pair[0], pair[1])
            out.update({"spearman_seed0_seed1": float(rho), "spearman_p": float(p), "spearman_cards": int(len(pair))})
    return out


def budget_agreement(scores: np.ndarray, budgets: Sequence[int]) -> pd.DataFrame:
    """How settled a ranking is at each budget: Kendall tau of the half-budget checkpoint against the budget.

    ``scores`` is ``(cards, len(budgets))`` (NaN where a card has no checkpoint), as
    :func:`flexibench.bench.curves.curve_column` returns it. For every budget ``b`` whose half
    ``b / 2`` is also a checkpoint, one row: ``tau_half`` (half vs ``b``), ``tau_final`` (``b``
    vs the last budget) and ``cards`` (with both checkpoints). A long fidelity's budget is
    chosen where ``tau_half`` reaches 0.9: past it, more training no longer reorders the cards.
    """
    budgets = list(budgets)
    column = {b: j for j, b in enumerate(budgets)}
    rows = []
    for b in budgets:
        if b % 2 or b // 2 not in column:
            continue
        half, at, last = scores[:, column[b // 2]], scores[:, column[b]], scores[:, -1]
        both = np.isfinite(half) & np.isfinite(at)
        tau_half = stats.kendalltau(half[both], at[both]).statistic if both.sum() >= 3 else math.nan
        final = np.isfinite(at) & np.isfinite(last)
        tau_final = stats.kendalltau(at[final], last[final]).statistic if final.sum() >= 3 else math.nan
        rows.append(
            {"budget": b, "half": b // 2, "cards": int(both.sum()), "tau_half": tau_half, "tau_final": tau_final}
        )
    return pd.DataFrame(rows, columns=["budget", "half", "cards", "tau_half", "tau_final"])
