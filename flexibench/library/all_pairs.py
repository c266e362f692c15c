"""All-pairs GED tables over a card library, in scipy ``squareform`` (condensed) order.

The level-1 library has 9,312 graphs and 43.3 million pairs. Exact GED
(:func:`flexibench.library.ged.ged_x10`, a MILP) takes ~0.1-1 s per pair, i.e. weeks of
CPU for the full table, so the table holds the closed-form lower bound of
:func:`flexibench.library.ged.ged_lower_bound_x10` (exact node-transport cost plus the
edge-count difference), computed by a numba kernel over stacked profiles in seconds.
docs/library.md reports how far it lies from the exact value on sampled pairs.
Values are stored x10 as uint16 (they are integers; the kernel checks the range).
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np

from flexibench.core.card import ModelCard
from flexibench.library.costs import CostModel
from flexibench.library.ged import profile

TABLE_KIND = "ged_lower_bound_x10"


def profiles(cards: Sequence[ModelCard], cost_model: CostModel | None = None) -> np.ndarray:
    """Stacked :func:`flexibench.library.ged.profile` rows, shape ``(N, max_index + 1)`` int32."""
    cm = cost_model or CostModel.default()
    return np.stack([profile(card, cm) for card in cards]).astype(np.int32)


@numba.njit(parallel=True, cache=True)
def _condensed_lb(prof: np.ndarray, out: np.ndarray) -> int:
    n, k = prof.shape
    worst = 0
    for i in numba.prange(n - 1):
        base = i * n - (i * (i + 1)) // 2
        for j in range(i + 1, n):
            total = 0
            for t in range(k - 1):
                d = prof[i, t] - prof[j, t]
                total += d if d >= 0 else -d
            d = prof[i, k - 1] - prof[j, k - 1]
            value = 10 * total + (d if d >= 0 else -d)
            out[base + j - i - 1] = min(value, 65535)
            if value > worst:
                worst = value
    return worst


def condensed_lower_bound(cards: Sequence[ModelCard], cost_model: CostModel | None = None) -> np.ndarray:
    """Condensed uint16 vector of GED lower bounds x10 for every pair ``i < j`` (squareform order)."""
    prof = profiles(cards, cost_model)
    n = len(prof)
    out = np.empty(n * (n - 1) // 2, dtype=np.uint16)
    if n > 1:
        worst = _condensed_lb(prof, out)
        if worst > 65535:
            raise OverflowError(f"GED x10 of {worst} does not fit uint16; use a smaller design space")
    return out


def condensed_index(i: int, j: int, n: int) -> int:
    """Position of pair ``(i, j)``, ``i != j``, in a condensed vector of ``n`` items."""
    if i == j:
        raise ValueError("condensed tables hold pairs of distinct items only")
    if i > j:
        i, j = j, i
    return i * n - i * (i + 1) // 2 + (j - i - 1)


def row(condensed: np.ndarray, i: int, n: int) -> np.ndarray:
    """Distances from item ``i`` to all items (0 at ``i``), gathered from a condensed vector."""
    j = np.arange(n)
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    idx = lo * n - lo * (lo + 1) // 2 + (hi - lo - 1)
    out = condensed[np.clip(idx, 0, len(condensed) - 1)].astype(np.int64)
    out[i] = 0
    return out
