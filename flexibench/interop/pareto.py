"""Pareto fronts and hypervolume, and the table's own front: the reference a multi-objective search is scored on.

Points are rows of objective values; :func:`to_minimisation` flips maximised objectives
so that everything below works in one convention (smaller is better). The hypervolume is
exact (the slicing recursion: sort by the last objective, sum slab volumes of the
lower-dimensional fronts), which is cheap for the fronts a search of a few hundred
evaluations finds. :func:`table_front` answers "which cards are Pareto-optimal?" over every
card of the table, with the noise-free scores (seed means, or the surrogate's means).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from flexibench.core import ModelCard
from flexibench.interop.objectives import ObjectiveSpec, parse_objectives

__all__ = ["TableFront", "hypervolume", "pareto_mask", "table_front", "to_minimisation"]


def to_minimisation(values: np.ndarray, objectives: Sequence[ObjectiveSpec]) -> np.ndarray:
    """``values`` (n, d) with maximised objectives negated: smaller is better in every column."""
    values = np.asarray(values, dtype=float)
    signs = np.array([-1.0 if o.maximize else 1.0 for o in objectives])
    return values * signs


def pareto_mask(points: np.ndarray) -> np.ndarray:
    """True for the non-dominated rows of ``points`` (minimisation); equal rows are all kept."""
    points = np.asarray(points, dtype=float)
    n = len(points)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        if not keep[i]:
            continue
        dominated = np.all(points[i] <= points, axis=1) & np.any(points[i] < points, axis=1)
        keep &= ~dominated
    return keep


def hypervolume(points: np.ndarray, reference: Sequence[float]) -> float:
    """Volume dominated by ``points`` (minimisation) and bounded by ``reference``; points beyond it add nothing."""
    ref = np.asarray(reference, dtype=float)
    pts = np.asarray(points, dtype=float).reshape(-1, len(ref))
    pts = pts[np.all(pts < ref, axis=1)]
    if not len(pts):
        return 0.0
    return _slice(pts[pareto_mask(pts)], ref)


def _slice(points: np.ndarray, ref: np.ndarray) -> float:
    if points.shape[1] == 1:
        return float(ref[0] - points[:, 0].min())
    order = np.argsort(points[:, -1], kind="stable")
    points = points[order]
    volume = 0.0
    for k in range(len(points)):
        top = points[k + 1, -1] if k + 1 < len(points) else ref[-1]
        depth = top - points[k, -1]
        if depth > 0:
            front = points[: k + 1, :-1]
            volume += depth * _slice(front[pareto_mask(front)], ref[:-1])
    return float(volume)


@dataclass(frozen=True)
class TableFront:
    """Every card of the table on ``objectives`` (noise-free), which are Pareto-optimal, and the objectives' ranges."""

    objectives: tuple[ObjectiveSpec, ...]
    rows: np.ndarray  # table rows, in table order
    values: np.ndarray  # (cards, objectives), raw units
    mask: np.ndarray  # Pareto-optimal rows
    lower: np.ndarray  # per objective, the table's minimum
    upper: np.ndarray  # and maximum

    def normalised(self, values: np.ndarray) -> np.ndarray:
        """Raw values -> [0, 1] per objective, minimisation (0 = the table's best, 1 = its worst)."""
        scaled = (np.asarray(values, float) - self.lower) / np.where(
            self.upper > self.lower, self.upper - self.lower, 1
        )
        flip = np.array([o.maximize for o in self.objectives])
        return np.where(flip, 1.0 - scaled, scaled)

    def hypervolume(self, values: np.ndarray) -> float:
        """Hypervolume of raw ``values`` in the normalised space, reference point (1, ..., 1): the table's worst."""
        return hypervolume(self.normalised(values), np.ones(len(self.objectives)))

    @property
    def best_hypervolume(self) -> float:
        """The table front's hypervolume: what a search that found the whole front would reach."""
        return self.hypervolume(self.values[self.mask])

    def cards(self, bench: Any) -> list[ModelCard]:
        """The Pareto-optimal cards, by their table rows."""
        every = bench.cards()
        return [every[int(r)] for r in self.rows[self.mask]]


def table_front(
    bench: Any, fidelity: str | None = None, objectives: Sequence[str | ObjectiveSpec] = ("score", "params")
) -> TableFront:
    """The Pareto front of the whole table at ``fidelity`` (seed means for measured cards, surrogate means else).

    Rows missing an objective (NaN: a card outside the latency run) are left out: they have no place
    on the front, and their NaN would make the normalising ranges NaN.
    """
    specs = parse_objectives(objectives)
    rows = np.arange(len(bench))
    answer = bench.query_many(rows, fidelity)
    values = np.column_stack([o.column(answer) for o in specs])
    finite = np.isfinite(values).all(axis=1)
    rows, values = rows[finite], values[finite]
    mask = pareto_mask(to_minimisation(values, specs))
    return TableFront(specs, rows, values, mask, values.min(axis=0), values.max(axis=0))
