"""One transfer rule and one transfer price: the table, the search and paper_repro agree to the second."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

import flexibench
from flexibench.bench.cost import can_transfer, evaluation_cost_s, required_overlap, transfer_share
from flexibench.core import DesignSpace, ModelCard
from flexibench.library.neighbours import transfer_allowed
from flexibench.resources import data_file
from flexibench.search.objective import TableObjective
from flexibench.search.runner import run_search
from flexibench.search.transfer import TransferIndex

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "paper_repro"))

from _search_runs import load_curves  # noqa: E402


def test_one_rule_wherever_it_is_asked() -> None:
    space, rng = DesignSpace.default(), random.Random(0)
    cards = [space.sample(rng, level=1) for _ in range(60)]
    cards += [_prefix(c, 2) for c in cards[:30] if c.l == 4]  # trained prefixes of queries: transfers happen
    for tau in (0.0, 0.5, 0.8, 1.0):
        for q in cards[:30]:
            index = TransferIndex(tau)
            for t in cards[30:]:
                index.add(t)
            assert can_transfer(q, cards[30:], tau) == index.can_transfer(q)
            for t in cards[30:45]:
                assert can_transfer(q, [t], tau) == transfer_allowed(q, t, tau)
    assert required_overlap(4, 0.8) == 4 and required_overlap(2, 0.8) == 2 and required_overlap(3, 0.5) == 2


def test_the_rule_is_one_definition_wherever_it_is_imported() -> None:
    from flexibench.bench import cost
    from flexibench.core import transfer_rule
    from flexibench.library import neighbours
    from flexibench.models import transfer as model_transfer
    from flexibench.search import transfer as search_transfer

    assert cost.can_transfer is transfer_rule.can_transfer and cost.required_overlap is transfer_rule.required_overlap
    assert neighbours.transfer_allowed is transfer_rule.transfer_allowed
    assert search_transfer.required_overlap is transfer_rule.required_overlap
    assert model_transfer.overlap_fraction is transfer_rule.overlap_fraction
    assert cost.DEFAULT_TAU == neighbours.DEFAULT_TAU == search_transfer.DEFAULT_TAU == 0.8
    with pytest.raises(ValueError, match="tau"):
        TransferIndex(1.5)


def test_nano_charges_a_transferred_card_its_first_checkpoint_not_zero() -> None:
    bench = flexibench.load(data_file("flexibench.h5"))
    recipe = bench.recipes["nano"]
    assert transfer_share(recipe) == recipe["pretrain"]["heldout_every"] / recipe["pretrain"]["steps"] == 0.25
    tiny = bench.query("bert-tiny")
    cost = bench.training_cost("bert-tiny", trained=["bert-tiny"])
    assert cost == pytest.approx(0.25 * tiny.pretrain_time_s + tiny.finetune_time_s) and cost > 5.0
    assert bench.training_cost("bert-tiny") == pytest.approx(tiny.total_time_s)


def test_table_search_objective_and_paper_repro_agree_to_the_second(tmp_path) -> None:
    bench = flexibench.load(data_file("flexibench.h5"))
    objective = TableObjective(bench, "nano")
    share = objective.transfer_pretrain_share
    run = run_search("re", objective, budget=60, seed=3, out_dir=tmp_path)  # mutations: transfers happen
    queries = run.queries
    assert sum(q["transferred"] for q in queries) >= 1
    trained, charged = [], 0.0
    for q in queries:
        card = bench._parse(q["card"])
        mean = bench.query(card)
        if mean.measured:  # the run drew one seed's record: price the same record
            seed = next(s for s in range(5) if _seed_time(bench, card, s) == q["pretrain_s"])
            table_cost = bench.training_cost(card, trained, seed=seed)
        else:
            table_cost = bench.training_cost(card, trained)
        assert q["transferred"] == can_transfer(card, trained)
        assert table_cost == pytest.approx(q["cost_s"], rel=1e-12, abs=1e-9)
        assert evaluation_cost_s(q["pretrain_s"], q["finetune_s"], q["transferred"], share) == q["cost_s"]
        trained.append(card)
        charged += table_cost
    curves = load_curves([run.path], budget=len(queries), transfer_share=share)
    assert curves.charged_s[0] == pytest.approx(charged, rel=1e-12)
    recorded = load_curves([run.path], budget=len(queries))
    assert recorded.charged_s[0] == pytest.approx(charged, rel=1e-12)


def _prefix(card: ModelCard, layers: int) -> ModelCard:
    data = card.to_dict()
    return ModelCard.from_dict({"l": layers, **{k: v[:layers] for k, v in data.items() if k != "l"}})


def _seed_time(bench, card, seed) -> float | None:
    try:
        return bench.query(card, seed=seed).pretrain_time_s
    except Exception:  # noqa: BLE001 - seed not measured
        return None
