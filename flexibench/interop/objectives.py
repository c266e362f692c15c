"""Objectives by name, with their direction: the score against sizes now, measured latency when the table has it.

A multi-objective search names what it trades off (``"score"``, ``"params"``, ``"flops"``,
``"latency_ms"``, ...). The score is maximised, everything else (sizes, costs, latency)
minimised unless the name says otherwise (``"name:max"`` / ``"name:min"``). A value is read
from the :class:`~flexibench.bench.result.QueryResult` when it has the attribute, else from
the table's per-card columns (``Benchmark.query_many``), so a latency column added to the
table is an objective without a code change here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ObjectiveSpec:
    """One objective: a result or table column and whether larger is better."""

    name: str
    maximize: bool

    def value(self, bench: Any, result: Any) -> float:
        """The objective of one query result (one card)."""
        if hasattr(result, self.name):
            return float(getattr(result, self.name))
        return float(bench.query_many([result.card], result.fidelity)[self.name][0])

    def column(self, table: dict[str, np.ndarray]) -> np.ndarray:
        """The objective over a ``query_many`` answer (every card at once)."""
        if self.name not in table:
            raise KeyError(f"objective {self.name!r}: the table answers {sorted(table)}")
        return np.asarray(table[self.name], dtype=float)


def parse_objectives(names: Sequence[str | ObjectiveSpec]) -> tuple[ObjectiveSpec, ...]:
    """``("score", "params")`` -> specs; ``"x:max"`` / ``"x:min"`` set a direction, else only ``score`` is maximised."""
    out = []
    for item in names:
        if isinstance(item, ObjectiveSpec):
            out.append(item)
            continue
        name, _, direction = str(item).partition(":")
        if direction not in ("", "max", "min"):
            raise ValueError(f"objective {item!r}: direction {direction!r} is not allowed; allowed: max, min")
        out.append(ObjectiveSpec(name, direction == "max" or (direction == "" and name == "score")))
    if not out:
        raise ValueError("objectives: give at least one name")
    return tuple(out)
