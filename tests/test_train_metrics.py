"""GLUE metrics against scikit-learn and scipy."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

from flexibench.core.tasks import glue_average, primary_score
from flexibench.train.metrics import task_metrics

rng = np.random.default_rng(0)
y = rng.integers(0, 2, 200)
p = np.where(rng.random(200) < 0.7, y, 1 - y)


def test_cola_is_matthews() -> None:
    m = task_metrics("CoLA", p, y)
    assert math.isclose(m["mcc"], 100 * matthews_corrcoef(y, p)) and primary_score("CoLA", m) == m["mcc"]


def test_mrpc_and_qqp_report_f1_and_accuracy() -> None:
    for task in ("MRPC", "QQP"):
        m = task_metrics(task, p, y)
        assert math.isclose(m["f1"], 100 * f1_score(y, p)) and math.isclose(m["accuracy"], 100 * accuracy_score(y, p))
        assert primary_score(task, m) == m["f1"]


def test_stsb_pearson_spearman() -> None:
    gold = rng.random(100) * 5
    pred = gold + rng.normal(0, 1, 100)
    m = task_metrics("STS-B", pred, gold)
    assert math.isclose(m["pearson"], 100 * stats.pearsonr(pred, gold)[0])
    assert math.isclose(m["spearman"], 100 * stats.spearmanr(pred, gold)[0])
    assert task_metrics("STS-B", np.ones(100), gold)["pearson"] == 0.0  # constant prediction


def test_accuracy_elsewhere_and_nan_average() -> None:
    assert math.isclose(task_metrics("SST-2", p, y)["accuracy"], 100 * accuracy_score(y, p))
    assert glue_average({"SST-2": 80.0, "CoLA": 20.0}, ["SST-2", "CoLA"]) == 50.0
    assert math.isnan(glue_average({"SST-2": 80.0, "QNLI": math.nan}, ["SST-2", "QNLI"]))
