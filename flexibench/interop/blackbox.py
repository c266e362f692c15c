"""The table as a syne-tune blackbox: what its simulator backend runs, as it runs NAS-Bench-201 or LCBench.

One :class:`TableBlackbox` per fidelity (:func:`blackboxes` gives all of them, as syne-tune's
repository gives one blackbox per data set). Its fidelity space is the fidelity's learning
curve: the checkpoints the table records (``Benchmark.budgets``; nano: 50, 100, 150 and 200
pretraining steps), or the final step alone for a fidelity without curves. At every
checkpoint it reports:

* ``score``: the card's score there (higher is better; schedulers get ``do_minimize=False``);
* ``elapsed_time``: seconds since the trial started, from the table's per-card training
  time: pretraining scaled to the checkpoint's share of steps (the table's own rule for a
  partial budget) plus the card's fine-tuning, so the last checkpoint costs exactly what
  :class:`~flexibench.search.objective.TableObjective` charges a full evaluation;
* ``record_seed``: the measured seed the outcome was drawn from (-1 for a surrogate draw), so
  a run's clock can be checked against the table record by record;
* ``params``, ``flops`` and any other per-card column the table answers (``extra_metrics``:
  e.g. ``latency_ms`` once the table has it), for multi-objective schedulers.

Noise is drawn per trial as ``Benchmark.query(seed="sample")`` draws it: a random measured
seed's whole curve for measured cards; for the others one standard normal ``z`` per trial,
giving ``mean_b + z * std_b`` at every checkpoint (a coherent curve whose last point has the
same distribution as a sampled final score). ``seed`` seeds the generator, so a run is
reproducible; a ``seed`` passed to :meth:`objective_function` fixes one trial's draw.

Level 1 (the table's cards) is the default; the configuration space is the flat form of
:mod:`flexibench.interop.schema` (syne-tune spaces have no conditions: inactive
hyperparameters are carried and ignored when the configuration becomes a card).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from syne_tune.blackbox_repository.blackbox import Blackbox
from syne_tune.config_space import choice, ordinal

from flexibench.core import DesignSpace, ModelCard
from flexibench.interop.schema import hyperparameters, values_to_card

__all__ = ["ELAPSED", "RECORD_SEED", "SCORE", "TableBlackbox", "blackboxes", "synetune_space"]

SCORE, ELAPSED, RECORD_SEED = "score", "elapsed_time", "record_seed"
SIZE_METRICS = ("params", "flops")


def synetune_space(space: DesignSpace, level: int = 1) -> dict[str, Any]:
    """The level's hyperparameters as a syne-tune configuration space (flat: every one in every config)."""
    out: dict[str, Any] = {}
    for c in hyperparameters(space, level):
        out[c.name] = ordinal(list(c.values), kind="equal") if c.ordinal else choice(list(c.values))
    return out


class TableBlackbox(Blackbox):
    """One fidelity of a :class:`~flexibench.bench.Benchmark` as a syne-tune :class:`Blackbox`."""

    def __init__(
        self,
        bench: Any,
        fidelity: str | None = None,
        *,
        level: int = 1,
        seed: int = 0,
        extra_metrics: Sequence[str] = (),
    ) -> None:
        self.bench = bench
        self.fidelity = fidelity or bench.default_fidelity
        self.space: DesignSpace = bench.space
        self.level = level
        budgets, unit = bench.budgets(self.fidelity)
        recipe = bench.recipes.get(self.fidelity) or {}
        self.unit = unit or "steps"
        self._curve = bool(budgets)
        self._budgets = [int(b) for b in budgets] or [int((recipe.get("pretrain") or {}).get("steps") or 1)]
        self.extra_metrics = tuple(m for m in extra_metrics if m not in SIZE_METRICS)
        names = [SCORE, ELAPSED, RECORD_SEED, *SIZE_METRICS, *self.extra_metrics]
        super().__init__(
            configuration_space=synetune_space(self.space, level),
            fidelity_space={self.unit: ordinal(self._budgets, kind="equal")},
            objectives_names=names,
        )
        self._rng = np.random.default_rng(seed)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled with the table's path, not its open file (syne-tune's Tuner pickles its backend)."""
        state = dict(self.__dict__)
        state["bench"] = str(self.bench.path)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        from flexibench.bench import load

        self.__dict__.update(state)
        self.bench = load(state["bench"])

    @property
    def fidelity_values(self) -> np.ndarray:
        return np.array(self._budgets)

    @property
    def max_budget(self) -> int:
        return self._budgets[-1]

    def card(self, configuration: Mapping[str, Any]) -> ModelCard:
        """The card a syne-tune configuration describes (inactive and unknown keys ignored)."""
        return values_to_card(configuration, self.space, self.level, strict=False)

    def curve(self, card: ModelCard, rng: np.random.Generator) -> np.ndarray:
        """One trial's outcome: a ``(len(budgets), len(objectives_names))`` array, drawn from ``rng``."""
        bench, fid = self.bench, self.fidelity
        final = bench.query(card, fid, seed="sample", rng=rng)
        points = self._budgets if self._curve else [None]
        if final.measured:  # the drawn seed's own record at every checkpoint
            seed = int(final.seed)
            rows = [bench.query(card, fid, seed=seed, budget=b) for b in points[:-1]] + [final]
        else:
            seed = -1
            mean = [bench.query(card, fid, budget=b) for b in points[:-1]] + [bench.query(card, fid)]
            z = (final.score - mean[-1].score) / mean[-1].score_std if mean[-1].score_std > 0 else 0.0
            rows = [replace(r, score=float(r.score + z * r.score_std)) for r in mean[:-1]] + [final]
        extra = self._extra(card)
        out = np.empty((len(points), len(self.objectives_names)))
        for i, r in enumerate(rows):
            elapsed = r.pretrain_time_s + r.finetune_time_s  # pretraining to this checkpoint, one fine-tuning
            out[i] = [r.score, elapsed, seed, final.params, final.flops, *extra]
        return out

    def _extra(self, card: ModelCard) -> list[float]:
        if not self.extra_metrics:
            return []
        answer = self.bench.query_many([card], self.fidelity)
        return [float(answer[name][0]) for name in self.extra_metrics]

    def _objective_function(
        self,
        configuration: dict[str, Any],
        fidelity: dict | None = None,
        seed: int | None = None,
    ) -> dict[str, float] | np.ndarray:
        card = self.card(configuration)
        rng = self._rng if seed is None else np.random.default_rng([int(seed), self.space.index_of(card, self.level)])
        values = self.curve(card, rng)
        if fidelity is None:
            return values
        budget = int(next(iter(fidelity.values())))
        if budget not in self._budgets:
            raise ValueError(f"{self.unit}: {budget} is not allowed; allowed: {self._budgets}")
        return dict(zip(self.objectives_names, values[self._budgets.index(budget)].tolist()))


def blackboxes(bench: Any, *, level: int = 1, seed: int = 0, **kwargs: Any) -> dict[str, TableBlackbox]:
    """One blackbox per fidelity of the table, keyed by fidelity name (syne-tune's per-data-set form)."""
    return {name: TableBlackbox(bench, name, level=level, seed=seed, **kwargs) for name in bench.fidelities}
