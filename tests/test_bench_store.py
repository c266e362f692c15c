"""The HDF5 store: checksums, corrupted and truncated files, atomic replacement."""

from __future__ import annotations

import hashlib
import os

import h5py
import numpy as np
import pytest

from flexibench.bench import load
from flexibench.bench.store import TableFile, as_column, atomic_output, checksum, write_file
from flexibench.bench.testing import fixture_table
from flexibench.core.errors import DataError


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return fixture_table(tmp_path_factory.mktemp("store"))


def _snapshot(path, library) -> list:
    """Every number a user can get from the table (all fidelities, all cards, plus info)."""
    with load(path, library=library) as bench:
        out = [bench.query(c, f).to_dict() for f in bench.fidelities for c in bench.cards(f)]
        out += [bench.query(c).to_dict() for c in library.cards]
        info = bench.info()
        info.pop("path")
        out.append(info)
    return out


def test_checksum_matches_hashlib_and_sees_dtype_and_shape():
    a = np.arange(6, dtype=np.int64)
    assert checksum(a) == hashlib.sha256(b"<i8(6,)" + a.tobytes()).hexdigest()
    assert checksum(a) != checksum(a.astype(np.int32))
    assert checksum(a) != checksum(a.reshape(2, 3))
    assert checksum(as_column(["ab", "c"], "str")) != checksum(as_column(["a", "bc"], "str"))


def test_round_trip(tmp_path):
    path = tmp_path / "t.h5"
    data = {"archs/x": np.array([1.5, np.nan]), "archs/name": as_column(["α", "b"], "str")}
    write_file(
        path, {"format_version": 1, "fidelities": {"nano": {"steps": 3}}}, data, {"results/nano": {"tasks": ["a"]}}
    )
    with TableFile(path) as table:
        np.testing.assert_array_equal(table.read("archs/x"), data["archs/x"])
        assert list(table.read("archs/name")) == ["α", "b"]
        assert table.meta_json("fidelities") == {"nano": {"steps": 3}}
        assert table.attrs("results/nano") == {"tasks": ["a"]}
        assert table.groups("archs") == ["name", "x"]


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load(tmp_path / "nope.h5")


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.9, 0.999])
def test_truncated_file_is_a_data_error(table, tmp_path, fraction):
    path, library = table
    data = path.read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(DataError):
        _snapshot(cut, library)


def test_flipped_bit_in_a_score_is_detected(table, tmp_path):
    path, library = table
    with h5py.File(path, "r") as handle:
        offset = handle["results/nano/score"].id.get_offset()
    data = bytearray(path.read_bytes())
    data[offset + 3] ^= 0x10  # inside the first stored float64 score
    bad = tmp_path / "flip.h5"
    bad.write_bytes(bytes(data))
    with pytest.raises(DataError, match="checksum"):
        _snapshot(bad, library)


def test_random_bit_flips_never_give_wrong_numbers(table, tmp_path):
    """Any single flipped bit either changes nothing a user can read or raises DataError."""
    path, library = table
    reference = _snapshot(path, library)
    data = path.read_bytes()
    rng = np.random.default_rng(7)
    errors = 0
    for _ in range(40):
        bad = bytearray(data)
        bad[int(rng.integers(len(bad)))] ^= 1 << int(rng.integers(8))
        target = tmp_path / "random-flip.h5"
        target.write_bytes(bytes(bad))
        try:
            assert _snapshot(target, library) == reference
        except DataError:
            errors += 1
    assert errors < 40  # most flips land in slack space; the point is that none returned a different number


def test_changed_attribute_is_detected(table, tmp_path):
    path, library = table
    copy = tmp_path / "attr.h5"
    copy.write_bytes(path.read_bytes())
    with h5py.File(copy, "r+") as handle:
        handle["surrogate/nano"].attrs["kendall_tau"] = 0.99
    with pytest.raises(DataError, match="attributes"):
        load(copy)


def test_atomic_output_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "table.h5"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_bytes(b"half-written")
        raise RuntimeError("crash while writing")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["table.h5"]
    with atomic_output(target) as tmp:
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["table.h5"]
