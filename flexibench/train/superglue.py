"""SuperGLUE tasks that fit the sentence(-pair) classifier: CB, RTE and BoolQ (JSONL files or the hub).

Names carry an ``SG-`` prefix so SuperGLUE RTE never collides with GLUE RTE in a record.
Tasks with spans or multiple choices (WiC, WSC, COPA, MultiRC, ReCoRD) need other heads
and are left out rather than squeezed into a pair classifier.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from flexibench.core.errors import DataError
from flexibench.core.tasks import TaskSpec
from flexibench.train.glue import TaskData


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
