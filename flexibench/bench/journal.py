"""Crash-safe journal shards: append-only JSONL, one fsync'd, checksummed record per line.

Workers never edit the packed table; they append here and ``pack`` merges later.
Each line is ``{"crc": <crc32 of rec>, "rec": <record JSON>}`` so a bit flip inside
a line is detected rather than read as a wrong number, and every record read must
pass the record schema (:mod:`flexibench.core.record_schema`), so a line whose
checksum holds but whose values make no sense is refused with its file and line.
A crash can leave at most a torn last line: readers skip it with a warning, and a
writer moves a torn tail to ``<shard>.torn`` before each append, so the next record
starts on a fresh line and no finished record is lost. Appends take an exclusive
``flock``, check that every byte was written (a short write, e.g. a full disk,
raises :class:`~flexibench.core.errors.DataError` and is cut off again) and fsync, so
several processes may share a shard.

The same framing carries other kinds of measurement (the hardware objectives'
latency records, :mod:`flexibench.bench.latency_table`): a payload that is a JSON object
with a ``"kind"`` key other than ``"result"`` is written with :meth:`JournalWriter.append_payload`
and read back, checksums checked, with :func:`read_payloads`; :func:`shard_kind` tells
the kinds of shard apart so ``pack`` can route each to its reader.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import warnings
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from flexibench.core.errors import DataError
from flexibench.core.record import ResultRecord
from flexibench.core.record_schema import check_record, storable


class JournalWarning(UserWarning):
    """A recoverable problem in a shard (torn last line, duplicate record)."""


RESULT_KIND = "result"  # records without a "kind" key are evaluation records (ResultRecord)


def _frame(payload: str) -> bytes:
    crc = zlib.crc32(payload.encode())
    return f'{{"crc":{crc},"rec":{payload}}}\n'.encode()


def _canonical(payload: dict) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _encode(record: ResultRecord) -> bytes:
    return _frame(storable(record).to_json())


class JournalWriter:
    """Append records to one shard file; safe against crashes and concurrent appenders."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        with self._locked():
            self._repair_torn_tail()

    def append(self, record: ResultRecord) -> None:
        """Write one record and fsync before returning: once this returns, the record survives a crash.

        The record is stored as :func:`~flexibench.core.record_schema.storable` makes it
        (non-finite numbers as null); one that breaks the schema raises ``RecordError`` and
        nothing is written. If the write cannot complete (disk full, file-size limit, I/O
        error), whatever part of the line reached the file is cut off again and
        :class:`DataError` is raised; the next append starts on a fresh line either way.
        """
        self._append_bytes(_encode(record))

    def append_payload(self, payload: dict) -> None:
        """Write one non-evaluation payload (a JSON object with a ``"kind"``), as safely as :meth:`append`.

        Non-finite numbers are refused (``ValueError``): store them as null.
        """
        kind = payload.get("kind") if isinstance(payload, dict) else None
        if not isinstance(kind, str) or kind == RESULT_KIND:
            raise DataError(f"a payload needs a 'kind' other than {RESULT_KIND!r} (evaluation records use append)")
        self._append_bytes(_frame(_canonical(payload)))

    def _append_bytes(self, data: bytes) -> None:
        with self._locked():
            self._repair_torn_tail()  # a writer that died (or failed) mid-line left a partial last line
            start = os.fstat(self._fd).st_size
            try:
                _write_all(self._fd, data)
                os.fsync(self._fd)
            except OSError as exc:
                try:
                    os.ftruncate(self._fd, start)
                    state = "the partial line was removed"
                except OSError:
                    state = "a partial line is left; the next append moves it aside"
                raise DataError(f"{self.path}: record not written ({exc.strerror or exc}); {state}") from None

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
        """Move a last line without its newline aside (called with the lock held)."""
        size = os.fstat(self._fd).st_size
        if size == 0 or os.pread(self._fd, 1, size - 1) == b"\n":
            return
        with open(self.path, "rb") as handle:
            data = handle.read(size)
        cut = data.rfind(b"\n") + 1
        torn = data[cut:]
        with open(self.path.with_name(self.path.name + ".torn"), "ab") as aside:
            aside.write(torn + b"\n")
        os.ftruncate(self._fd, cut)
        warnings.warn(
            f"{self.path}: moved a torn last line ({len(torn)} bytes) to {self.path.name}.torn before appending",
            JournalWarning,
            stacklevel=3,
        )


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, "no progress writing the record")
        view = view[written:]


def read_shard(path: str | Path) -> Iterator[ResultRecord]:
    """Yield the records of one shard in order.

    A torn last line (no newline: the writer crashed mid-write) is skipped with a
    :class:`JournalWarning`. Any other bad line (bad JSON, checksum mismatch, a record
    that breaks the record schema) raises :class:`DataError` naming the file and line:
    never a wrong number.
    """
    for _, _, record in _read_lines(path):
        yield record


def read_payloads(path: str | Path) -> Iterator[tuple[int, dict]]:
    """``(line number, payload)`` for every line of a shard of any kind, checksums checked, no schema applied.

    A torn last line is skipped with a :class:`JournalWarning`; any other bad line raises
    :class:`DataError` naming the file and line.
    """
    for number, _, entry, _ in _verified_lines(path):
        yield number, entry


def shard_kind(path: str | Path) -> str:
    """What a shard holds: its first payload's ``"kind"`` (``"result"``: evaluation records, or empty)."""
    for _, entry in read_payloads(path):
        kind = entry.get("kind", RESULT_KIND) if isinstance(entry, dict) else RESULT_KIND
        return kind if isinstance(kind, str) else RESULT_KIND
    return RESULT_KIND


def _verified_lines(path: str | Path) -> Iterator[tuple[int, str, dict, bool]]:
    """``(line number, canonical payload JSON, payload, torn)`` for every line whose checksum holds."""
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
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            if torn:
                warnings.warn(f"{path}: skipping a torn last line ({len(line)} bytes)", JournalWarning, stacklevel=2)
                return
            raise DataError(f"{path}, line {number}: corrupt record ({exc})") from None
        yield number, payload, entry["rec"], torn


def _read_lines(path: str | Path) -> Iterator[tuple[int, str, ResultRecord]]:
    """``(line number, canonical record JSON, record)`` for every record of one shard."""
    for number, payload, rec, torn in _verified_lines(path):
        if isinstance(rec, dict) and rec.get("kind", RESULT_KIND) != RESULT_KIND:
            raise DataError(
                f"{path}, line {number}: holds a {rec.get('kind')!r} payload, not an evaluation record "
                "(pack routes such shards by flexibench.bench.journal.shard_kind)"
            )
        try:
            record = ResultRecord.from_dict(check_record(rec))
        except DataError as exc:
            raise DataError(f"{path}, line {number}: record refused by the schema ({exc})") from None
        if torn:
            warnings.warn(
                f"{path}: last record has no newline (kept: its checksum is valid)", JournalWarning, stacklevel=2
            )
        yield number, payload, record


def read_shards(paths: Iterable[str | Path]) -> list[ResultRecord]:
    """All records of several shards (files or folders of ``*.jsonl``), one per key.

    A key written twice with identical content (a shard copied into two folders) is
    kept once and counted in a warning. A key written twice with different content
    (two runs of one evaluation) is a :class:`DataError` naming both lines: which
    one is right is not for file order to decide.
    """
    seen: dict[tuple[str, str, int], tuple[ResultRecord, str, str]] = {}
    duplicates = 0
    for path in expand_shard_paths(paths):
        for number, payload, record in _read_lines(path):
            where = f"{path}, line {number}"
            first = seen.get(record.key)
            if first is None:
                seen[record.key] = (record, payload, where)
                continue
            if payload != first[1]:
                a, b = json.loads(first[1]), json.loads(payload)
                differ = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
                raise DataError(
                    f"conflicting records for card {record.card_hash[:12]}, fidelity {record.fidelity!r}, seed "
                    f"{record.seed}: {first[2]} and {where} differ in {differ}; keep one of them"
                )
            duplicates += 1
    if duplicates:
        warnings.warn(
            f"dropped {duplicates} identical duplicate record(s) (same card, fidelity, seed and content)",
            JournalWarning,
            stacklevel=2,
        )
    return [record for record, _, _ in seen.values()]


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
