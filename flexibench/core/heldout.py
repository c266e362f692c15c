"""The held-out masked-LM learning curve of one run, as a typed part of its record.

A recipe with ``heldout_every > 0`` scores the held-out blocks every that many pretraining
steps; the table turns those checkpoints into scores at lower budgets, the prefix cutter into
records of shorter recipes, and the weight-transfer study into steps-to-match. All of them read
one :class:`HeldoutCurve` (``ResultRecord.heldout``) instead of parsing metric names.

Records written before this field existed kept the curve as ``loss@<step>`` and
``accuracy@<step>`` keys of ``task_metrics["MLM"]``; :func:`split_legacy` lifts those keys
into a curve when such a record is read, so old shards load unchanged and every reader sees
one form.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flexibench.core.errors import DataError

_LEGACY_KEY = re.compile(r"(loss|accuracy)@([0-9]+)")  # the pre-field form of one checkpoint's metric
FIELDS = ("steps", "loss", "accuracy", "tokens_per_step")


@dataclass(frozen=True)
class HeldoutCurve:
    """Held-out MLM loss (nats per masked token) and accuracy (%) after each checkpoint's step count.

    ``steps`` are pretraining optimizer steps, strictly increasing; the last is the run's
    final step when the run finished. ``tokens_per_step`` (batch size x sequence length,
    0 when unknown) turns steps into tokens. A metric that was not measured is NaN.
    """

    steps: tuple[int, ...]
    loss: tuple[float, ...]
    accuracy: tuple[float, ...]
    tokens_per_step: int = 0

    def __post_init__(self) -> None:
        if not (len(self.steps) == len(self.loss) == len(self.accuracy)):
            raise DataError(
                f"held-out curve: {len(self.steps)} steps but {len(self.loss)} losses and "
                f"{len(self.accuracy)} accuracies"
            )
        if any(b <= a for a, b in zip(self.steps, self.steps[1:])) or (self.steps and self.steps[0] <= 0):
            raise DataError(f"held-out curve: steps {list(self.steps)} are not positive and strictly increasing")

    @classmethod
    def from_checkpoints(cls, checkpoints: Mapping[int, Mapping[str, float]], tokens_per_step: int) -> HeldoutCurve:
        """The curve of ``{step: {"loss", "accuracy", ...}}``, as pretraining returns it."""
        steps = sorted(int(k) for k in checkpoints)
        return cls(
            steps=tuple(steps),
            loss=tuple(float(checkpoints[k].get("loss", math.nan)) for k in steps),
            accuracy=tuple(float(checkpoints[k].get("accuracy", math.nan)) for k in steps),
            tokens_per_step=int(tokens_per_step),
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HeldoutCurve:
        """The curve of its JSON form (``null`` metrics read as NaN)."""

        def numbers(name: str) -> tuple[float, ...]:
            return tuple(math.nan if v is None else float(v) for v in data.get(name, ()))

        return cls(
            steps=tuple(int(k) for k in data.get("steps", ())),
            loss=numbers("loss"),
            accuracy=numbers("accuracy"),
            tokens_per_step=int(data.get("tokens_per_step") or 0),
        )

    @property
    def tokens(self) -> tuple[int, ...]:
        """Tokens seen at each checkpoint (0s when ``tokens_per_step`` is unknown)."""
        return tuple(k * self.tokens_per_step for k in self.steps)

    def at(self, step: int) -> tuple[float, float]:
        """``(loss, accuracy)`` after ``step`` steps; :class:`DataError` when ``step`` is not a checkpoint."""
        if step not in self.steps:
            raise DataError(f"no held-out checkpoint at step {step}; recorded: {list(self.steps)}")
        i = self.steps.index(step)
        return self.loss[i], self.accuracy[i]

    def losses(self) -> dict[int, float]:
        """``{step: loss}`` at every checkpoint whose loss was measured."""
        return {k: v for k, v in zip(self.steps, self.loss) if not math.isnan(v)}

    def until(self, step: int) -> HeldoutCurve:
        """The checkpoints up to and including ``step``: the curve a run stopped there would have."""
        keep = [i for i, k in enumerate(self.steps) if k <= step]
        return HeldoutCurve(
            tuple(self.steps[i] for i in keep),
            tuple(self.loss[i] for i in keep),
            tuple(self.accuracy[i] for i in keep),
            self.tokens_per_step,
        )


def tokens_per_step(recipe: Mapping[str, Any]) -> int:
    """Tokens one pretraining step sees under a recipe dict (batch size x sequence length; 0 if unknown)."""
    pretrain = recipe.get("pretrain") if isinstance(recipe, Mapping) else None
    if not isinstance(pretrain, Mapping):
        return 0
    return int(pretrain.get("batch_size") or 0) * int(pretrain.get("seq_len") or 0)


def legacy_keys(metrics: Mapping[str, Any]) -> list[str]:
    """The ``loss@k`` / ``accuracy@k`` keys of one task's metrics (the curve's form before the field)."""
    return [key for key in metrics if isinstance(key, str) and _LEGACY_KEY.fullmatch(key)]


def split_legacy(metrics: Mapping[str, Any], tokens: int) -> tuple[dict[str, Any], HeldoutCurve | None]:
    """Old-format MLM metrics as (the final metrics, the curve their ``loss@k`` keys held).

    A step with only one of the two metrics gets NaN for the other; a ``null`` value is NaN.
    Returns the metrics unchanged and None when they hold no such key.
    """
    found: dict[int, dict[str, float]] = {}
    rest: dict[str, Any] = {}
    for key, value in metrics.items():
        match = _LEGACY_KEY.fullmatch(key) if isinstance(key, str) else None
        if match is None:
            rest[key] = value
            continue
        found.setdefault(int(match[2]), {})[match[1]] = math.nan if value is None else float(value)
    if not found:
        return dict(metrics), None
    return rest, HeldoutCurve.from_checkpoints(found, tokens)
