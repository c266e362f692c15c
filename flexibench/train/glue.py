"""GLUE and SuperGLUE task readers: the standard ``download_glue_data.py`` folders, SuperGLUE JSONL, the hub.

Every task becomes a :class:`TaskData` (first text, optional second text, labels), so
fine-tuning never looks at file formats. Local TSVs are read with quoting off
(MRPC/SST-2 sentences contain bare ``"``), columns are found by header name where
there is a header (CoLA has none), and malformed rows are repaired when the fix is
unambiguous (the QQP subset's first row has its label fused onto question2 after a
space) or skipped and counted otherwise, never silently turned into wrong labels.

SuperGLUE's sentence(-pair) classification tasks (CB, RTE, BoolQ) are read from their JSONL
files; their names carry an ``SG-`` prefix so SuperGLUE RTE never collides with GLUE RTE in a
record. Tasks with spans or multiple choices (WiC, WSC, COPA, MultiRC, ReCoRD) need other heads
and are left out rather than squeezed into a pair classifier.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from flexibench.core.errors import DataError
from flexibench.core.tasks import TaskSpec, task_spec


@dataclass
class TaskData:
    """Examples of one split: texts and labels (class ids, or floats for regression)."""

    task: str
    text_a: list[str]
    text_b: list[str] | None
    labels: np.ndarray
    source: str = ""
    skipped_rows: int = 0
    repaired_rows: int = 0
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.text_a)

    def subset(self, indices: np.ndarray | list[int], source: str) -> TaskData:
        idx = np.asarray(indices, dtype=np.int64)
        return TaskData(
            self.task,
            [self.text_a[i] for i in idx],
            None if self.text_b is None else [self.text_b[i] for i in idx],
            self.labels[idx],
            source=source,
        )

    def example_key(self, i: int) -> str:
        return self.text_a[i] + "\x1f" + ("" if self.text_b is None else self.text_b[i])


# ------------------------------------------------------------------ local files
def local_split_file(data_dir: str | Path, spec: TaskSpec, split: str) -> Path | None:
    """The TSV of ``split`` ("train" or "dev") under ``data_dir/glue/<task>`` (or ``data_dir/<task>``), if present."""
    root = Path(data_dir)
    names = spec.train_files if split == "train" else (spec.dev_file,)
    for base in (root / spec.collection / spec.folder, root / spec.collection.replace("_", "") / spec.folder):
        for name in names:
            if (base / name).is_file():
                return base / name
    return None


def read_local(data_dir: str | Path, task: str, split: str) -> TaskData:
    """Read one split of a GLUE task from the standard folder layout; :class:`DataError` if absent."""
    spec = task_spec(task)
    path = local_split_file(data_dir, spec, split)
    if path is None:
        names = spec.train_files if split == "train" else (spec.dev_file,)
        raise DataError(f"{spec.name}: no {split} file under {data_dir} (looked for {spec.folder}/{list(names)})")
    if path.suffix == ".jsonl":
        return read_jsonl(path, spec)
    return read_tsv(path, spec)


def read_tsv(path: str | Path, spec: TaskSpec) -> TaskData:
    """Parse one GLUE TSV file into :class:`TaskData` (labels mapped to the hub's class ids)."""
    csv.field_size_limit(sys.maxsize)
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows:
        raise DataError(f"{path}: empty file")
    if spec.header:
        header = [c.strip() for c in rows[0]]
        rows = rows[1:]
        try:
            ia = header.index(spec.text_a)
            ib = None if spec.text_b is None else header.index(spec.text_b)
            il = header.index(spec.label)
        except ValueError as exc:
            raise DataError(f"{path}: header {header} lacks a column the {spec.name} reader needs ({exc})") from None
        width = len(header)
    else:
        ia, ib, il = int(spec.text_a), None if spec.text_b is None else int(spec.text_b), int(spec.label)
        width = max(ia, il, ib or 0) + 1
    label_is_last = il == width - 1
    text_a: list[str] = []
    text_b: list[str] = []
    labels: list[Any] = []
    skipped = repaired = 0
    for row in rows:
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) == width - 1 and label_is_last:
            # A label fused onto the last text after a space ("...jlpt5? 0"): split it back off.
            head, _, tail = row[-1].rpartition(" ")
            if head and _parse_label(tail, spec) is not None:
                row = row[:-1] + [head, tail]
                repaired += 1
        if len(row) < width:
            skipped += 1
            continue
        label = _parse_label(row[il] if not label_is_last else row[-1], spec)
        if label is None:
            skipped += 1
            continue
        text_a.append(row[ia])
        if ib is not None:
            text_b.append(row[ib])
        labels.append(label)
    if not labels:
        raise DataError(f"{path}: no usable {spec.name} rows")
    dtype = np.float32 if spec.is_regression else np.int64
    return TaskData(
        spec.name,
        text_a,
        None if spec.text_b is None else text_b,
        np.asarray(labels, dtype=dtype),
        source=str(path),
        skipped_rows=skipped,
        repaired_rows=repaired,
    )


def read_jsonl(path: str | Path, spec: TaskSpec) -> TaskData:
    """Read a SuperGLUE ``*.jsonl`` split; labels (strings or booleans) become class ids in hub order."""
    assert spec.labels is not None
    text_a: list[str] = []
    text_b: list[str] = []
    labels: list[int] = []
    skipped = 0
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}, line {number}: bad JSON ({exc.msg})") from None
            label = str(row.get(spec.label))
            if label not in spec.labels:
                skipped += 1
                continue
            text_a.append(str(row[spec.text_a]))
            text_b.append(str(row[spec.text_b]))
            labels.append(spec.labels.index(label))
    if not labels:
        raise DataError(f"{path}: no labelled {spec.name} rows")
    return TaskData(spec.name, text_a, text_b, np.asarray(labels, dtype=np.int64), str(path), skipped_rows=skipped)


def _parse_label(value: str, spec: TaskSpec) -> float | int | None:
    value = value.strip()
    if spec.labels is None:
        try:
            return float(value)
        except ValueError:
            return None
    return spec.labels.index(value) if value in spec.labels else None


# ------------------------------------------------------------------ hub
def from_hub_dataset(dataset: Any, task: str, source: str = "hub") -> TaskData:
    """Map a Hugging Face ``datasets.Dataset`` of a GLUE task onto :class:`TaskData`.

    Hub labels already use the class order of :class:`TaskSpec`; unlabeled rows
    (``-1``, the hidden test split) are rejected so they cannot be scored.
    """
    spec = task_spec(task)
    columns = set(dataset.column_names)
    needed = [spec.hub_text_a, "label"] + ([spec.hub_text_b] if spec.hub_text_b else [])
    missing = [c for c in needed if c not in columns]
    if missing:
        raise DataError(f"{spec.name}: hub dataset lacks column(s) {missing}; has {sorted(columns)}")
    labels = np.asarray(dataset["label"], dtype=np.float32 if spec.is_regression else np.int64)
    if not spec.is_regression and (labels < 0).any():
        raise DataError(f"{spec.name}: hub split has unlabeled rows (label -1); use train/validation splits")
    return TaskData(
        spec.name,
        list(dataset[spec.hub_text_a]),
        None if spec.hub_text_b is None else list(dataset[spec.hub_text_b]),
        labels,
        source=source,
    )


def read_hub(task: str, split: str) -> TaskData:
    """Download one split (``train`` or ``dev``) with ``datasets.load_dataset("glue", task)``."""
    spec = task_spec(task)
    try:
        import datasets
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise DataError("reading GLUE from the hub needs `pip install flexibench[hub]`") from exc
    hub_split = "train" if split == "train" else spec.hub_dev_split
    try:
        dataset = datasets.load_dataset(spec.collection, spec.hub_name, split=hub_split)
    except Exception as exc:  # network, cache or name problems all end the same way for the caller
        where = f"{spec.collection}/{spec.hub_name}:{hub_split}"
        raise DataError(f"{spec.name}: cannot load {where} from the hub ({exc})") from None
    return from_hub_dataset(dataset, spec.name, source=f"hub:{spec.collection}/{spec.hub_name}:{hub_split}")


# ------------------------------------------------------------------ deterministic carving
def hash_fraction(text: str, salt: str) -> float:
    """A stable number in [0, 1) per (salt, example): carving splits this way ignores file order."""
    digest = hashlib.sha256((salt + "\x1e" + text).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def carve(data: TaskData, fraction: float, salt: str) -> tuple[TaskData, TaskData]:
    """Split ``data`` into (rest, slice) where ``slice`` holds examples whose hash falls below ``fraction``."""
    if not 0.0 < fraction < 1.0:
        raise DataError(f"carve fraction must lie in (0, 1), got {fraction}")
    scores = np.array([hash_fraction(data.example_key(i), salt) for i in range(len(data))])
    inside = np.flatnonzero(scores < fraction)
    outside = np.flatnonzero(scores >= fraction)
    if len(inside) == 0 or len(outside) == 0:
        raise DataError(f"{data.task}: carving {fraction:.0%} of {len(data)} examples leaves an empty split")
    note = f"sha256 hash slice < {fraction} (salt {salt!r})"
    return data.subset(outside, f"{data.source} minus {note}"), data.subset(inside, f"{data.source}, {note}")


def take(data: TaskData, limit: int | None, salt: str) -> TaskData:
    """At most ``limit`` examples, those with the smallest hashes (stable under file reordering)."""
    if limit is None or len(data) <= limit:
        return data
    scores = np.array([hash_fraction(data.example_key(i), salt) for i in range(len(data))])
    keep = np.sort(np.argsort(scores, kind="stable")[:limit])
    return data.subset(keep, f"{data.source}, {limit} smallest sha256 hashes (salt {salt!r})")
