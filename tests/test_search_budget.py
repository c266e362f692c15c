"""Partial budgets through the runner: a successive-halving loop over the packed table, its clock priced exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from flexibench.bench.benchmark import default_table_path, load
from flexibench.core import ModelCard
from flexibench.search.encodings import naive_encoding
from flexibench.search.objective import SyntheticObjective, TableObjective
from flexibench.search.pools import restrict
from flexibench.search.protocol import Observation, Trial
from flexibench.search.runner import run_search


class SuccessiveHalving:
    """Synchronous successive halving (eta = 2): every rung at the next checkpoint, the best half promoted."""

    name = "sh"

    def __init__(self, encoding, cards: list[ModelCard], budgets: list[int]) -> None:
        self.encoding, self.budgets = encoding, budgets
        self.rung, self.queue, self.told = 0, list(cards), {}
        self.asked: list[Trial] = []

    def ask(self) -> Trial:
        if not self.queue:  # the rung is complete (one worker: every ask follows a tell)
            ranked = sorted(self.told, key=self.told.get, reverse=True)
            self.rung += 1
            self.queue, self.told = ranked[: max(1, len(ranked) // 2)], {}
        trial = Trial(self.queue.pop(0), self.budgets[self.rung])
        self.asked.append(trial)
        return trial

    def tell(self, card: ModelCard, result: Observation) -> None:
        assert result.budget == self.budgets[self.rung]
        self.told[card] = result.score

    def state(self) -> dict:
        return {"converged": False, "rung": self.rung}


@pytest.fixture(scope="module")
def bench():
    path = default_table_path()
    if not path.exists():
        pytest.skip("no packed table")
    with load(path) as table:
        if len(table.budgets()[0]) < 4:
            pytest.skip("the table records no learning curves")
        yield table


def test_successive_halving_is_charged_exactly_its_partial_costs(bench):
    budgets = bench.budgets()[0]  # nano: 50, 100, 150, 200 steps
    measured = bench.cards(bench.default_fidelity, measured=True)
    cards = [measured[i] for i in np.random.default_rng(3).choice(len(measured), 8, replace=False)]
    encoding = restrict(naive_encoding(), cards)
    objective = TableObjective(bench, bench.default_fidelity, seed="mean")
    sh = SuccessiveHalving(encoding, cards, budgets)
    result = run_search(sh, objective, budget=8 + 4 + 2 + 1, tau=None)  # rungs of 8, 4, 2, 1 cards
    rows = result.queries
    assert [r["budget"] for r in rows] == [budgets[0]] * 8 + [budgets[1]] * 4 + [budgets[2]] * 2 + [budgets[3]]

    # independent price: the table's pretraining time at each checkpoint; a promoted card pays only the steps
    # since its previous checkpoint (it continues), every evaluation its fine-tuning in full
    held: dict[ModelCard, float] = {}
    expected = 0.0
    for trial in sh.asked:
        at = bench.query(trial.card, budget=trial.budget)
        full = bench.query(trial.card)
        assert at.pretrain_time_s == pytest.approx(full.pretrain_time_s * trial.budget / budgets[-1])
        expected += at.pretrain_time_s - held.get(trial.card, 0.0) + at.finetune_time_s
        held[trial.card] = at.pretrain_time_s
    assert result.summary["sim_time_s"] == pytest.approx(expected, rel=1e-12)
    assert sum(r["cost_s"] for r in rows) == pytest.approx(expected, rel=1e-12)
    assert [r["resumed"] for r in rows] == [False] * 8 + [True] * 7
    assert all(not r["transferred"] for r in rows)
    # the scores told are the table's at each checkpoint
    for trial, row in zip(sh.asked, rows):
        assert row["score"] == pytest.approx(bench.query(trial.card, budget=trial.budget).score)
    # cheaper than training the 8 cards fully, which is what a full-budget search of 8 would pay
    assert expected < sum(bench.query(c).total_time_s for c in cards)


def test_weight_transfer_is_charged_when_it_is_cheaper_than_continuing(bench):
    budgets = bench.budgets()[0]
    card = bench.cards(bench.default_fidelity, measured=True)[0]
    objective = TableObjective(bench, bench.default_fidelity, seed="mean")

    class Twice:
        name, encoding = "twice", restrict(naive_encoding(), [card])

        def __init__(self) -> None:
            self.trials = [Trial(card, budgets[0]), Trial(card, budgets[-1])]

        def ask(self) -> Trial:
            return self.trials.pop(0)

        def tell(self, card, result) -> None:
            pass

        def state(self) -> dict:
            return {"converged": False}

    full = bench.query(card)
    rows = run_search(Twice(), objective, budget=2, tau=0.8).queries
    share = objective.transfer_pretrain_share  # nano: 50 of 200 steps
    continued = full.pretrain_time_s * (1 - budgets[0] / budgets[-1]) + full.finetune_time_s
    transferred = full.pretrain_time_s * share + full.finetune_time_s
    assert rows[1]["cost_s"] == pytest.approx(min(continued, transferred))
    assert rows[1]["transferred"] == (transferred < continued)


def test_full_budget_searches_are_unchanged_and_synthetic_refuses_budgets():
    objective = SyntheticObjective(seed=0)
    result = run_search("rs", objective, budget=5, seed=1)
    assert all(r["budget"] is None and not r["resumed"] for r in result.queries)
    assert objective.budgets == ()
    with pytest.raises(Exception, match="no learning curve"):
        objective.evaluate(objective.best_card, np.random.default_rng(0), budget=50)
    assert not math.isnan(result.summary["sim_time_s"])
