"""Learning curves out of result records: the score at every recorded checkpoint, as one array.

A record keeps each scored task's checkpoints in ``task_metrics[task]``: ``score@k``
where the harness wrote it, else (held-out masked LM) ``loss@k``, turned into a score
with the harness's own :func:`~flexibench.core.tasks.mlm_score`. The score at step
``k`` is the harness's average over the scored tasks at ``k``
(:func:`~flexibench.core.tasks.glue_average`), so the last checkpoint of a finished
run reproduces the record's score exactly. Checkpoints count pretraining steps; a
fidelity's ``tokens_per_step`` (batch size x sequence length) turns them into tokens.

``pack`` stores one ``(records, checkpoints)`` float array per fidelity, NaN where a
record lacks a checkpoint (a run that diverged early), with the checkpoint grid and its
unit as attributes of the fidelity's group (:mod:`flexibench.bench.schema`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from flexibench.core.record import ResultRecord
from flexibench.core.tasks import glue_average, mlm_score

UNIT = "steps"  # what the checkpoints count: pretraining optimizer steps


def record_curve(record: ResultRecord) -> dict[int, float]:
    """``{step: score}`` at every checkpoint all the record's scored tasks recorded (empty if none)."""
    recipe = record.recipe if isinstance(record.recipe, dict) else {}
    scored = list(recipe.get("scored") or record.task_scores)
    vocab = int(recipe.get("vocab_size") or 0)
    per_task: dict[str, dict[int, float]] = {}
    for task in scored:
        metrics = record.task_metrics.get(task) or {}
        points = _checkpoints(metrics, "score")
        if not points and vocab >= 2:
            points = {k: mlm_score(loss, vocab) for k, loss in _checkpoints(metrics, "loss").items()}
        per_task[task] = points
    if not per_task or not all(per_task.values()):
        return {}
    steps = sorted(set.intersection(*(set(points) for points in per_task.values())))
    return {k: glue_average({t: points[k] for t, points in per_task.items()}, scored) for k in steps}


def _checkpoints(metrics: dict[str, Any], name: str) -> dict[int, float]:
    out = {}
    for key, value in metrics.items():
        metric, _, step = key.partition("@")
        if metric == name and step.isdigit() and value is not None:
            out[int(step)] = float(value)
    return out


def curve_column(records: Sequence[ResultRecord]) -> tuple[np.ndarray, list[int]]:
    """The ``(len(records), K)`` score array over the union of the records' checkpoints, and those K steps."""
    curves = [record_curve(r) for r in records]
    budgets = sorted({k for curve in curves for k in curve})
    out = np.full((len(records), len(budgets)), math.nan)
    column = {k: j for j, k in enumerate(budgets)}
    for i, curve in enumerate(curves):
        for k, value in curve.items():
            out[i, column[k]] = value
    return out, budgets


def tokens_per_step(recipe: dict[str, Any]) -> int:
    """Tokens one pretraining step sees under ``recipe`` (batch size x sequence length; 0 if unknown)."""
    pretrain = recipe.get("pretrain") or {}
    return int(pretrain.get("batch_size") or 0) * int(pretrain.get("seq_len") or 0)
