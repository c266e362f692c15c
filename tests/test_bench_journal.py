"""Journal shards: torn lines, corruption, duplicates, concurrent writers."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing

import pytest

from flexibench.bench import JournalWriter, ResultRecord, read_shard, read_shards
from flexibench.bench.journal import JournalWarning
from flexibench.bench.testing import append_records, synthetic_record
from flexibench.core import ModelCard
from flexibench.core.errors import DataError

CARD = ModelCard.named("bert-tiny")


def _records(n: int) -> list[ResultRecord]:
    return [synthetic_record(CARD, seed) for seed in range(n)]


def test_round_trip_keeps_every_field(tmp_path):
    shard = tmp_path / "a.jsonl"
    records = _records(3) + [synthetic_record(CARD, 9, status="diverged")]
    with JournalWriter(shard) as writer:
        for record in records:
            writer.append(record)
    back = list(read_shard(shard))
    assert [r.to_json() for r in back] == [r.to_json() for r in records]
    assert back[-1].status == "diverged"


def test_torn_last_line_warns_and_keeps_the_other_records(tmp_path):
    shard = tmp_path / "torn.jsonl"
    with JournalWriter(shard) as writer:
        for record in _records(3):
            writer.append(record)
    full = shard.read_bytes()
    last_line = full[:-1].rfind(b"\n") + 1
    shard.write_bytes(full[: last_line + 40])  # the writer died 40 bytes into the third record
    with pytest.warns(JournalWarning, match="torn"):
        back = list(read_shard(shard))
    assert [r.seed for r in back] == [0, 1]


def test_reopening_a_torn_shard_moves_the_tail_aside(tmp_path):
    shard = tmp_path / "torn.jsonl"
    with JournalWriter(shard) as writer:
        writer.append(synthetic_record(CARD, 0))
    shard.write_bytes(shard.read_bytes() + b'{"crc":1,"rec":{"ca')
    with pytest.warns(JournalWarning, match="moved a torn last line"), JournalWriter(shard) as writer:
        writer.append(synthetic_record(CARD, 1))
    assert [r.seed for r in read_shard(shard)] == [0, 1]
    assert (tmp_path / "torn.jsonl.torn").read_bytes().startswith(b'{"crc":1')


def test_corrupt_middle_line_is_a_data_error(tmp_path):
    shard = tmp_path / "bad.jsonl"
    with JournalWriter(shard) as writer:
        for record in _records(3):
            writer.append(record)
    lines = shard.read_bytes().split(b"\n")
    entry = json.loads(lines[1])
    entry["rec"]["score"] = entry["rec"]["score"] + 1.0  # a changed number with the old checksum
    lines[1] = json.dumps(entry).encode()
    shard.write_bytes(b"\n".join(lines))
    with pytest.raises(DataError, match="line 2"):
        list(read_shard(shard))


def test_identical_duplicates_are_dropped_with_a_count(tmp_path):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    with JournalWriter(first) as writer:
        writer.append(synthetic_record(CARD, 0))
    with JournalWriter(second) as writer:
        writer.append(synthetic_record(CARD, 0))
        writer.append(synthetic_record(CARD, 1))
        writer.append(synthetic_record(CARD, 1))
    with pytest.warns(JournalWarning, match="dropped 2 identical duplicate"):
        records = read_shards([tmp_path])
    assert sorted(r.seed for r in records) == [0, 1]


def test_conflicting_duplicates_name_both_lines(tmp_path):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    with JournalWriter(first) as writer:
        writer.append(synthetic_record(CARD, 1))
        writer.append(synthetic_record(CARD, 0))
    changed = dataclasses.replace(synthetic_record(CARD, 0), score=99.0)  # a copy with a different score, read first
    with JournalWriter(second) as writer:
        writer.append(changed)
    with pytest.raises(DataError, match=r"a\.jsonl, line 2 and .*b\.jsonl, line 1 differ in \['score'\]"):
        read_shards([first, second])
    with pytest.raises(DataError, match="conflicting"):
        read_shards([second, first])  # whichever comes first in file order


@pytest.mark.parametrize("shared", [True, False], ids=["one-shard", "separate-shards"])
def test_four_concurrent_writers_lose_nothing(tmp_path, shared):
    writers, count = 4, 40
    paths = [tmp_path / ("shared.jsonl" if shared else f"worker{w}.jsonl") for w in range(writers)]
    context = multiprocessing.get_context("fork")  # the workers touch only the journal, never torch
    procs = [context.Process(target=append_records, args=(paths[w], w, count)) for w in range(writers)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
        assert proc.exitcode == 0
    records = read_shards([tmp_path])
    assert len(records) == writers * count
    assert sorted(r.seed for r in records) == sorted(w * 100_000 + i for w in range(writers) for i in range(count))
    lines = sum(p.read_bytes().count(b"\n") for p in set(paths))
    assert lines == writers * count  # every record on its own line: no interleaved writes
