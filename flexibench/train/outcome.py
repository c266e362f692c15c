"""What an evaluation has measured so far, and the one builder of its :class:`ResultRecord`.

:func:`flexibench.train.evaluate.evaluate` fills a :class:`Measured` as training
goes (pretraining, then one task at a time) and turns it into a record whatever
the status; a sweep's worker that could not even start an evaluation (a malformed
card, a missing data folder) builds its ``failed`` record with :func:`record_of`
too, from the job's raw card and recipe. Torch-free: the sweep's parent process
builds records without importing the model code.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import traceback
from dataclasses import dataclass, field, fields
from typing import Any

from flexibench.core import ModelCard, card_hash
from flexibench.core.heldout import HeldoutCurve
from flexibench.core.record import ResultRecord


class Diverged(RuntimeError):
    """Training produced a NaN/inf or exploding loss; carries where it happened."""

    def __init__(self, phase: str, step: int, loss: float) -> None:
        self.phase, self.step, self.loss = phase, step, loss
        super().__init__(f"{phase} diverged at step {step}: loss {loss}")


class Outcome:
    """How training ended: ``ok``, ``diverged`` (:class:`Diverged`) or ``failed`` (any other error, with its trace).

    Used as ``with outcome:`` around training: the error is recorded, never raised, so one card
    cannot stop a sweep; an interrupt (``KeyboardInterrupt``, ``SystemExit``) still stops the run.
    """

    def __init__(self) -> None:
        self.status, self.error = "ok", None

    def __enter__(self) -> Outcome:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, trace: object) -> bool:
        if not isinstance(exc, Exception):
            return False
        if isinstance(exc, Diverged):
            self.status, self.error = "diverged", str(exc)
        else:
            stack = "".join(traceback.format_exception(kind, exc, trace, limit=4))
            self.status, self.error = "failed", f"{type(exc).__name__}: {exc}\n{stack}"
        return True


@dataclass
class Measured:
    """Everything an evaluation measured; tasks not (yet) run keep a NaN score."""

    task_scores: dict[str, float] = field(default_factory=dict)
    task_metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    finetune_losses: dict[str, float] = field(default_factory=dict)
    splits: dict[str, Any] = field(default_factory=dict)
    pretrain_loss: float = math.nan
    pretrain_time_s: float = 0.0
    finetune_time_s: float = 0.0
    cpu_time_s: float | None = 0.0  # None once any part of it is unknown (a resumed state that did not count it)
    tokens_seen: int = 0
    params: int = 0
    transfer_source: str | None = None
    heldout: HeldoutCurve | None = None

    @classmethod
    def for_tasks(cls, tasks: tuple[str, ...]) -> Measured:
        return cls(task_scores={task: math.nan for task in tasks})

    def task(self, name: str, score: float, metrics: dict[str, float], loss: float | None, split: dict) -> None:
        """One task's result (``loss`` None for tasks without a fine-tuning loss, e.g. held-out MLM)."""
        self.task_scores[name] = score
        self.task_metrics[name] = metrics
        if loss is not None:
            self.finetune_losses[name] = loss
        if split:
            self.splits[name] = split


def record_of(
    card: ModelCard | dict[str, Any],
    recipe: dict[str, Any],
    seed: int,
    *,
    status: str = "failed",
    score: float = math.nan,
    error: str | None = None,
    measured: Measured | None = None,
    **provenance: Any,
) -> ResultRecord:
    """The record of one evaluation; by default a ``failed`` one with nothing measured.

    ``card`` may be a raw dict that is not a valid card: the record then keeps it
    as given with card hash ``"invalid"``, so even a malformed job leaves a trace.
    ``provenance`` are further :class:`ResultRecord` fields (device, machine, versions).
    """
    try:
        parsed = card if isinstance(card, ModelCard) else ModelCard.from_dict(card)
        card_dict, digest = parsed.to_dict(), card_hash(parsed)
    except Exception:  # noqa: BLE001 - even a malformed card gets a record naming it
        card_dict, digest = dict(card), "invalid"
    # copied field by field, not with asdict(): that would turn the typed curve into a plain dict
    found = {f.name: copy.deepcopy(getattr(measured, f.name)) for f in fields(measured)} if measured else {}
    return ResultRecord(
        card=card_dict,
        card_hash=digest,
        fidelity=str(recipe.get("name", "?")),
        seed=int(seed),
        status=status,
        score=score if status == "ok" else math.nan,
        recipe=dict(recipe),
        timestamp=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        error=error,
        **found,
        **provenance,
    )
