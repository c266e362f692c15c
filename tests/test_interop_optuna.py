"""Optuna samplers search the table: define-by-run cards, study objectives, and the ask/tell adapter on the runner."""

from __future__ import annotations

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

import flexibench  # noqa: E402
from flexibench.core import ModelCard  # noqa: E402
from flexibench.interop.optuna_study import OptunaOptimizer, StudyObjective, create_study, suggest_card  # noqa: E402
from flexibench.interop.schema import card_to_values  # noqa: E402
from flexibench.search.objective import TableObjective  # noqa: E402
from flexibench.search.runner import run_search  # noqa: E402


@pytest.fixture(scope="module")
def bench():
    return flexibench.load()


def test_every_level1_card_is_one_define_by_run_trial(bench) -> None:
    """Optuna's FixedTrial answers with a card's values: the suggestions walk back to that card, asking nothing else."""
    for card in bench.space.enumerate(1):
        values = card_to_values(card, bench.space, 1)
        trial = optuna.trial.FixedTrial(values)
        assert suggest_card(trial, bench.space, 1) == card
        assert set(trial.params) == set(values)


def _plausible(bench, card: ModelCard, value: float) -> bool:
    """A sampled score is one measured seed's score, or within 6 spreads of the surrogate's mean."""
    result = bench.query(card, "nano")
    if result.measured:
        seeds = [s for s in range(10) if _has_seed(bench, card, s)]
        return any(np.isclose(value, bench.query(card, "nano", seed=s).score) for s in seeds)
    return abs(value - result.score) <= 6 * result.score_std


def _has_seed(bench, card: ModelCard, seed: int) -> bool:
    try:
        bench.query(card, "nano", seed=seed)
    except flexibench.bench.QueryError:
        return False
    return True


def test_tpe_study_on_the_table(bench) -> None:
    objective = StudyObjective(bench, "nano", seed=0)
    study = create_study(objective, "optuna-tpe", seed=0)
    study.optimize(objective, n_trials=25)
    assert objective.directions == ["maximize"]
    for trial in study.trials:
        card = ModelCard.from_json(trial.user_attrs["card"])
        assert card == suggest_card(optuna.trial.FixedTrial(trial.params), bench.space, 1)
        assert _plausible(bench, card, trial.value)
        assert trial.user_attrs["cost_s"] > 0
    assert study.best_value == max(t.value for t in study.trials)


def test_nsga2_trades_score_against_parameters(bench) -> None:
    objective = StudyObjective(bench, "nano", ("score", "params"), seed=1)
    study = create_study(objective, "optuna-nsga2", seed=1)
    study.optimize(objective, n_trials=20)
    assert objective.directions == ["maximize", "minimize"]
    for trial in study.trials:
        card = ModelCard.from_json(trial.user_attrs["card"])
        assert trial.values[1] == bench.query(card, "nano").params
    front = study.best_trials
    assert front and all(not _dominates(o.values, t.values) for t in front for o in study.trials)


def test_sampler_options_reach_optuna(bench) -> None:
    """NSGA-II with a population of 4 breeds generations 1-2 within 12 trials (with the default 50, all are gen 0)."""
    objective = StudyObjective(bench, "nano", ("score", "params"), seed=0)
    key = optuna.samplers.NSGAIISampler._get_generation_key()
    generations = {}
    for options in ({}, {"population_size": 4}):
        study = create_study(objective, "optuna-nsga2", seed=0, **options)
        study.optimize(objective, n_trials=12)
        generations[len(options)] = [t.system_attrs[key] for t in study.trials]
    assert set(generations[0]) == {0}
    assert generations[1] == [0] * 4 + [1] * 4 + [2] * 4
    with pytest.raises(TypeError, match="population_siz"):
        create_study(objective, "optuna-nsga2", seed=0, population_siz=4)
    with pytest.raises(ValueError, match="need a sampler name"):
        create_study(objective, optuna.samplers.NSGAIISampler(seed=0), population_size=4)


def _dominates(a, b) -> bool:
    return a[0] >= b[0] and a[1] <= b[1] and (a[0] > b[0] or a[1] < b[1])


def test_optuna_on_flexibench_runner_is_reproducible(bench) -> None:
    objective = TableObjective(bench, "nano")
    runs = [
        run_search(OptunaOptimizer("optuna-tpe", bench.space, seed=4), objective, budget=15, seed=4, workers=3)
        for _ in range(2)
    ]
    cards = [[q["short"] for q in r.queries] for r in runs]
    assert len(cards[0]) == 15 and cards[0] == cards[1]
    assert runs[0].summary["regret"] == runs[1].summary["regret"] >= 0
    assert {q["worker"] for q in runs[0].queries} == {0, 1, 2}
