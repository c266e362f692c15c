"""The record schema on read (pack, resume, reader) and on write (non-finite numbers, short writes).

``_tampered_shard`` and ``SHORT_WRITE`` also serve tests/measure_hardening.py, which runs on older
checkouts too: this module imports nothing at its top that they lack.
"""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
import zlib

import pytest

from flexibench.bench import JournalWriter, read_shard, read_shards
from flexibench.bench.pack import pack
from flexibench.bench.testing import fixture_library, synthetic_record
from flexibench.core import ModelCard
from flexibench.core.errors import DataError

CARD = ModelCard.named("bert-tiny")
CURVE = {"steps": [50, 100], "loss": [6.5, 6.0], "accuracy": [3.0, 5.0], "tokens_per_step": 2048}


def _tampered_shard(path, field, value, seeds=(0, 1, 2), line=2):
    """A shard whose record on ``line`` has ``field`` set to ``value`` and a checksum that matches it."""
    with JournalWriter(path) as writer:
        for seed in seeds:
            writer.append(synthetic_record(CARD, seed))
    lines = path.read_text().splitlines()
    rec = json.loads(lines[line - 1])["rec"]
    rec[field] = value
    payload = json.dumps(rec, sort_keys=True, separators=(",", ":"), allow_nan=False)
    lines[line - 1] = json.dumps({"crc": zlib.crc32(payload.encode()), "rec": rec})
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("score", "99.5"),  # a string
        ("score", -50),  # below 0 for a score with no correlation task
        ("score", 1e308),
        ("score", "abc"),
        ("tokens_seen", None),
        ("tokens_seen", 1.5),
        ("task_scores", [1, 2]),
        ("task_scores", {"sst2": 101.0}),
        ("seed", True),  # would merge with seed 1
        ("seed", 1.0),
        ("status", "OK"),
        ("pretrain_loss", -1.0),
        ("pretrain_time_s", "3"),
        ("cpu_time_s", -1.0),
        ("cpu_time_s", "12"),
        ("fidelity", "nano/../x"),
        ("card_hash", 12),
        ("card", {"l": 2}),
        ("surprise", 1),
        ("heldout", [1, 2]),
        ("heldout", {**CURVE, "steps": [100, 50]}),  # not increasing
        ("heldout", {**CURVE, "steps": [50, True]}),
        ("heldout", {**CURVE, "steps": [0, 50]}),
        ("heldout", {**CURVE, "loss": [1.0]}),  # one loss for two steps
        ("heldout", {**CURVE, "loss": [1.0, -0.5]}),
        ("heldout", {**CURVE, "accuracy": [1.0, 100.5]}),
        ("heldout", {**CURVE, "tokens_per_step": 1.5}),
        ("heldout", {k: v for k, v in CURVE.items() if k != "tokens_per_step"}),
    ],
)
def test_a_record_that_breaks_the_schema_is_refused_with_file_and_line(tmp_path, field, value):
    shard = _tampered_shard(tmp_path / "s.jsonl", field, value)
    with pytest.raises(DataError, match=r"s\.jsonl, line 2: record refused by the schema") as info:
        list(read_shard(shard))
    assert field in str(info.value) and "allowed" in str(info.value)
    with pytest.raises(DataError, match="line 2"):
        read_shards([tmp_path])  # what pack and a resuming sweep read through
    with pytest.raises(DataError, match="line 2"):
        pack([shard], tmp_path / "out.h5", library=fixture_library(8), fit_surrogate=False)
    assert not (tmp_path / "out.h5").exists()


def test_a_failed_record_has_no_score_and_correlations_may_be_negative():
    from flexibench.core.record_schema import RecordError, check_record

    good = json.loads(synthetic_record(CARD, 0, tasks=("CoLA",)).to_json())
    check_record({**good, "score": -20.0, "task_scores": {"CoLA": -20.0}})
    with pytest.raises(RecordError, match="task_scores"):
        check_record({**good, "task_scores": {"SST-2": -20.0}})
    with pytest.raises(RecordError, match="score"):
        check_record({**json.loads(synthetic_record(CARD, 0, status="failed").to_json()), "score": 50.0})


def test_signed_tasks_are_the_correlation_metrics():
    from flexibench.core.record_schema import SIGNED_TASKS, is_signed_task
    from flexibench.core.tasks import GLUE_TASKS

    signed = {name for name, spec in GLUE_TASKS.items() if spec.metric in ("mcc", "pearson", "spearman")}
    assert {t for t in GLUE_TASKS if is_signed_task(t)} == signed and len(signed) == len(SIGNED_TASKS)


def test_non_finite_numbers_are_stored_as_null_never_an_exception(tmp_path):
    base = synthetic_record(CARD, 0)
    metrics_only = dataclasses.replace(base, task_metrics={"MLM": {"perplexity": math.inf, "loss": 1.0}})
    inf_score = dataclasses.replace(base, seed=1, score=math.inf, task_scores={"sst2": -math.inf})
    shard = tmp_path / "s.jsonl"
    with JournalWriter(shard) as writer:
        writer.append(metrics_only)
        writer.append(inf_score)
    first, second = read_shard(shard)
    assert first.status == "ok" and math.isnan(first.task_metrics["MLM"]["perplexity"])
    assert second.status == "diverged" and math.isnan(second.score) and "non-finite score" in second.error
    assert '"perplexity":null' in shard.read_text()


def test_run_one_journals_an_infinite_record_without_raising(tmp_path, monkeypatch):
    from flexibench.train import evaluate as evaluate_module
    from flexibench.train.runners import Job, run_one

    diverging = dataclasses.replace(synthetic_record(CARD, 0), pretrain_loss=math.inf)
    monkeypatch.setattr(evaluate_module, "evaluate", lambda *args, **kwargs: diverging)
    job = Job(CARD.to_dict(), {"name": "nano"}, 0, shard=str(tmp_path / "s.jsonl"))
    run_one(job)
    (record,) = read_shard(tmp_path / "s.jsonl")
    assert record.status == "diverged" and math.isnan(record.pretrain_loss)


SHORT_WRITE = r"""
import resource, sys
from flexibench.bench import JournalWriter, read_shard
from flexibench.bench.testing import synthetic_record
from flexibench.core.errors import DataError
from flexibench.core import ModelCard

card, path = ModelCard.named("bert-tiny"), sys.argv[1]
writer = JournalWriter(path)  # one long-lived writer, as the Ray driver keeps
writer.append(synthetic_record(card, 0))
size = len(open(path, "rb").read())
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (size + 100, hard))  # a full disk 100 bytes into the next line
try:
    writer.append(synthetic_record(card, 1))
    print("no error")
except DataError as exc:
    print("error:", exc)
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # space again
writer.append(synthetic_record(card, 2))
writer.close()
try:
    print("seeds", [r.seed for r in read_shard(path)])
except DataError as exc:
    print("refused:", exc)
"""


def test_a_short_write_raises_and_the_next_append_starts_a_fresh_line(tmp_path):
    shard = tmp_path / "s.jsonl"
    done = subprocess.run([sys.executable, "-c", SHORT_WRITE, str(shard)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout.splitlines()
    assert out[0].startswith("error:") and "record not written" in out[0] and "removed" in out[0]
    assert out[1] == "seeds [0, 2]" and "warn" not in done.stderr.lower()
    assert shard.read_bytes().count(b"\n") == 2 and shard.read_bytes().endswith(b"\n")


def test_run_one_turns_a_record_the_schema_refuses_into_a_failed_record(tmp_path, monkeypatch):
    from flexibench.train import evaluate as evaluate_module
    from flexibench.train.runners import Job, run_one

    worse_than_uniform = dataclasses.replace(synthetic_record(CARD, 0), score=-5.0, task_scores={"MLM": -5.0})
    monkeypatch.setattr(evaluate_module, "evaluate", lambda *args, **kwargs: worse_than_uniform)
    job = Job(CARD.to_dict(), {"name": "my recipe"}, 0, shard=str(tmp_path / "s.jsonl"))  # a name with a space
    returned = run_one(job)
    (record,) = read_shard(tmp_path / "s.jsonl")
    assert returned.status == record.status == "failed" and "broke the record schema" in record.error
    assert record.fidelity == "my recipe"


def test_a_heldout_curve_is_stored_typed_and_never_twice(tmp_path):
    from flexibench.core.heldout import HeldoutCurve
    from flexibench.core.record_schema import RecordError, check_record

    curve = HeldoutCurve((50, 100), (math.inf, 6.0), (3.0, math.nan), 2048)
    record = dataclasses.replace(synthetic_record(CARD, 0), heldout=curve)
    with JournalWriter(tmp_path / "s.jsonl") as writer:
        writer.append(record)
    assert (
        '"heldout":{"accuracy":[3.0,null],"loss":[null,6.0],"steps":[50,100],"tokens_per_step":2048}'
        in (tmp_path / "s.jsonl").read_text()
    )
    (back,) = read_shard(tmp_path / "s.jsonl")
    assert back.heldout.steps == (50, 100) and back.heldout.loss[1] == 6.0 and back.heldout.tokens == (102400, 204800)
    assert math.isnan(back.heldout.loss[0]) and math.isnan(back.heldout.accuracy[1])
    both = json.loads(record.to_json())
    both["task_metrics"] = {"MLM": {"loss": 6.0, "loss@50": 6.5}}
    with pytest.raises(RecordError, match=r"task_metrics\['MLM'\]\['loss@50'\].*beside heldout"):
        check_record(both)
