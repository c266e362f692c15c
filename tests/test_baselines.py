"""Baselines: regularized evolution's aging, REINFORCE's learning, candidates, and beating random search."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from flexibench.core import DesignSpace, ModelCard, naive_features
from flexibench.search import (
    MAIN_ALGORITHMS,
    OPTIMIZERS,
    Encoding,
    Observation,
    SyntheticObjective,
    make_encoding,
    make_optimizer,
    run_search,
)
from flexibench.search.encodings import normalise
from flexibench.search.pools import homogeneous

torch.set_num_threads(1)

# Short schedules so the comparison below stays quick; the full-size comparison is the slow test.
FAST = {
    "gpbo": {"refit_every": 20, "maxiter": 20},
    "bananas": {"epochs": 60, "warm_epochs": 10, "n_members": 3},
    "boshnas": {
        "epochs": 60,
        "warm_epochs": 5,
        "gobi_steps": 5,
        "restarts": 3,
        "mc_samples": 5,
        "student_extra": 32,
        "hidden": (32, 32),
    },
}


CHEAP = {  # the smallest schedules that still exercise every code path (mutations, model fits) within 14 queries
    "re": {"population": 6, "sample": 3},
    "gpbo": {"refit_every": 10, "maxiter": 20},
    "bananas": {"epochs": 20, "warm_epochs": 5, "n_members": 2, "n_init": 4},
    "boshnas": {"epochs": 20, "warm_epochs": 5, "gobi_steps": 2, "restarts": 2, "mc_samples": 4, "student_extra": 8},
}
CHEAP["boshnas-first-order"] = CHEAP["boshnas-homoscedastic"] = CHEAP["boshnas"]


@pytest.fixture(scope="module")
def objective() -> SyntheticObjective:
    return SyntheticObjective(seed=0)


def crossover_pool(level: int, pairs: int = 8, seed: int = 0) -> Encoding:
    """A level-2 or level-3 pool as the hierarchical search builds one: parents of the coarser level first,
    then their crossover children (Appendix B.4)."""
    space, rng = DesignSpace.default(), np.random.default_rng(seed)
    cards: list[ModelCard] = []
    for _ in range(pairs):
        a = space.card_at(level - 1, int(rng.integers(space.count(level - 1))))
        moves = [m for m in space.mutations(a, level - 1) if m.l == a.l and (level == 2 or m.f != a.f)]
        for b in rng.choice(len(moves), size=2, replace=False):
            cards += [a, moves[b], *space.crossover(a, moves[b], level)]
    cards = list(dict.fromkeys(cards))
    return Encoding("naive", tuple(cards), normalise(naive_features(cards, space)))


def level_pool(level: int) -> Encoding:
    return homogeneous(make_encoding("naive")) if level == 1 else crossover_pool(level)


def test_crossover_pools_list_coarser_parents_first() -> None:
    space = DesignSpace.default()
    for level in (2, 3):
        pool = level_pool(level)
        assert pool.level == level and space.level_of(pool.cards[0]) == level - 1
        assert sum(space.level_of(card) == level for card in pool.cards) >= len(pool) // 3


@pytest.mark.parametrize("level", [1, 2, 3])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_algorithm_searches_every_level(name: str, level: int, objective: SyntheticObjective) -> None:
    pool = level_pool(level)
    result = run_search(name, objective, budget=14, seed=0, encoding=pool, optimizer_kwargs=CHEAP.get(name))
    cards = [ModelCard.from_dict(q["card"]) for q in result.queries]
    assert len(set(cards)) == len(cards) == 14 and all(card in pool for card in cards)


@pytest.mark.parametrize("level", [1, 2, 3])
def test_moves_happen_at_the_pools_level(level: int) -> None:
    """RE mutates and REINFORCE's policy chooses per stack of the pool's level, so each can reach every card."""
    pool, space = level_pool(level), DesignSpace.default()
    reinforce = make_optimizer("reinforce", encoding=pool)
    for card in pool.cards:
        assert reinforce.card_of(reinforce.actions_of(card)) == card
    evolution = make_optimizer("re", encoding=pool)
    assert evolution.level == level
    for card in pool.cards[:5]:
        assert all(space.level_of(child) <= level for child in space.mutations(card, evolution.level))


def test_regularized_evolution_ages_out_the_oldest(objective: SyntheticObjective) -> None:
    opt = make_optimizer("re", seed=0, population=6, sample=3)
    rng, space, told = np.random.default_rng(0), DesignSpace.default(), []
    for step in range(30):
        card = opt.ask()
        if step >= 6:  # after the random fill, every child is one mutation from a member of the population
            members = {opt.encoding.cards[i] for i, _ in opt.population}
            assert any(card in space.mutations(m, 1) for m in members)
        opt.tell(card, Observation(objective.evaluate(card, rng).score, 1.0))
        told.append(opt.encoding.index_of(card))
    assert [i for i, _ in opt.population] == told[-6:]


def test_reinforce_concentrates_on_the_rewarded_choice() -> None:
    opt = make_optimizer("reinforce", seed=0, lr=0.2)
    before = np.exp(opt.logits[("op", 0)]) / np.exp(opt.logits[("op", 0)]).sum()
    for _ in range(150):
        card = opt.ask()
        opt.tell(card, Observation(1.0 if card.o[0] == "LT" else 0.0, 1.0))
    after = np.exp(opt.logits[("op", 0)]) / np.exp(opt.logits[("op", 0)]).sum()
    lt = [k for k, (o, _) in enumerate(opt.options["op"]) if o == "LT"]
    assert after[lt].sum() > 0.8 > before[lt].sum()


def test_bananas_candidates_are_available_mutations_plus_random(objective: SyntheticObjective) -> None:
    opt = make_optimizer("bananas", seed=0, n_random=5, top_k=2, epochs=20, warm_epochs=5)
    rng = np.random.default_rng(0)
    for _ in range(12):
        card = opt.ask()
        opt.tell(card, Observation(objective.evaluate(card, rng).score, 1.0))
    candidates = opt._candidates()
    assert opt.available[candidates].all()
    top = np.argsort(opt.obs_score)[::-1][:2]
    neighbours = {c for k in top for c in DesignSpace.default().mutations(opt.encoding.cards[opt.obs_index[k]], 1)}
    assert sum(opt.encoding.cards[i] in neighbours for i in candidates) >= len(candidates) - 5


def _mean_regret(algo: str, objective: SyntheticObjective, seeds: range, budget: int, kwargs: dict) -> float:
    return float(
        np.mean(
            [
                run_search(algo, objective, budget=budget, seed=s, optimizer_kwargs=kwargs).summary["regret"]
                for s in seeds
            ]
        )
    )


def test_every_algorithm_beats_random_search_quick(objective: SyntheticObjective) -> None:
    """10 fixed seeds, 30 queries, short surrogate schedules: mean regret below random search's."""
    seeds = range(10)
    rs = _mean_regret("rs", objective, seeds, 30, {})
    for algo in MAIN_ALGORITHMS[1:]:
        assert _mean_regret(algo, objective, seeds, 30, FAST.get(algo, {})) < rs, algo


@pytest.mark.slow
@pytest.mark.parametrize(
    "algo", [a for a in MAIN_ALGORITHMS if a != "rs"] + ["boshnas-first-order", "boshnas-homoscedastic"]
)
def test_every_algorithm_beats_random_search_full(objective: SyntheticObjective, algo: str) -> None:
    """The documented setting: 20 seeds x 100 queries, default hyperparameters, one-sided Mann-Whitney p < 0.05."""
    from scipy.stats import mannwhitneyu

    seeds = range(20)
    rs = [run_search("rs", objective, budget=100, seed=s).summary["regret"] for s in seeds]
    other = [run_search(algo, objective, budget=100, seed=s).summary["regret"] for s in seeds]
    assert np.mean(other) < np.mean(rs)
    assert mannwhitneyu(other, rs, alternative="less").pvalue < 0.05
