"""``pack --keep-from``: a surrogate is copied from the earlier table exactly when its inputs are unchanged."""

from __future__ import annotations

import copy
import math
import warnings
from dataclasses import replace

import numpy as np
import pytest

from flexibench.bench import load
from flexibench.bench.pack import pack
from flexibench.bench.store import TableFile
from flexibench.bench.testing import fixture_library, synthetic_record, write_shard
from flexibench.core.errors import DataError

OPTIONS = {"epochs": 30, "n_members": 2, "cv_repeats": 1}


def _long(record):
    return replace(record, fidelity="long", score=record.score / 2, recipe={**record.recipe, "name": "long"})


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    library = fixture_library(64)
    root = tmp_path_factory.mktemp("kept")
    nano = [synthetic_record(c, s) for c in library.cards[:40] for s in (0, 1)]
    long = [_long(synthetic_record(c, 0)) for c in library.cards[:14]]
    return library, root, write_shard(root / "nano" / "w.jsonl", nano), write_shard(root / "long" / "w.jsonl", long)


def _pack(paths, out, library, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pack(paths, out, library=library, surrogate_options=kwargs.pop("options", OPTIONS), **kwargs)


def _surrogate(path, fidelity):
    with TableFile(path) as table:
        names = [n for n in table.checksums if n.startswith(f"surrogate/{fidelity}/")]
        return {n: table.checksums[n] for n in names}, table.stored_attrs(f"surrogate/{fidelity}")


def _rebuilt_elsewhere(library):
    """The same library rebuilt on another CPU: an embedding axis flipped, float-rounding jitter."""
    rebuilt = copy.copy(library)
    jitter = np.random.default_rng(1).normal(0, 1e-4, library.embeddings.shape)
    rebuilt.embeddings = (library.embeddings * np.where(np.arange(library.dim) == 0, -1, 1) + jitter).astype(np.float32)
    return rebuilt


def test_adding_a_fidelity_keeps_the_other_fidelitys_surrogate_bit_for_bit(shards, tmp_path) -> None:
    library, _, nano, long = shards
    old = tmp_path / "old.h5"
    first = _pack([nano], old, library)
    assert first.kept == [] and not first.kept_library
    new = tmp_path / "new.h5"
    report = _pack([nano, long], new, _rebuilt_elsewhere(library), keep_from=old)
    assert report.kept_library  # same rows, same GED costs: the stored embedding, not the rebuilt one
    assert report.kept == ["nano"]  # long is new, so it is fitted (reading nano's kept scores as its prior)
    assert _surrogate(new, "nano") == _surrogate(old, "nano")
    with TableFile(old) as a, TableFile(new) as b:
        assert all(a.checksums[f"archs/{c}"] == b.checksums[f"archs/{c}"] for c in ("embedding", "neighbours"))
    assert report.surrogates["long"]["prior"] == "nano"
    before, after = load(old), load(new)
    for card in library.cards[40:50]:  # unmeasured: answered by the surrogate, the same answer as before
        assert after.query(card).score == before.query(card).score
        assert math.isfinite(after.query(card, "long").score)
    again = _pack([nano, long], new, library, keep_from=new)  # keep_from may be the output itself
    assert again.kept == ["nano", "long"]
    refit = _pack([nano, long], tmp_path / "refit.h5", _rebuilt_elsewhere(library))  # without keep_from
    assert not refit.kept_library and refit.kept == []
    assert _surrogate(tmp_path / "refit.h5", "nano") != _surrogate(old, "nano")


def test_a_changed_input_refits_that_fidelity_and_what_reads_it(shards, tmp_path) -> None:
    library, root, nano, long = shards
    old = tmp_path / "old.h5"
    _pack([nano, long], old, library)
    records = [synthetic_record(c, s) for c in library.cards[:40] for s in (0, 1)]
    records[0] = replace(records[0], score=records[0].score + 1.0)  # one measurement differs
    changed = write_shard(root / "changed" / "w.jsonl", records)
    report = _pack([changed, long], tmp_path / "new.h5", library, keep_from=old)
    assert report.kept == []  # nano refitted; long reads nano's scores, which changed, so it is refitted too
    other_options = {**OPTIONS, "epochs": 31}
    assert _pack([nano, long], tmp_path / "opt.h5", library, keep_from=old, options=other_options).kept == []
    other_split = {**OPTIONS, "split_seed": 1}
    assert _pack([nano, long], tmp_path / "split.h5", library, keep_from=old, options=other_split).kept == []


def test_a_damaged_earlier_table_is_refused_before_anything_is_written(shards, tmp_path) -> None:
    library, _, nano, _ = shards
    out = tmp_path / "out.h5"
    _pack([nano], out, library)
    stamp = out.read_bytes()
    damaged = tmp_path / "damaged.h5"
    damaged.write_bytes(stamp[: len(stamp) // 2])
    with pytest.raises(DataError, match="damaged.h5"):
        _pack([nano], out, library, keep_from=damaged)
    assert out.read_bytes() == stamp
    assert np.isfinite(load(out).query(library.cards[50]).score)
