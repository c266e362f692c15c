"""Pareto fronts over table columns: which cards no other card beats on every objective at once.

Directions are fixed by what a column means, so a query names columns only: ``score``
(and any other column in :data:`MAXIMISE`) is better up; every cost (parameters, FLOPs,
latency, memory, training time) is better down. A name may carry an explicit ``+``
(maximise) or ``-`` (minimise) prefix to override that.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from flexibench.core.errors import FlexiBenchError

#: Columns where larger is better; every other column is a cost.
MAXIMISE = frozenset({"score"})


class ParetoError(FlexiBenchError, ValueError):
    """A Pareto query that cannot be answered (fewer than two objectives, unknown column)."""


def directions(objectives: Sequence[str]) -> list[tuple[str, bool]]:
    """``(column, maximise)`` for every objective name, ``+``/``-`` prefixes read and stripped."""
    if isinstance(objectives, str) or len(objectives) < 2:
        raise ParetoError(f"a Pareto front needs two or more objectives, got {objectives!r}")
    out = []
    for name in objectives:
        if name[:1] in "+-":
            out.append((name[1:], name[0] == "+"))
        else:
            out.append((name, name in MAXIMISE))
    columns = [c for c, _ in out]
    if len(set(columns)) != len(columns):
        raise ParetoError(f"an objective is named twice in {list(objectives)}")
    return out


def front_mask(values: np.ndarray, maximise: Sequence[bool]) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``values`` (N, k); rows with a NaN are never on the front.

    Row ``a`` dominates ``b`` when it is at least as good on every objective and better on one.
    Of rows equal on every objective all are kept. Sorting by the first objective makes each
    check one comparison against the front found so far: O(N * front size).
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or values.shape[1] != len(maximise):
        raise ParetoError(f"values of shape {values.shape} for {len(maximise)} objectives")
    signs = np.where(np.asarray(maximise, bool), -1.0, 1.0)
    costs = values * signs  # every objective as a cost: smaller is better
    finite = np.isfinite(costs).all(axis=1)
    mask = np.zeros(len(costs), bool)
    idx = np.flatnonzero(finite)
    order = idx[np.lexsort(costs[idx].T[::-1])]  # by the first objective, then the next, ...
    front: list[int] = []
    for i in order:
        c = costs[i]
        if front:
            f = costs[front]
            dominated = np.any(np.all(f <= c, axis=1) & np.any(f < c, axis=1))
            if dominated:
                continue
        front.append(int(i))
    mask[front] = True
    return mask
