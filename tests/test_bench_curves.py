"""Budgets and learning curves: stored as one array per fidelity, answered measured or from the surrogate."""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
import zlib

import numpy as np
import pytest

import flexibench
from flexibench.bench import QueryError, load
from flexibench.bench.curves import curve_column, record_curve
from flexibench.bench.journal import expand_shard_paths, read_shard, read_shards
from flexibench.bench.pack import pack
from flexibench.bench.testing import fixture_library, fixture_table, write_shard
from flexibench.bench.verify import verify
from flexibench.core import ModelCard, card_hash
from flexibench.core.heldout import HeldoutCurve
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


def mlm_losses(card: ModelCard, seed: int, lost: int = 0) -> dict[int, float]:
    """The held-out losses :func:`mlm_record` stores: every 50 steps (``lost`` drops the last k checkpoints)."""
    rng = np.random.default_rng([seed, sum(card.h), card.l])
    base = 5.0 - 0.3 * card.l + 0.001 * sum(card.h) + 0.05 * rng.standard_normal()
    return {k: base + 1.5 * (1 - k / 200) ** 2 + 0.02 * rng.standard_normal() for k in STEPS[: len(STEPS) - lost]}


def mlm_record(card: ModelCard, seed: int, lost: int = 0) -> ResultRecord:
    """A record shaped like nano's: held-out loss at every 50 steps, score from the last (``lost`` drops the last k)."""
    losses = mlm_losses(card, seed, lost)
    score = mlm_score(losses[200], VOCAB) if 200 in losses else math.nan
    curve = HeldoutCurve(tuple(losses), tuple(losses.values()), tuple(10.0 + v for v in losses.values()), 32 * 64)
    return ResultRecord(
        card=card.to_dict(),
        card_hash=card_hash(card),
        fidelity="nano",
        seed=seed,
        status="ok" if 200 in losses else "diverged",
        score=score,
        task_scores={"MLM": score} if 200 in losses else {},
        task_metrics={"MLM": {"loss": losses.get(200, math.nan)}},
        heldout=curve,
        pretrain_time_s=20.0 + card.l + seed,
        recipe=RECIPE,
    )


def legacy_line(record: ResultRecord) -> str:
    """The journal line the harness wrote before the ``heldout`` field: the curve as ``loss@k`` / ``accuracy@k``."""
    rec = json.loads(record.to_json())
    curve = rec.pop("heldout")
    mlm = rec["task_metrics"]["MLM"]
    mlm.update({f"loss@{k}": v for k, v in zip(curve["steps"], curve["loss"])})
    mlm.update({f"accuracy@{k}": v for k, v in zip(curve["steps"], curve["accuracy"])})
    payload = json.dumps(rec, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return json.dumps({"crc": zlib.crc32(payload.encode()), "rec": rec}) + "\n"


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
    tiny = ModelCard.named("bert-tiny")
    record = mlm_record(tiny, 0)
    curve = record_curve(record)
    assert sorted(curve) == list(STEPS)
    assert curve[100] == mlm_score(mlm_losses(tiny, 0)[100], VOCAB)
    assert curve[200] == record.score  # the last checkpoint is the record's score, to the bit
    finetuned = dataclasses.replace(record, recipe={**RECIPE, "scored": ["MLM", "sst2"]})
    assert record_curve(finetuned) == {}  # a fine-tuned task keeps no checkpoints: no curve
    assert record_curve(ResultRecord(card={}, card_hash="x", fidelity="f", seed=0)) == {}
    values, budgets = curve_column([record, mlm_record(ModelCard.named("bert-mini"), 0, lost=1)])
    assert budgets == list(STEPS) and values.shape == (2, 4) and math.isnan(values[1, 3])


def test_query_at_a_budget_is_the_seed_mean_of_that_checkpoint(curved) -> None:
    bench, records, library = curved
    card = library.cards[3]
    mine = [r for r in records if r.card == card.to_dict()]
    result = bench.query(card, budget=100)
    expected = np.mean([mlm_score(mlm_losses(card, r.seed)[100], VOCAB) for r in mine])
    assert result.score == pytest.approx(expected, abs=1e-12)
    assert (result.budget, result.budget_unit, result.source, result.n_seeds) == (100, "steps", "table", 2)
    assert result.pretrain_time_s == pytest.approx(bench.query(card).pretrain_time_s / 2)
    assert result.task_scores == {}
    final = bench.query(card, budget=200)
    assert final == bench.query(card) and final.budget == 200 and final.task_scores["MLM"] == final.score
    one = bench.query(card, seed=1, budget=50)
    assert one.score == mlm_score(mlm_losses(card, 1)[50], VOCAB) and one.seed == 1
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
    expected = np.mean([mlm_score(dict(zip(r.heldout.steps, r.heldout.loss))[100], vocab) for r in records])
    result = bench.query("bert-tiny", budget=100)
    assert result.score == pytest.approx(expected, abs=1e-12) and result.n_seeds == len(records)
    assert (result.budget, result.budget_unit) == (100, "steps")
    assert bench.query("bert-tiny", budget=200) == bench.query("bert-tiny")


def test_committed_shards_read_their_loss_at_k_metrics_as_the_typed_curve() -> None:
    """Every record of the repository's shards gets its curve on read: from loss@k keys if older, as written if not."""
    from flexibench.bench.journal import RESULT_KIND, shard_kind
    from flexibench.resources import data_file

    shards = [path for path in expand_shard_paths([data_file("shards")]) if shard_kind(path) == RESULT_KIND]
    curved = 0
    for path in shards:
        raw = [json.loads(line)["rec"] for line in path.read_text().splitlines() if line.strip()]
        for rec, record in zip(raw, read_shard(path), strict=True):
            mlm = dict(rec["task_metrics"].get("MLM", {}))
            old = {key: mlm.pop(key) for key in list(mlm) if "@" in key}
            assert record.task_metrics.get("MLM", {}) == {k: math.nan if v is None else v for k, v in mlm.items()}
            if isinstance(rec.get("heldout"), dict):  # written with the field: read back as written
                assert not old and record.heldout == HeldoutCurve.from_dict(rec["heldout"])
                continue
            if not old:
                assert record.heldout is None
                continue
            curved += 1
            steps = sorted(int(key.split("@")[1]) for key in old if key.startswith("loss@"))
            assert list(record.heldout.steps) == steps
            assert list(record.heldout.loss) == [old[f"loss@{k}"] for k in steps]
            assert list(record.heldout.accuracy) == [old[f"accuracy@{k}"] for k in steps]
            pretrain = rec["recipe"]["pretrain"]
            assert record.heldout.tokens_per_step == pretrain["batch_size"] * pretrain["seq_len"]
    assert curved >= 400  # nano's 493 records all keep a curve


def _table_contents(path) -> dict:
    """Every dataset and attribute of a packed table, but the /meta attributes that name when it was made."""
    import h5py

    out: dict = {}

    def add(name: str, item) -> None:  # noqa: ANN001
        if isinstance(item, h5py.Dataset):
            out[name] = item[()]
        out.update({f"{name}@{key}": value for key, value in item.attrs.items()})

    with h5py.File(path, "r") as handle:
        handle.visititems(add)
    out.pop("meta@created")
    out.pop("meta@attrs_checksum")  # covers the creation time: two packs a second apart differ in it alone

    return out


def test_old_format_shards_pack_to_the_table_of_the_typed_curve(tmp_path) -> None:
    """A shard in the old ``loss@k`` form and one with the field, same measurements: one and the same table."""
    library = fixture_library(24)
    records = [mlm_record(c, s) for c in library.cards[:10] for s in (0, 1)]
    records.append(mlm_record(library.cards[10], 0, lost=2))  # diverged after 100 steps
    (tmp_path / "old").mkdir()
    old = tmp_path / "old" / "shard.jsonl"
    old.write_text("".join(legacy_line(r) for r in records))
    new = write_shard(tmp_path / "new" / "shard.jsonl", records)
    assert read_shards([old]) == read_shards([new]) == records
    tables = []
    for shard in (old, new):
        out = shard.parent / "table.h5"
        pack([shard], out, library=library, fit_surrogate=False)
        tables.append(_table_contents(out))
    assert tables[0].keys() == tables[1].keys() and "results/nano/curve" in tables[0]
    for key, value in tables[0].items():
        other = tables[1][key]
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            assert np.array_equal(value, other, equal_nan=True), key
        else:
            assert np.array_equal(value, other), key
    expected = [[mlm_score(mlm_losses(c, s)[k], VOCAB) for k in STEPS] for c in library.cards[:10] for s in (0, 1)]
    assert np.allclose(tables[0]["results/nano/curve"][:20], expected, rtol=0, atol=1e-12)
