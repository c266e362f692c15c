"""HDF5 read/write with a SHA-256 checksum per dataset, and atomic replacement of a file.

Why checksums on top of HDF5: a flipped bit inside a float array is still a valid
float, so HDF5 itself would hand back a wrong number. Every dataset's digest is
recorded in ``/meta`` at write time and checked the first time the dataset is
read, so corruption surfaces as :class:`DataError`, never as a plausible score.

Why atomic replacement: readers may have the table open while a new one is packed;
a new file is written beside the target, verified, then ``os.replace``d over it,
so the old file stays intact if anything fails on the way.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from flexibench.bench import schema
from flexibench.core.errors import DataError, file_problem

# Errors h5py raises on a damaged file (truncated, bad superblock, bad B-tree, bad heap).
_H5_ERRORS = (OSError, KeyError, ValueError, RuntimeError, TypeError, UnicodeDecodeError, IndexError)
_STR = h5py.string_dtype("utf-8")


def checksum(array: np.ndarray) -> str:
    """SHA-256 over dtype, shape and contents; strings are hashed length-prefixed so no two lists collide."""
    digest = hashlib.sha256()
    if array.dtype == object or array.dtype.kind in "US":
        digest.update(f"str{array.shape}".encode())
        for item in array.reshape(-1):
            data = item.encode() if isinstance(item, str) else bytes(item)
            digest.update(len(data).to_bytes(8, "little"))
            digest.update(data)
    else:
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def as_column(values: Any, kind: str) -> np.ndarray:
    """Coerce a column to the dtype the schema names (``"str"`` -> object array of Python str)."""
    if kind == "str":
        out = np.empty(len(values), dtype=object)
        out[:] = [str(v) for v in values]
        return out
    return np.asarray(values, dtype=kind)


def write_file(
    path: str | Path,
    meta: Mapping[str, Any],
    datasets: Mapping[str, np.ndarray],
    group_attrs: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """Write a complete table to ``path`` (which must not be the live file; see :func:`atomic_output`).

    ``meta`` becomes ``/meta`` attrs, with ``checksums`` computed here over ``datasets``
    (paths like ``archs/card``) and ``attrs_checksum`` over every attribute of every
    group; ``group_attrs`` sets attrs on groups such as ``results/nano``. Dicts and
    lists in attrs are stored as JSON text.
    """
    encoded = {schema.META: {k: _encode_attr(v) for k, v in meta.items()}}
    encoded.update(
        {name: {k: _encode_attr(v) for k, v in attrs.items()} for name, attrs in (group_attrs or {}).items()}
    )
    encoded[schema.META]["checksums"] = json.dumps({name: checksum(a) for name, a in datasets.items()}, sort_keys=True)
    encoded[schema.META]["attrs_checksum"] = attrs_checksum(encoded)
    with h5py.File(path, "w", libver="latest") as handle:
        for name, array in datasets.items():
            if array.dtype == object:
                handle.create_dataset(name, data=array, dtype=_STR)
            else:
                handle.create_dataset(name, data=array)
        for name, attrs in encoded.items():
            target = handle.require_group(name)
            for key, value in attrs.items():
                target.attrs[key] = value
    with open(path, "rb+") as handle:  # make the bytes durable before anyone renames the file into place
        os.fsync(handle.fileno())


def _encode_attr(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list, tuple)) else value


def attrs_checksum(groups: Mapping[str, Mapping[str, Any]]) -> str:
    """SHA-256 over every group's attributes (except this digest itself), as stored."""
    plain = {
        group: {k: (v.item() if isinstance(v, np.generic) else v) for k, v in attrs.items() if k != "attrs_checksum"}
        for group, attrs in groups.items()
        if attrs
    }
    return hashlib.sha256(json.dumps(plain, sort_keys=True).encode()).hexdigest()


@contextlib.contextmanager
def atomic_output(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on normal exit rename it over ``target``.

    If the body raises, the temporary file is removed and ``target`` is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):  # persist the rename itself
        fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class TableFile:
    """A packed table opened read-only; datasets are read lazily and checksum-verified once.

    Every failure to read (missing file, truncated file, damaged structure, digest
    mismatch, newer format) is a :class:`DataError` naming the file and the dataset.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        problem = file_problem(self.path)
        if problem == "does not exist":
            raise DataError(f"table {self.path} does not exist (pack one with `flexibench pack SHARDS... --out FILE`)")
        if problem:
            raise DataError(f"table {self.path} {problem}; give the path of a packed table file")
        try:
            self._h5 = h5py.File(self.path, "r")
            groups: dict[str, dict[str, Any]] = {schema.META: dict(self._h5[schema.META].attrs)}
            self._h5.visititems(lambda name, obj: groups.__setitem__(name, dict(obj.attrs)) if obj.attrs else None)
        except _H5_ERRORS as exc:
            raise DataError(f"table {self.path} is unreadable (truncated or corrupt HDF5: {exc})") from None
        try:
            self._attrs = {
                g: {k: (v.item() if isinstance(v, np.generic) else v) for k, v in a.items()} for g, a in groups.items()
            }
            self.meta: dict[str, Any] = self._attrs[schema.META]
            self.checksums: dict[str, str] = json.loads(self.meta["checksums"])
            version = self.meta["format_version"]
            stored_digest = self.meta["attrs_checksum"]
        except (KeyError, ValueError, TypeError) as exc:
            raise DataError(f"table {self.path}: /meta is damaged ({exc})") from None
        if attrs_checksum(self._attrs) != stored_digest:
            raise DataError(f"table {self.path}: attributes fail their SHA-256 checksum (file corrupted)")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise DataError(f"table {self.path}: format version {version!r} is not a version (an integer >= 1)")
        if version > schema.FORMAT_VERSION:
            raise DataError(
                f"table {self.path} has format version {version}; this flexibench reads up to "
                f"{schema.FORMAT_VERSION} (upgrade flexibench)"
            )
        self._cache: dict[str, np.ndarray] = {}

    def meta_json(self, key: str) -> Any:
        """A /meta attribute stored as JSON text, decoded."""
        try:
            return json.loads(self.meta[key])
        except (KeyError, ValueError, TypeError) as exc:
            raise DataError(f"table {self.path}: /meta attribute {key!r} is missing or damaged ({exc})") from None

    def has(self, name: str) -> bool:
        return name in self.checksums

    def groups(self, parent: str) -> list[str]:
        """Names of the subgroups of ``parent`` that hold checksummed datasets (e.g. fidelities)."""
        prefix = parent.rstrip("/") + "/"
        return sorted({name[len(prefix) :].split("/")[0] for name in self.checksums if name.startswith(prefix)})

    def attrs(self, group: str) -> dict[str, Any]:
        """Attributes of a group (verified at open; JSON text decoded when it parses as a list or dict)."""
        out: dict[str, Any] = {}
        for key, value in self._attrs.get(group, {}).items():
            if isinstance(value, str) and value[:1] in "[{":
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            out[key] = value
        return out

    def stored_attrs(self, group: str) -> dict[str, Any]:
        """Attributes of a group exactly as stored (JSON text kept as text), for copying a group verbatim."""
        return dict(self._attrs.get(group, {}))

    def read(self, name: str) -> np.ndarray:
        """Dataset ``name`` as a numpy array (strings as an object array of str), verified against its digest."""
        cached = self._cache.get(name)
        if cached is not None:
            return cached
        expected = self.checksums.get(name)
        if expected is None:
            raise DataError(f"table {self.path}: no dataset /{name} (or it has no checksum)")
        try:
            dataset = self._h5[name]
            if h5py.check_string_dtype(dataset.dtype) is not None:
                array = np.asarray(dataset.asstr()[()], dtype=object)
            else:
                array = dataset[()]
        except _H5_ERRORS as exc:
            raise DataError(f"table {self.path}: cannot read /{name} (corrupt file: {exc})") from None
        if checksum(array) != expected:
            raise DataError(f"table {self.path}: /{name} fails its SHA-256 checksum (file corrupted)")
        array.setflags(write=False)
        self._cache[name] = array
        return array

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._h5.close()

    def __enter__(self) -> TableFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
