"""Budgets and learning curves: stored as one array per fidelity, answered measured or from the surrogate."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

import flexibench
from flexibench.bench import QueryError, load
from flexibench.bench.curves import curve_column, record_curve
from flexibench.bench.journal import expand_shard_paths, read_shards
from flexibench.bench.pack import pack
from flexibench.bench.testing import fixture_library, fixture_table, write_shard
from flexibench.bench.verify import verify
from flexibench.core import ModelCard, card_hash
from flexibench.core.record import ResultRecord
from flexibench.core.tasks import mlm_score

STEPS = (50, 100, 150, 200)
VOCAB = 1000
RECIPE = {
    "name": "nano",
    "tasks": {},
    "scored": ["MLM"],
    "vocab_size": VOCAB,
    "pretrain": {"steps": 200, "heldout_every": 50, "batch_size": 32, "seq_len": 64},
}


def mlm_record(card: ModelCard, seed: int, lost: int = 0) -> ResultRecord:
    """A record shaped like nano's: held-out loss at every 50 steps, score from the last (``lost`` drops the last k)."""
    rng = np.random.default_rng([seed, sum(card.h), card.l])
    base = 5.0 - 0.3 * card.l + 0.001 * sum(card.h) + 0.05 * rng.standard_normal()
    losses = {k: base + 1.5 * (1 - k / 200) ** 2 + 0.02 * rng.standard_normal() for k in STEPS[: len(STEPS) - lost]}
    score = mlm_score(losses[200], VOCAB) if 200 in losses else math.nan
    metrics = {"loss": losses.get(200, math.nan), **{f"loss@{k}": v for k, v in losses.items()}}
    return ResultRecord(
        card=card.to_dict(),
        card_hash=card_hash(card),
        fidelity="nano",
        seed=seed,
        status="ok" if 200 in losses else "diverged",
        score=score,
        task_scores={"MLM": score} if 200 in losses else {},
        task_metrics={"MLM": metrics},
        pretrain_time_s=20.0 + card.l + seed,
        recipe=RECIPE,
    )


@pytest.fixture(scope="module")
def curved(tmp_path_factory):
    """A packed table whose records carry learning curves (30 measured cards of 48, one diverged run)."""
    root = tmp_path_factory.mktemp("curves")
    library = fixture_library(48)
    records = [mlm_record(c, s) for c in library.cards[:30] for s in (0, 1)]
    records.append(mlm_record(library.cards[30], 0, lost=2))
    shard = write_shard(root / "shard.jsonl", records)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pack([shard], root / "table.h5", library=library, surrogate_options={"epochs": 40, "cv_folds": 0})
    return load(root / "table.h5"), records, library


def test_record_curve_reads_checkpoints_with_the_harness_score() -> None:
    record = mlm_record(ModelCard.named("bert-tiny"), 0)
    curve = record_curve(record)
    assert sorted(curve) == list(STEPS)
    assert curve[100] == mlm_score(record.task_metrics["MLM"]["loss@100"], VOCAB)
    assert curve[200] == record.score  # the last checkpoint is the record's score, to the bit
    scored = ResultRecord(
        card={}, card_hash="x", fidelity="f", seed=0, recipe={"scored": ["a"]}, task_metrics={"a": {"score@10": 1.5}}
    )
    assert record_curve(scored) == {10: 1.5}
    assert record_curve(ResultRecord(card={}, card_hash="x", fidelity="f", seed=0)) == {}
    values, budgets = curve_column([record, mlm_record(ModelCard.named("bert-mini"), 0, lost=1)])
    assert budgets == list(STEPS) and values.shape == (2, 4) and math.isnan(values[1, 3])


def test_query_at_a_budget_is_the_seed_mean_of_that_checkpoint(curved) -> None:
    bench, records, library = curved
    card = library.cards[3]
    mine = [r for r in records if r.card == card.to_dict()]
    result = bench.query(card, budget=100)
    expected = np.mean([mlm_score(r.task_metrics["MLM"]["loss@100"], VOCAB) for r in mine])
    assert result.score == pytest.approx(expected, abs=1e-12)
    assert (result.budget, result.budget_unit, result.source, result.n_seeds) == (100, "steps", "table", 2)
    assert result.pretrain_time_s == pytest.approx(bench.query(card).pretrain_time_s / 2)
    assert result.task_scores == {}
    final = bench.query(card, budget=200)
    assert final == bench.query(card) and final.budget == 200 and final.task_scores["MLM"] == final.score
    one = bench.query(card, seed=1, budget=50)
    assert one.score == mlm_score(mine[1].task_metrics["MLM"]["loss@50"], VOCAB) and one.seed == 1
    assert bench.budgets() == (list(STEPS), "steps")
    with pytest.raises(QueryError, match=r"recorded: \[50, 100, 150, 200\] \(steps\)"):
        bench.query(card, budget=75)


def test_unmeasured_cards_answer_at_every_checkpoint_from_the_surrogate(curved) -> None:
    bench, _, library = curved
    card = library.cards[40]
    for j, budget in enumerate(STEPS):
        result = bench.query(card, budget=budget)
        assert result.source == "surrogate" and result.budget == budget
        assert result.score == pytest.approx(float(bench._table.read("surrogate/nano/curve_mean")[40, j]))
    assert bench.query(card, budget=200).score == bench.query(card).score
    taus = bench.info()["fidelities"]["nano"]["surrogate"]["curve_kendall_tau"]
    assert len(taus) == 4 and taus[-1] is None  # the last checkpoint is the final surrogate's
    with pytest.raises(QueryError, match="only its final score"):
        bench.query(ModelCard.named("flexibert-mini"), budget=50)  # level 2: no row, no curve prediction


def test_learning_curve_round_trips_with_query(curved) -> None:
    bench, _, library = curved
    for card in (library.cards[3], library.cards[40]):
        curve = bench.learning_curve(card)
        assert curve.unit == "steps" and curve.budgets.tolist() == list(STEPS)
        assert curve.tokens.tolist() == [k * 32 * 64 for k in STEPS]
        for budget, score, std in zip(curve.budgets, curve.scores, curve.score_std):
            answer = bench.query(card, budget=int(budget))
            assert (score, std) == pytest.approx((answer.score, answer.score_std))
            assert curve.source == answer.source
        assert json.loads(json.dumps(curve.to_dict()))["budgets"] == list(STEPS)
    diverged = bench.learning_curve(library.cards[30])  # its only record stopped after 100 steps: not measured
    assert diverged.source == "surrogate"


def test_curves_verify_and_older_tables_still_load(curved, tmp_path) -> None:
    bench, _, _ = curved
    assert verify(bench.path).ok
    old, _ = fixture_table(tmp_path)  # records without checkpoints: no curve dataset, as tables before it
    with load(old) as plain:
        assert plain.budgets() == ([], None)
        result = plain.query("bert-tiny")
        assert result.budget is None and result.budget_unit is None
        with pytest.raises(QueryError, match="no learning curve"):
            plain.query("bert-tiny", budget=50)
        with pytest.raises(QueryError, match="no learning curve"):
            plain.learning_curve("bert-tiny")
    assert verify(old).ok


def test_packaged_table_answers_bert_tiny_at_step_100_as_its_records_do() -> None:
    from flexibench.resources import data_file

    bench = flexibench.load(data_file("flexibench.h5"))
    if not bench.budgets()[0]:
        pytest.skip("the packaged table predates learning curves")
    tiny = ModelCard.named("bert-tiny").to_dict()
    shards = read_shards(expand_shard_paths([data_file("shards", "nano")]))
    records = [r for r in shards if r.card == tiny and r.status == "ok"]
    vocab = records[0].recipe["vocab_size"]
    expected = np.mean([mlm_score(r.task_metrics["MLM"]["loss@100"], vocab) for r in records])
    result = bench.query("bert-tiny", budget=100)
    assert result.score == pytest.approx(expected, abs=1e-12) and result.n_seeds == len(records)
    assert (result.budget, result.budget_unit) == (100, "steps")
    assert bench.query("bert-tiny", budget=200) == bench.query("bert-tiny")
