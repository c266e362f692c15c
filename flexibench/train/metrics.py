"""GLUE metrics as the benchmark defines them, in percent.

CoLA: Matthews correlation; MRPC and QQP: F1 of the positive class and accuracy;
STS-B: Pearson and Spearman correlation; everything else: accuracy. The primary
metric of each task (the one entering the GLUE average) is the task's ``metric``.
Degenerate inputs (a constant prediction) give the value the definition gives
(MCC 0, correlation NaN -> 0 with a note) rather than an exception mid-sweep.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

from flexibench.core.tasks import task_spec


def _correlation(fn, preds: np.ndarray, labels: np.ndarray) -> float:  # noqa: ANN001 - scipy function
    if np.std(preds) == 0 or np.std(labels) == 0:
        return 0.0  # undefined for a constant; a constant predictor carries no information
    return float(fn(preds, labels)[0])


def task_metrics(task: str, predictions: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Every metric GLUE reports for ``task``, in percent; ``predictions`` are class ids or regression values."""
    spec = task_spec(task)
    preds = np.asarray(predictions)
    gold = np.asarray(labels)
    if preds.shape != gold.shape or preds.size == 0:
        raise ValueError(f"{task}: predictions {preds.shape} and labels {gold.shape} must be equal, non-empty")
    if spec.is_regression:
        preds = preds.astype(np.float64)
        gold = gold.astype(np.float64)
        return {
            "pearson": 100 * _correlation(stats.pearsonr, preds, gold),
            "spearman": 100 * _correlation(stats.spearmanr, preds, gold),
        }
    out = {"accuracy": 100 * float(accuracy_score(gold, preds))}
    if spec.metric == "mcc":
        out["mcc"] = 100 * float(matthews_corrcoef(gold, preds))
    if spec.metric == "f1":
        out["f1"] = 100 * float(f1_score(gold, preds, zero_division=0.0))
    return out
