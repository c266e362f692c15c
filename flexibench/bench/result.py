"""``QueryResult`` and ``LearningCurve``: the frozen answers of ``Benchmark`` (units in the field names)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from flexibench.core import ModelCard
from flexibench.core.errors import FlexiBenchError

SOURCES = ("table", "surrogate")


class QueryError(FlexiBenchError, LookupError):
    """A query the table cannot answer (unknown fidelity or budget, seed not measured, no surrogate)."""


class FrozenScores(Mapping[str, float]):
    """A read-only ``{task: score}`` mapping that pickles (results are cached and shared)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, float] | None = None) -> None:
        self._data = dict(data or {})

    def __getitem__(self, key: str) -> float:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return repr(self._data)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self.items()) == dict(other.items())

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._data.items())))

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenScores, (self._data,))


@dataclass(frozen=True, slots=True)
class QueryResult:
    """How ``card`` performs at ``fidelity``.

    ``score`` is the average over the recipe's tasks in percent (GLUE convention);
    ``score_std`` is the spread over seeds for measured cards (0 for one seed) or
    the surrogate's ensemble spread. ``source`` says which: ``"table"`` (measured)
    or ``"surrogate"`` (predicted; its times are estimates from FLOPs, its
    ``task_scores`` empty). ``seed`` is set when the result is one seed's record.
    ``budget`` is the checkpoint answered, in ``budget_unit`` (``"steps"`` of pretraining),
    for fidelities that record learning curves (None otherwise); times at a partial budget
    are the full run's scaled by the share of steps (the schedule is constant), and
    ``task_scores`` is filled at the final checkpoint only. The hardware objectives
    (``latency_ms`` at batch 1, ``latency_b32_ms``, ``peak_memory_mib``, ``peak_memory_b32_mib``:
    fp32 CPU inference on one thread, :mod:`flexibench.bench.latency_table`) are None where the
    table has no measurement for the card (``query_many`` reads NaN there).
    """

    card: ModelCard
    fidelity: str
    score: float
    task_scores: Mapping[str, float]
    params: int
    flops: int
    pretrain_time_s: float
    finetune_time_s: float
    n_seeds: int
    score_std: float
    source: str
    seed: int | None = None
    budget: int | None = None
    budget_unit: str | None = None
    latency_ms: float | None = None
    latency_b32_ms: float | None = None
    peak_memory_mib: float | None = None
    peak_memory_b32_mib: float | None = None

    @property
    def total_time_s(self) -> float:
        """Pretraining plus fine-tuning wall time: the cost of evaluating the card from scratch."""
        return self.pretrain_time_s + self.finetune_time_s

    @property
    def measured(self) -> bool:
        return self.source == "table"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (NaN as None), the card as its ``{l, o, h, n, f, p}`` dict."""

        def clean(value: Any) -> Any:
            return None if isinstance(value, float) and math.isnan(value) else value

        return {
            "card": self.card.to_dict(),
            "short": self.card.short(),
            "fidelity": self.fidelity,
            "score": clean(self.score),
            "score_std": clean(self.score_std),
            "task_scores": {k: clean(v) for k, v in self.task_scores.items()},
            "params": self.params,
            "flops": self.flops,
            "pretrain_time_s": clean(self.pretrain_time_s),
            "finetune_time_s": clean(self.finetune_time_s),
            "n_seeds": self.n_seeds,
            "seed": self.seed,
            "source": self.source,
            "budget": self.budget,
            "budget_unit": self.budget_unit,
            **{name: clean(getattr(self, name)) for name in HARDWARE_FIELDS},
        }


#: The hardware objectives a :class:`QueryResult` carries (each an optional /archs column of the same name).
HARDWARE_FIELDS = ("latency_ms", "latency_b32_ms", "peak_memory_mib", "peak_memory_b32_mib")


@dataclass(frozen=True)
class LearningCurve:
    """A card's score at every recorded checkpoint of a fidelity.

    ``budgets`` are in ``unit`` (pretraining steps); ``tokens`` the same checkpoints in
    tokens seen. ``scores`` are means over the measured seeds (``score_std`` their spread,
    ``n_seeds`` how many had the checkpoint), or the surrogate's predictions and ensemble
    spread (``n_seeds`` 0) when ``source`` is ``"surrogate"``.
    """

    card: ModelCard
    fidelity: str
    budgets: np.ndarray
    unit: str
    tokens: np.ndarray
    scores: np.ndarray
    score_std: np.ndarray
    n_seeds: np.ndarray
    source: str

    def to_dict(self) -> dict[str, Any]:
        def clean(values: np.ndarray) -> list[Any]:
            return [None if isinstance(v, float) and math.isnan(v) else v for v in values.tolist()]

        return {
            "card": self.card.to_dict(),
            "fidelity": self.fidelity,
            "unit": self.unit,
            "budgets": self.budgets.tolist(),
            "tokens": self.tokens.tolist(),
            "scores": clean(self.scores),
            "score_std": clean(self.score_std),
            "n_seeds": self.n_seeds.tolist(),
            "source": self.source,
        }
