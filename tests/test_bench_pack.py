"""pack and verify: contents, statuses, hash checks, atomic replacement."""

from __future__ import annotations

import dataclasses
import json
import warnings

import h5py
import numpy as np
import pytest

from flexibench.bench import pack as pack_module
from flexibench.bench.pack import pack
from flexibench.bench.store import TableFile
from flexibench.bench.testing import fixture_library, fixture_records, fixture_table, synthetic_record, write_shard
from flexibench.bench.verify import verify
from flexibench.core import DesignSpace, ModelCard, card_hash
from flexibench.core.errors import DataError
from flexibench.core.record import STATUSES


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return fixture_table(tmp_path_factory.mktemp("pack"))


def test_packed_file_passes_verify_with_full_hash_check(table):
    path, _ = table
    report = verify(path)
    assert report.ok, report.problems
    assert report.records == {"micro": 6, "nano": 84}
    assert report.surrogates == ["nano"]  # micro has 6 cards: too few for a surrogate


def test_archs_rows_match_the_library_then_extras(table):
    path, library = table
    with TableFile(path) as t:
        cards = [ModelCard.from_json(s) for s in t.read("archs/card")]
        assert cards[: len(library.cards)] == library.cards
        assert cards[-1] == ModelCard.named("flexibert-mini")  # measured but outside the library
        assert list(t.read("archs/in_library")) == [True] * len(library.cards) + [False]
        assert list(t.read("archs/hash")) == [card_hash(c) for c in cards]
        np.testing.assert_array_equal(t.read("archs/embedding")[:-1], library.embeddings)
        assert (t.read("archs/neighbours")[-1] == -1).all()
        space = DesignSpace.default()
        assert list(t.read("archs/level")) == [space.level_of(c) for c in cards]
        assert t.read("archs/embedding").dtype == np.float32 and t.read("archs/neighbours").dtype == np.int32


def test_meta_carries_provenance(table):
    path, _ = table
    with TableFile(path) as t:
        assert t.meta["format_version"] == 1
        assert DesignSpace.from_yaml(t.meta["design_space_yaml"]) == DesignSpace.default()
        assert t.meta_json("fidelities")["nano"]["name"] == "nano"
        assert "order" in t.meta_json("ged_cost_model")
        assert "90 records from 1 journal shard" in t.meta["data_sources"] and "worker0.jsonl" in t.meta["data_sources"]
        assert t.meta["created"].endswith("+00:00")
        assert set(t.checksums) >= {"archs/card", "results/nano/score", "surrogate/nano/weights"}


def test_results_keep_failed_records_with_their_status(table):
    path, library = table
    with TableFile(path) as t:
        status = t.read("results/nano/status")
        arch = t.read("results/nano/arch")
        records = [json.loads(s) for s in t.read("results/nano/record")]
        assert sorted(STATUSES[s] for s in status if s) == ["diverged", "failed"]
        assert all(r["card_hash"] == t.read("archs/hash")[a] for r, a in zip(records, arch))
        assert t.attrs("results/nano")["tasks"] == ["mrpc", "sst2"]
        assert np.isnan(t.read("results/nano/task_scores")[status != 0]).all()


def test_record_with_a_wrong_hash_is_refused(tmp_path):
    library_path, library = fixture_table(tmp_path / "lib")
    record = synthetic_record(library.cards[0], 0, hash_="0" * 64)
    shard = write_shard(tmp_path / "s.jsonl", [record])
    with pytest.raises(DataError, match="card_hash does not match"):
        pack([shard], tmp_path / "out.h5", library=library, fit_surrogate=False)
    assert not (tmp_path / "out.h5").exists()


def test_failure_during_pack_leaves_the_old_table_intact(tmp_path, monkeypatch):
    path, library = fixture_table(tmp_path)
    before = path.read_bytes()
    shard = write_shard(tmp_path / "more.jsonl", fixture_records(library)[:10])

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(pack_module, "write_file", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        pack([shard], path, library=library, fit_surrogate=False)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fixture.h5", "more.jsonl"]


def test_pack_replaces_the_old_table_only_after_verify(tmp_path, monkeypatch):
    path, library = fixture_table(tmp_path)
    before = path.read_bytes()
    shard = write_shard(tmp_path / "more.jsonl", fixture_records(library)[:10])
    real_write = pack_module.write_file

    def write_then_damage(tmp, *args, **kwargs):
        real_write(tmp, *args, **kwargs)
        with h5py.File(tmp, "r+") as handle:  # a bad write that HDF5 itself would not notice
            handle["archs/flops"][0] += 1

    monkeypatch.setattr(pack_module, "write_file", write_then_damage)
    with pytest.raises(DataError, match="failed verification"):
        pack([shard], path, library=library, fit_surrogate=False)
    assert path.read_bytes() == before
    monkeypatch.undo()
    report = pack([shard], path, library=library, fit_surrogate=False)
    assert report.records == {"nano": 10} and verify(path).ok


def test_verify_reports_a_tampered_hash(tmp_path):
    path, _ = fixture_table(tmp_path)
    with TableFile(path) as t:
        meta = dict(t.meta)
        datasets = {name: np.array(t.read(name)) for name in t.checksums}
        groups = {g: t.attrs(g) for g in ("results/nano", "results/micro", "surrogate/nano")}
    datasets["archs/hash"][3] = datasets["archs/hash"][4]  # consistent checksums, wrong content
    meta = {k: v for k, v in meta.items() if k not in ("checksums", "attrs_checksum")}
    from flexibench.bench.store import write_file

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_file(tmp_path / "tampered.h5", meta, datasets, groups)
    report = verify(tmp_path / "tampered.h5")
    assert not report.ok
    assert any("row 3" in p and "hash" in p for p in report.problems)


def test_verify_reports_unreadable_files(tmp_path):
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not an hdf5 file")
    report = verify(junk)
    assert not report.ok and "unreadable" in report.problems[0]


def test_pack_refuses_two_recipes_under_one_fidelity(tmp_path):
    """Scores from two budgets are not comparable: one fidelity name must mean one recipe."""
    library = fixture_library(8)
    old, new = (synthetic_record(card, 0) for card in library.cards[:2])
    new = dataclasses.replace(new, recipe={**new.recipe, "steps": 250})
    shard = write_shard(tmp_path / "s.jsonl", [old, new])
    with pytest.raises(DataError, match="different recipes"):
        pack([shard], tmp_path / "t.h5", library=library, fit_surrogate=False)
    assert not (tmp_path / "t.h5").exists()
    described = dataclasses.replace(new, recipe={**old.recipe, "description": "reworded"})
    pack(
        [write_shard(tmp_path / "ok.jsonl", [old, described])], tmp_path / "t.h5", library=library, fit_surrogate=False
    )
