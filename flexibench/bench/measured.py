"""The measured layer: one fidelity's records, aggregated per card (what was trained, nothing predicted).

Like a tabular blackbox (syne-tune's ``BlackboxTabular``), it answers only for cards
that have records, at the recorded checkpoints, and knows nothing of surrogates or of
the facade's result objects: it hands back plain numbers, and
:class:`~flexibench.bench.benchmark.Benchmark` turns them into a ``QueryResult``.

Aggregates are arrays indexed by *measured card* ``m`` (``arch_rows[m]`` is its
``/archs`` row), so whole-table queries are numpy indexing. A card counts as measured
when at least one ``ok`` record has a finite score.
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Any

import numpy as np

from flexibench.bench import schema
from flexibench.bench.store import TableFile
from flexibench.core.record import STATUSES

_OK = STATUSES.index("ok")


class MeasuredFidelity:
    """One fidelity's ``/results`` group: records, per-card seed aggregates and learning curves."""

    def __init__(self, table: TableFile, name: str) -> None:
        prefix = f"{schema.RESULTS}/{name}"
        attrs = table.attrs(prefix)
        self.name = name
        self.tasks: list[str] = list(attrs.get("tasks", []))
        col = {c: table.read(f"{prefix}/{c}") for c in schema.RESULT_COLUMNS if c not in ("record", "device")}
        self.arch, self.seed, self.status = col["arch"], col["seed"], col["status"]
        self.score, self.task_scores = col["score"], col["task_scores"]
        self.pretrain, self.finetune = col["pretrain_time_s"], col["finetune_time_s"]
        self.budgets = np.asarray(attrs.get("curve_budgets") or [], np.int64)
        self.unit: str | None = attrs.get("curve_unit") if len(self.budgets) else None
        self.tokens_per_step = int(attrs.get("curve_tokens_per_step") or 0)
        has_curve = len(self.budgets) and table.has(f"{prefix}/curve")
        self.curve = table.read(f"{prefix}/curve") if has_curve else np.empty((len(self.arch), 0))
        self.ok = (self.status == _OK) & np.isfinite(self.score)
        # the checkpoint whose scores are the final scores (the recipe's last step), answered as the final score
        last = self.curve[self.ok, -1] if self.curve.shape[1] else None
        self.final_budget = (
            int(self.budgets[-1]) if last is not None and np.array_equal(last, self.score[self.ok]) else None
        )

        starts = np.flatnonzero(np.r_[True, self.arch[1:] != self.arch[:-1]]) if len(self.arch) else np.array([], int)
        stops = np.r_[starts[1:], len(self.arch)].astype(int)
        self.rows_of: dict[int, np.ndarray] = {int(self.arch[a]): np.arange(a, b) for a, b in zip(starts, stops)}
        measured = [(row, rows[self.ok[rows]]) for row, rows in self.rows_of.items() if self.ok[rows].any()]
        self.arch_rows = np.array([row for row, _ in measured], np.int64)
        self.ok_rows: list[np.ndarray] = [ok for _, ok in measured]
        self.index_of_row = {row: m for m, row in enumerate(self.arch_rows.tolist())}

    # ------------------------------------------------------------------ budgets
    def column(self, budget: int | None) -> int | None:
        """Curve column of ``budget`` (None: the final score, also for the checkpoint equal to it)."""
        from flexibench.bench.result import QueryError

        if budget is None or (self.final_budget is not None and budget == self.final_budget):
            return None
        if not len(self.budgets):
            raise QueryError(f"fidelity {self.name!r} records no learning curve: only its final score (budget=None)")
        match = np.flatnonzero(self.budgets == budget)
        if not len(match):
            raise QueryError(
                f"budget: {budget!r} is not a recorded checkpoint of fidelity {self.name!r}; "
                f"recorded: {self.budgets.tolist()} ({self.unit})"
            )
        return int(match[0])

    def budget_of(self, j: int | None) -> int | None:
        """The checkpoint a column answers, in :attr:`unit` (None for a fidelity without curves)."""
        if j is None:
            return self.final_budget if self.final_budget is not None else None
        return int(self.budgets[j])

    def time_share(self, j: int | None) -> float:
        """Share of the run's pretraining time spent by checkpoint column ``j`` (constant schedule: steps / steps)."""
        if j is None:
            return 1.0
        return float(self.budgets[j] / (self.final_budget or self.budgets[-1]))

    # ------------------------------------------------------------------ per-card aggregates (arrays over m)
    @cached_property
    def n_seeds(self) -> np.ndarray:
        return np.array([len(ok) for ok in self.ok_rows], np.int64)

    def _over_seeds(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and sample std (0 for one seed) of ``values[record]`` over each card's ok records."""
        mean = np.array([values[ok].mean() for ok in self.ok_rows], np.float64)
        std = np.array([values[ok].std(ddof=1) if len(ok) > 1 else 0.0 for ok in self.ok_rows], np.float64)
        return mean, std

    @cached_property
    def final(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean, std) of the score over seeds, per measured card."""
        return self._over_seeds(self.score)

    @cached_property
    def times(self) -> tuple[np.ndarray, np.ndarray]:
        """(pretrain, fine-tune) seconds, mean over seeds, per measured card."""
        return self._over_seeds(self.pretrain)[0], self._over_seeds(self.finetune)[0]

    def at_budget(self, j: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mean, std, n) of the score at checkpoint column ``j`` (None: final) over seeds with a value there."""
        if j is None:
            return (*self.final, self.n_seeds)
        return self._curve_stats[j]

    @cached_property
    def _curve_stats(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        out = []
        for j in range(self.curve.shape[1]):
            values = [self.curve[ok, j][np.isfinite(self.curve[ok, j])] for ok in self.ok_rows]
            with np.errstate(all="ignore"):
                mean = np.array([v.mean() if len(v) else math.nan for v in values])
            std = np.array([v.std(ddof=1) if len(v) > 1 else 0.0 for v in values])
            out.append((mean, std, np.array([len(v) for v in values], np.int64)))
        return out

    # ------------------------------------------------------------------ one card
    def seeds_of(self, row: int) -> np.ndarray:
        """Every record row of the card at ``/archs`` row ``row`` (any status)."""
        return self.rows_of.get(row, np.array([], np.int64))

    def aggregate(self, m: int, j: int | None = None) -> dict[str, Any]:
        """Measured card ``m`` averaged over its ok seeds, at checkpoint column ``j`` (None: final)."""
        mean, std, n = self.at_budget(j)
        ok = self.ok_rows[m]
        tasks: dict[str, float] = {}
        if self.tasks and j is None:
            with np.errstate(all="ignore"):
                means = np.nanmean(self.task_scores[ok], axis=0)
            tasks = {t: float(v) for t, v in zip(self.tasks, means) if not math.isnan(v)}
        pre, fine = self.times
        return {
            "score": float(mean[m]),
            "score_std": float(std[m]),
            "n_seeds": int(n[m]),
            "task_scores": tasks,
            "pretrain_time_s": float(pre[m]),
            "finetune_time_s": float(fine[m]),
        }

    def record(self, i: int, j: int | None = None) -> dict[str, Any]:
        """Record row ``i`` alone (one seed), at checkpoint column ``j`` (None: final)."""
        tasks = {}
        if j is None:
            tasks = {t: float(v) for t, v in zip(self.tasks, self.task_scores[i]) if not math.isnan(v)}
        return {
            "score": float(self.score[i] if j is None else self.curve[i, j]),
            "score_std": 0.0,
            "n_seeds": 1,
            "task_scores": tasks,
            "pretrain_time_s": float(self.pretrain[i]),
            "finetune_time_s": float(self.finetune[i]),
            "seed": int(self.seed[i]),
        }

    def curve_of(self, m: int) -> np.ndarray:
        """The (seeds, K) curve of measured card ``m`` (ok records only)."""
        return self.curve[self.ok_rows[m]]
