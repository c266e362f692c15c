"""The tasks a recipe may name, and how a record's scores are made from their metrics.

Torch-free and file-format-free, so the recipe (which checks its task names), the table
(which recomputes scores from curves) and the harness (which reads and fine-tunes) share
one registry: :data:`GLUE_TASKS` and :data:`SUPERGLUE_TASKS` say where each task lives
locally and on the hub and which metric is primary; :func:`mlm_score` and
:func:`glue_average` are the score rules every record follows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from flexibench.core.errors import DataError


@dataclass(frozen=True)
class TaskSpec:
    """How one GLUE task is laid out locally and on the hub, and how it is scored."""

    name: str
    folder: str
    hub_name: str
    text_a: str  # local column name (or index for header-less files)
    text_b: str | None
    label: str
    labels: tuple[str, ...] | None  # class names in hub order; None = regression
    metric: str  # primary metric name (see flexibench.train.metrics.task_metrics)
    hub_text_a: str = ""
    hub_text_b: str | None = None
    dev_file: str = "dev.tsv"
    hub_dev_split: str = "validation"
    header: bool = True
    train_files: tuple[str, ...] = ("train.tsv",)
    collection: str = "glue"  # sub-folder of the data dir and hub dataset name

    @property
    def num_labels(self) -> int:
        return 1 if self.labels is None else len(self.labels)

    @property
    def is_regression(self) -> bool:
        return self.labels is None


_BIN = ("0", "1")
_NLI2 = ("entailment", "not_entailment")
GLUE_TASKS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        TaskSpec("CoLA", "CoLA", "cola", "3", None, "1", _BIN, "mcc", "sentence", header=False),
        TaskSpec("SST-2", "SST-2", "sst2", "sentence", None, "label", _BIN, "accuracy", "sentence"),
        TaskSpec("MRPC", "MRPC", "mrpc", "#1 String", "#2 String", "Quality", _BIN, "f1", "sentence1", "sentence2"),
        TaskSpec(
            "STS-B", "STS-B", "stsb", "sentence1", "sentence2", "score", None, "pearson", "sentence1", "sentence2"
        ),
        TaskSpec(
            "QQP",
            "QQP",
            "qqp",
            "question1",
            "question2",
            "is_duplicate",
            _BIN,
            "f1",
            "question1",
            "question2",
            train_files=("train.tsv", "train_subset.tsv"),
        ),
        TaskSpec(
            "MNLI",
            "MNLI",
            "mnli",
            "sentence1",
            "sentence2",
            "gold_label",
            ("entailment", "neutral", "contradiction"),
            "accuracy",
            "premise",
            "hypothesis",
            dev_file="dev_matched.tsv",
            hub_dev_split="validation_matched",
        ),
        TaskSpec("QNLI", "QNLI", "qnli", "question", "sentence", "label", _NLI2, "accuracy", "question", "sentence"),
        TaskSpec("RTE", "RTE", "rte", "sentence1", "sentence2", "label", _NLI2, "accuracy", "sentence1", "sentence2"),
        TaskSpec("WNLI", "WNLI", "wnli", "sentence1", "sentence2", "label", _BIN, "accuracy", "sentence1", "sentence2"),
    )
}


_NLI3 = ("entailment", "contradiction", "neutral")
SUPERGLUE_TASKS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        TaskSpec("SG-CB", "CB", "cb", "premise", "hypothesis", "label", _NLI3, "accuracy", "premise", "hypothesis"),
        TaskSpec(
            "SG-RTE",
            "RTE",
            "rte",
            "premise",
            "hypothesis",
            "label",
            ("entailment", "not_entailment"),
            "accuracy",
            "premise",
            "hypothesis",
        ),
        TaskSpec(
            "SG-BoolQ",
            "BoolQ",
            "boolq",
            "question",
            "passage",
            "label",
            ("False", "True"),
            "accuracy",
            "question",
            "passage",
        ),
    )
}
for _name, _spec in list(SUPERGLUE_TASKS.items()):
    SUPERGLUE_TASKS[_name] = TaskSpec(
        **{**_spec.__dict__, "dev_file": "val.jsonl", "train_files": ("train.jsonl",), "collection": "super_glue"}
    )


def task_spec(name: str) -> TaskSpec:
    """Look up a task by name (case-insensitive, ``sst2`` and ``SST-2`` both work)."""
    wanted = name.strip().lower().replace("-", "").replace("_", "")
    for spec in GLUE_TASKS.values():
        if wanted in (spec.name.lower().replace("-", ""), spec.hub_name):
            return spec
    for spec in SUPERGLUE_TASKS.values():
        if name.strip().lower() == spec.name.lower():
            return spec
    raise DataError(f"unknown task {name!r}; known: {sorted(GLUE_TASKS) + sorted(SUPERGLUE_TASKS)}")


def primary_score(task: str, metrics: dict[str, float]) -> float:
    """The number of ``task`` that enters the average (NaN when the task was not run)."""
    return float(metrics.get(task_spec(task).metric, math.nan))


def mlm_score(loss: float, vocab_size: int) -> float:
    """Held-out MLM as a percentage: the share of a uniform guess's cross-entropy the model removes.

    ``100 * (1 - loss / ln V)``: 0 for a uniform guess, 100 for a perfect model. A monotone
    map of the held-out loss (so it ranks models exactly as the loss does) that, unlike
    masked-token accuracy, does not collapse to the few most frequent tokens early in
    training: at CPU budgets accuracy's seed noise was as large as the differences
    between architectures, the loss's about a tenth (docs/harness.md).
    """
    if vocab_size < 2:
        raise ValueError(f"vocabulary size {vocab_size} must be at least 2")
    return 100.0 * (1.0 - float(loss) / math.log(vocab_size))


def glue_average(task_scores: dict[str, float], scored: list[str]) -> float:
    """Mean of the scored tasks' primary metrics; NaN if any scored task is missing (no silent partial average)."""
    values = [task_scores.get(task, math.nan) for task in scored]
    if not values or any(math.isnan(v) for v in values):
        return math.nan
    return float(np.mean(values))
