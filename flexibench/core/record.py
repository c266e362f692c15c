"""``ResultRecord``: one finished evaluation of one card under one recipe and seed.

This is the contract between the training harness (which produces records), the
journal shards (which persist them) and the packed table (which aggregates them).
Everything needed to trust or reproduce a number travels with it: the recipe,
how task splits were carved, the machine, library versions and timings.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from flexibench.core.errors import DataError
from flexibench.core.heldout import HeldoutCurve, split_legacy, tokens_per_step
from flexibench.core.recipes import MLM_TASK

STATUSES = ("ok", "diverged", "failed")


@dataclass(frozen=True)
class ResultRecord:
    """A measured evaluation. Scores are percentages (0-100, GLUE convention); NaN = not run.

    ``key`` = (card hash, fidelity, seed) identifies the evaluation: a table keeps one
    record per key.
    """

    card: dict[str, Any]
    card_hash: str
    fidelity: str
    seed: int
    status: str = "ok"
    score: float = math.nan  # mean of the recipe's scored tasks
    task_scores: dict[str, float] = field(default_factory=dict)  # primary metric per task
    task_metrics: dict[str, dict[str, float]] = field(default_factory=dict)  # every final metric per task
    heldout: HeldoutCurve | None = None  # the held-out MLM learning curve, when the recipe keeps one
    pretrain_loss: float = math.nan
    finetune_losses: dict[str, float] = field(default_factory=dict)
    pretrain_time_s: float = 0.0
    finetune_time_s: float = 0.0
    # process CPU seconds of pretraining and fine-tuning, summed over resumes: the cost that neither other load on
    # the machine nor a paused sweep stretches; None where not measured (older records, states saved without it)
    cpu_time_s: float | None = None
    tokens_seen: int = 0
    params: int = 0
    device: str = "cpu"
    machine: str = ""
    transfer_source: str | None = None  # card hash the weights came from, if any
    recipe: dict[str, Any] = field(default_factory=dict)
    splits: dict[str, Any] = field(default_factory=dict)  # how each task split was carved
    versions: dict[str, str] = field(default_factory=dict)
    timestamp: str = ""
    error: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise DataError(f"record status {self.status!r} is not one of {STATUSES}")
        if not isinstance(self.seed, int):
            raise DataError(f"record seed {self.seed!r} is not an integer")

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.card_hash, self.fidelity, self.seed)

    @property
    def total_time_s(self) -> float:
        return self.pretrain_time_s + self.finetune_time_s

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        """Canonical JSON (sorted keys; NaN and +-inf written as null so any JSON reader accepts it)."""
        return json.dumps(_nan_to_none(self.to_dict()), sort_keys=True, separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResultRecord:
        """The record of its JSON form; a record from before the ``heldout`` field gets it from ``loss@k`` keys."""
        known = {f.name for f in fields(cls)}
        missing = [name for name in ("card", "card_hash", "fidelity", "seed") if name not in data]
        if missing:
            raise DataError(f"record is missing field(s) {missing}")
        values = {k: v for k, v in data.items() if k in known}
        for name in ("score", "pretrain_loss"):
            if values.get(name) is None:
                values[name] = math.nan
        for name in ("task_scores", "finetune_losses"):
            values[name] = {k: (math.nan if v is None else float(v)) for k, v in (values.get(name) or {}).items()}
        if isinstance(values.get("heldout"), dict):
            values["heldout"] = HeldoutCurve.from_dict(values["heldout"])
        elif values.get("heldout") is None and isinstance((values.get("task_metrics") or {}).get(MLM_TASK), dict):
            values["task_metrics"], values["heldout"] = _lift_legacy_curve(values["task_metrics"], values)
        return cls(**values)


def _lift_legacy_curve(
    task_metrics: dict[str, dict[str, float]], values: dict[str, Any]
) -> tuple[dict[str, dict[str, float]], HeldoutCurve | None]:
    """Task metrics without the old ``loss@k`` / ``accuracy@k`` keys of task MLM, and the curve they held."""
    recipe = values.get("recipe")
    final, curve = split_legacy(task_metrics[MLM_TASK], tokens_per_step(recipe if isinstance(recipe, dict) else {}))
    if curve is None:
        return task_metrics, None
    return {**task_metrics, MLM_TASK: final}, curve


def _nan_to_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nan_to_none(v) for v in value]
    return value
