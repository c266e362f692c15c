"""Optuna on the table: any sampler searches the design space, define-by-run, one or several objectives.

* :func:`suggest_card` asks a trial for a card, walking the conditional space of
  :mod:`flexibench.interop.schema` (the second stack's choices are suggested only for
  four-layer cards, an operation's parameter only under that operation), so every
  trial is exactly one card.
* :class:`StudyObjective` is the callable ``study.optimize`` takes: it draws the card's
  outcome from the table (``seed="sample"``, as FlexiBench's own search sees it) and
  returns the named objectives (``("score",)``, or ``("score", "params")`` and so on for
  multi-objective samplers); :func:`create_study` sets the matching directions.
* :class:`OptunaOptimizer` drives a sampler through ``study.ask`` / ``study.tell`` behind
  FlexiBench's :class:`~flexibench.search.protocol.Optimizer` protocol, so Optuna runs on the
  same runner (simulated workers, clock, budget, trajectories) as FlexiBench's algorithms.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Sequence
from typing import Any

import numpy as np
import optuna

from flexibench.core import DesignSpace, ModelCard
from flexibench.interop.objectives import ObjectiveSpec, parse_objectives
from flexibench.interop.schema import hyperparameters, values_to_card
from flexibench.search.encodings import Encoding
from flexibench.search.protocol import Observation

__all__ = ["SAMPLERS", "OptunaOptimizer", "StudyObjective", "create_study", "make_sampler", "suggest_card"]

SAMPLERS = ("optuna-tpe", "optuna-random", "optuna-cmaes", "optuna-nsga2", "optuna-gp")


def make_sampler(name: str, seed: int, **options: Any) -> optuna.samplers.BaseSampler:
    """Optuna's sampler called ``name`` (FlexiBench's palette names), with ``seed`` and its defaults.

    ``options`` go to the sampler's constructor unchanged (for example NSGA-II's
    ``population_size``), so a study can be set up as Optuna's own documentation sets it up.
    """
    samplers = {
        "optuna-tpe": optuna.samplers.TPESampler,
        "optuna-random": optuna.samplers.RandomSampler,
        "optuna-cmaes": optuna.samplers.CmaEsSampler,  # categorical choices fall back to its independent sampler
        "optuna-nsga2": optuna.samplers.NSGAIISampler,
        "optuna-gp": optuna.samplers.GPSampler,
    }
    if name not in samplers:
        raise ValueError(f"sampler: {name!r} is not allowed; allowed: {list(samplers)}")
    return samplers[name](seed=seed, **options)


def suggest_card(trial: optuna.trial.BaseTrial, space: DesignSpace, level: int = 1) -> ModelCard:
    """The card ``trial`` suggests: only the hyperparameters its earlier answers make active are asked."""
    values: dict[str, Any] = {}
    active: dict[str, bool] = {}
    for choice in hyperparameters(space, level):
        parent = choice.parent
        active[choice.name] = parent is None or (active[parent] and values.get(parent) in choice.parent_values)
        if active[choice.name]:
            values[choice.name] = trial.suggest_categorical(choice.name, list(choice.values))
    return values_to_card(values, space, level, strict=True)


class StudyObjective:
    """``study.optimize(StudyObjective(bench), n_trials=...)``: one table draw per trial.

    The card, its cost in seconds and the objective values are stored as the trial's
    user attributes (``card``, ``cost_s``), so a study is a complete record of the search.
    """

    def __init__(
        self,
        bench: Any,
        fidelity: str | None = None,
        objectives: Sequence[str | ObjectiveSpec] = ("score",),
        *,
        level: int = 1,
        seed: int = 0,
    ) -> None:
        self.bench = bench
        self.fidelity = fidelity or bench.default_fidelity
        self.objectives = parse_objectives(objectives)
        self.level = level
        self.rng = np.random.default_rng(seed)

    @property
    def directions(self) -> list[str]:
        return ["maximize" if o.maximize else "minimize" for o in self.objectives]

    def __call__(self, trial: optuna.trial.Trial) -> float | tuple[float, ...]:
        card = suggest_card(trial, self.bench.space, self.level)
        result = self.bench.query(card, self.fidelity, seed="sample", rng=self.rng)
        trial.set_user_attr("card", card.to_json())
        trial.set_user_attr("cost_s", float(result.total_time_s))
        values = tuple(o.value(self.bench, result) for o in self.objectives)
        return values[0] if len(values) == 1 else values


def create_study(
    objective: StudyObjective, sampler: str | optuna.samplers.BaseSampler, seed: int = 0, **options: Any
) -> optuna.Study:
    """An in-memory study whose directions match ``objective``.

    ``sampler`` is a name of :data:`SAMPLERS` (built with ``seed`` and ``options``) or a sampler.
    """
    if options and not isinstance(sampler, str):
        raise ValueError(f"sampler options {sorted(options)} need a sampler name; this sampler is already built")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    chosen = make_sampler(sampler, seed, **options) if isinstance(sampler, str) else sampler
    return optuna.create_study(directions=objective.directions, sampler=chosen)


class OptunaOptimizer:
    """An Optuna sampler behind FlexiBench's ask/tell protocol (single objective: the score, maximised).

    Several simulated workers mean several asked trials at once, as Optuna's own
    parallel optimisation has them. A sampler may suggest a card it suggested before;
    that trial is evaluated again (a fresh noisy draw, charged again), as a study would.
    """

    def __init__(self, name: str, space: DesignSpace | None = None, seed: int = 0, level: int = 1) -> None:
        self.name = name
        self.space = space or DesignSpace.default()
        self.level = level
        cards = tuple(self.space.enumerate(level))
        self.encoding = Encoding("optuna define-by-run", cards, np.zeros((len(cards), 0)), self.space, level)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.study = optuna.create_study(direction="maximize", sampler=make_sampler(name, seed))
        self._pending: dict[ModelCard, deque[optuna.trial.Trial]] = defaultdict(deque)
        self.asked = 0

    def ask(self) -> ModelCard:
        trial = self.study.ask()
        card = suggest_card(trial, self.space, self.level)
        self._pending[card].append(trial)
        self.asked += 1
        return card

    def tell(self, card: ModelCard, result: Observation) -> None:
        self.study.tell(self._pending[card].popleft(), float(result.score))

    def state(self) -> dict[str, Any]:
        return {"converged": False, "asked": self.asked}
