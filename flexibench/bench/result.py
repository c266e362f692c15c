"""``QueryResult``: the frozen answer to ``Benchmark.query`` (units in the field names)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from flexibench.space import ModelCard

SOURCES = ("table", "surrogate")


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
        }
