"""Crash-safe journal shards: append-only JSONL, one fsync'd, checksummed record per line.

Workers never edit the packed table; they append here and ``pack`` merges later.
Each line is ``{"crc": <crc32 of rec>, "rec": <record JSON>}`` so a bit flip inside
a line is detected rather than read as a wrong number. A crash can leave at most a
torn last line: readers skip it with a warning, and a writer re-opening the shard
moves the torn tail to ``<shard>.torn`` before appending, so the next record starts
on a fresh line and no finished record is lost. Appends take an exclusive
``flock`` and go out in one ``write`` call, so several processes may share a shard.
"""

from __future__ import annotations

import fcntl
import json
import os
import warnings
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from flexibench.bench.record import ResultRecord
from flexibench.errors import DataError


class JournalWarning(UserWarning):
    """A recoverable problem in a shard (torn last line, duplicate record)."""


def _encode(record: ResultRecord) -> bytes:
    payload = record.to_json()
    crc = zlib.crc32(payload.encode())
    return f'{{"crc":{crc},"rec":{payload}}}\n'.encode()


class JournalWriter:
    """Append records to one shard file; safe against crashes and concurrent appenders."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        with self._locked():
            self._repair_torn_tail()

    def append(self, record: ResultRecord) -> None:
        """Write one record and fsync before returning: once this returns, the record survives a crash."""
        data = _encode(record)
        with self._locked():
            os.write(self._fd, data)
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _locked(self):  # noqa: ANN202 - small context manager
        fd = self._fd

        class _Lock:
            def __enter__(self) -> None:
                fcntl.flock(fd, fcntl.LOCK_EX)

            def __exit__(self, *exc: object) -> None:
                fcntl.flock(fd, fcntl.LOCK_UN)

        return _Lock()

    def _repair_torn_tail(self) -> None:
        size = self.path.stat().st_size
        if size == 0:
            return
        with open(self.path, "rb") as handle:
            data = handle.read()
        if data.endswith(b"\n"):
            return
        cut = data.rfind(b"\n") + 1
        torn = data[cut:]
        with open(self.path.with_name(self.path.name + ".torn"), "ab") as aside:
            aside.write(torn + b"\n")
        os.truncate(self.path, cut)
        warnings.warn(
            f"{self.path}: moved a torn last line ({len(torn)} bytes) to {self.path.name}.torn before appending",
            JournalWarning,
            stacklevel=3,
        )


def read_shard(path: str | Path) -> Iterator[ResultRecord]:
    """Yield the records of one shard in order.

    A torn last line (no newline: the writer crashed mid-write) is skipped with a
    :class:`JournalWarning`. Any other bad line (bad JSON, checksum mismatch, missing
    fields) raises :class:`DataError` naming the file and line: never a wrong number.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read shard {path}: {exc}") from None
    lines = data.split(b"\n")
    last = len(lines) - 1
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        torn = number - 1 == last  # text after the final newline
        try:
            entry = json.loads(line)
            payload = json.dumps(entry["rec"], sort_keys=True, separators=(",", ":"), allow_nan=False)
            if zlib.crc32(payload.encode()) != entry["crc"]:
                raise ValueError("checksum mismatch")
            record = ResultRecord.from_dict(entry["rec"])
        except (ValueError, KeyError, TypeError, DataError) as exc:
            if torn:
                warnings.warn(f"{path}: skipping a torn last line ({len(line)} bytes)", JournalWarning, stacklevel=2)
                return
            raise DataError(f"{path}, line {number}: corrupt record ({exc})") from None
        if torn:
            warnings.warn(
                f"{path}: last record has no newline (kept: its checksum is valid)", JournalWarning, stacklevel=2
            )
        yield record


def read_shards(paths: Iterable[str | Path]) -> list[ResultRecord]:
    """All records of several shards (files or folders of ``*.jsonl``), one per key.

    A repeated key keeps the first record seen and warns: a resumed sweep never
    needs to write a key twice, so a duplicate points at a mistake worth seeing.
    """
    seen: dict[tuple[str, str, int], ResultRecord] = {}
    duplicates = 0
    for path in expand_shard_paths(paths):
        for record in read_shard(path):
            if record.key in seen:
                duplicates += 1
                continue
            seen[record.key] = record
    if duplicates:
        warnings.warn(
            f"ignored {duplicates} duplicate record(s) (same card, fidelity and seed)", JournalWarning, stacklevel=2
        )
    return list(seen.values())


def expand_shard_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given, folders expanded to their ``*.jsonl`` files (sorted)."""
    out: list[Path] = []
    for item in paths:
        item = Path(item)
        if item.is_dir():
            out.extend(sorted(item.rglob("*.jsonl")))
        elif item.exists():
            out.append(item)
        else:
            raise DataError(f"shard {item} does not exist")
    return out
