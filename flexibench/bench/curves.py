"""Learning curves out of result records: the score at every recorded checkpoint, as one array.

A record's held-out MLM checkpoints are its typed curve (``ResultRecord.heldout``; records
from before that field get it on read from their ``loss@k`` metrics), each loss turned into a
score with the harness's own :func:`~flexibench.core.tasks.mlm_score`. The score at step ``k``
is the harness's average over the scored tasks at ``k``
(:func:`~flexibench.core.tasks.glue_average`), so the last checkpoint of a finished run
reproduces the record's score exactly; a recipe that scores a fine-tuned task has no curve
(fine-tuning keeps no checkpoints). Checkpoints count pretraining steps; the curve's
``tokens_per_step`` (batch size x sequence length) turns them into tokens.

``pack`` stores one ``(records, checkpoints)`` float array per fidelity, NaN where a
record lacks a checkpoint (a run that diverged early), with the checkpoint grid and its
unit as attributes of the fidelity's group (:mod:`flexibench.bench.schema`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from flexibench.core.recipes import MLM_TASK
from flexibench.core.record import ResultRecord
from flexibench.core.tasks import glue_average, mlm_score

UNIT = "steps"  # what the checkpoints count: pretraining optimizer steps


def record_curve(record: ResultRecord) -> dict[int, float]:
    """``{step: score}`` at every checkpoint all the record's scored tasks recorded (empty if none)."""
    recipe = record.recipe if isinstance(record.recipe, dict) else {}
    scored = list(recipe.get("scored") or record.task_scores)
    vocab = int(recipe.get("vocab_size") or 0)
    if scored != [MLM_TASK] or record.heldout is None or vocab < 2:
        return {}
    curve = record.heldout
    return {k: glue_average({MLM_TASK: mlm_score(loss, vocab)}, scored) for k, loss in zip(curve.steps, curve.loss)}


def tokens_per_step(records: Sequence[ResultRecord]) -> int:
    """Tokens per pretraining step of the records' curves (0 if none has one): one recipe per fidelity."""
    return next((r.heldout.tokens_per_step for r in records if r.heldout is not None), 0)


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
