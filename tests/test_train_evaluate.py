"""Masking, one full evaluation on tiny data, divergence handling and weight transfer."""

from __future__ import annotations

import math

import torch
from test_train_fixtures import data_dir, tiny_recipe  # noqa: F401 - pytest fixture

from flexibench.bench.journal import read_shard
from flexibench.core import ModelCard, card_hash
from flexibench.models import FlexiBERTForMaskedLM, save_model
from flexibench.train.evaluate import evaluate
from flexibench.train.pretrain import IGNORE_INDEX, mask_tokens
from flexibench.train.runners import Job, run_local

torch.set_num_threads(1)


def test_dynamic_masking_rates_and_specials() -> None:
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 1000, (200, 128))
    ids[:, 0], ids[:, -1] = 2, 3  # [CLS] ... [SEP]
    special = torch.arange(5)
    inputs, labels = mask_tokens(ids, 4, 1000, special, gen)
    chosen = labels != IGNORE_INDEX
    assert abs(chosen.float().mean().item() - 0.15 * 126 / 128) < 0.01
    assert not chosen[:, 0].any() and not chosen[:, -1].any()
    assert torch.equal(labels[chosen], ids[chosen])
    masked = (inputs == 4) & chosen
    kept = (inputs == ids) & chosen
    assert abs(masked.sum().item() / chosen.sum().item() - 0.8) < 0.02
    assert abs(kept.sum().item() / chosen.sum().item() - 0.1) < 0.02  # ~10% unchanged (+ rare random = same)
    assert (inputs[chosen & ~masked] >= 5).all()  # random replacements are never special tokens
    again, _ = mask_tokens(ids, 4, 1000, special, torch.Generator().manual_seed(1))
    assert not torch.equal(again, inputs)  # dynamic: a new mask each draw


def test_evaluate_end_to_end(data_dir) -> None:  # noqa: F811
    record = evaluate("bert-tiny", tiny_recipe(), seed=0, data_dir=data_dir, device="cpu")
    assert record.status == "ok", record.error
    assert record.card_hash == card_hash(ModelCard.named("bert-tiny")) and record.fidelity == "tiny"
    assert 0 <= record.task_scores["SST-2"] <= 100 and record.score == record.task_scores["SST-2"]
    assert math.isnan(record.task_scores["QNLI"]) and record.splits["QNLI"]["status"] == "not run"
    split = record.splits["SST-2"]
    assert split["n_val"] <= 40 and split["n_test"] == 80 and "hash" in split["val"]
    assert record.tokens_seen == 3 * 4 * 16 and math.isfinite(record.pretrain_loss)
    assert record.params > 0 and record.versions["torch"] == torch.__version__ and record.recipe["name"] == "tiny"
    again = evaluate("bert-tiny", tiny_recipe(), seed=0, data_dir=data_dir, device="cpu")
    assert again.task_scores == record.task_scores and again.pretrain_loss == record.pretrain_loss


def test_exploding_loss_is_diverged_and_the_sweep_goes_on(data_dir, tmp_path) -> None:  # noqa: F811
    shard = tmp_path / "out" / "s.jsonl"
    card = ModelCard.named("bert-tiny").to_dict()
    jobs = [
        Job(card, tiny_recipe("boom", lr=1e5, steps=6), 0, str(data_dir), str(shard)),
        Job(card, tiny_recipe("calm"), 0, str(data_dir), str(shard)),
    ]
    records = list(run_local(jobs, workers=1, progress=False))
    assert [r.status for r in records] == ["diverged", "ok"]
    assert "diverged at step" in records[0].error and math.isnan(records[0].score)
    assert [r.status for r in read_shard(shard)] == ["diverged", "ok"]


def test_bad_card_becomes_failed_record(data_dir, tmp_path) -> None:  # noqa: F811
    job = Job({"l": 1, "o": ["XX"], "h": [128], "n": [2], "f": [[64]], "p": ["SDP"]}, tiny_recipe(), 0, str(data_dir))
    (record,) = run_local([job], progress=False)
    assert record.status == "failed" and "o[0]" in record.error and record.card_hash == "invalid"


def test_transfer_from_saved_neighbour(data_dir, tmp_path) -> None:  # noqa: F811
    source = FlexiBERTForMaskedLM.from_card("bert-tiny", 120, seed=1, max_len=16)
    save_model(source, tmp_path / "src")
    record = evaluate("bert-4-128", tiny_recipe(), 0, data_dir=data_dir, transfer_from=tmp_path / "src")
    assert record.status == "ok", record.error
    assert record.transfer_source == card_hash(ModelCard.named("bert-tiny"))
