"""The record schema: what a stored :class:`~flexibench.core.record.ResultRecord` may hold.

A journal line's checksum proves the line is what a writer wrote, not that a writer
wrote something sensible. This schema is the second gate, applied to every record
read from a shard (so by ``pack``, by a resuming sweep and by :func:`read_shard`
alike) and to every record before it is written:

- exactly the record's fields; ``card``, ``card_hash``, ``fidelity``, ``seed`` and ``status`` required;
- ``seed``, ``tokens_seen`` and ``params`` are JSON integers (not ``true``, not ``1.0``) in int64 range;
- every other number is finite or ``null`` (``null`` = not measured); losses and times are >= 0;
- scores are percentages: 0-100, or -100-100 for the correlation metrics (CoLA's MCC, STS-B's
  Pearson) and for a ``score`` averaged over one of them;
- ``status`` is one of :data:`~flexibench.core.record.STATUSES`; a record that is not ``ok`` has no score;
- ``fidelity`` is a printable name without ``/`` (it becomes an HDF5 group name);
- ``heldout`` (the held-out MLM curve) is ``null`` or ``{steps, loss, accuracy, tokens_per_step}``: steps
  JSON integers, positive and strictly increasing, one loss (>= 0) and one accuracy (0-100) per step, each
  finite or ``null``; a record with it keeps no ``loss@k`` / ``accuracy@k`` metrics (the form before it).

Non-finite numbers never reach a file: :func:`storable` writes them as ``null`` and, when the
value was a measured score or loss of an ``ok`` record, sets the status to ``diverged``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import fields, replace
from typing import Any

from flexibench.core.card import ModelCard
from flexibench.core.errors import CardError, DataError, shorten
from flexibench.core.heldout import FIELDS as HELDOUT_FIELDS
from flexibench.core.heldout import legacy_keys
from flexibench.core.record import STATUSES, ResultRecord

INT64 = 2**63
SIGNED_TASKS = frozenset({"cola", "stsb"})  # primary metric MCC / Pearson: -100..100 (tested against glue.py)
REQUIRED = ("card", "card_hash", "fidelity", "seed", "status")
MEASURED = ("score", "task_scores", "pretrain_loss", "finetune_losses")  # non-finite here means diverged
_HASH = re.compile(r"[0-9a-f]{64}|invalid")  # "invalid": the failed record of a card that did not parse
_FIELDS = tuple(f.name for f in fields(ResultRecord))


class RecordError(DataError):
    """A record breaks the record schema (the message names the field, the value and what is allowed)."""

    def __init__(self, field: str, value: Any, allowed: str) -> None:
        self.field = field
        super().__init__(f"{field}: {shorten(value)} is not allowed; allowed: {allowed}")


def is_signed_task(task: str) -> bool:
    return task.lower().replace("-", "").replace("_", "") in SIGNED_TASKS


def check_record(data: Any) -> dict[str, Any]:
    """Check a record as parsed from JSON; returns it with ``null`` numbers as NaN, ready for ``from_dict``.

    Raises :class:`RecordError` on the first field that breaks the schema.
    """
    if not isinstance(data, Mapping):
        raise RecordError("record", data, "a JSON object")
    unknown = sorted(str(k) for k in data if k not in _FIELDS)
    if unknown:
        raise RecordError(unknown[0], data[unknown[0]] if unknown[0] in data else "?", f"the fields {list(_FIELDS)}")
    missing = [name for name in REQUIRED if name not in data]
    if missing:
        raise RecordError(missing[0], "<missing>", f"a value for each of {list(REQUIRED)}")
    out = dict(data)
    _kind(out, "card", dict, "a card object")
    if not isinstance(out["card_hash"], str) or not _HASH.fullmatch(out["card_hash"]):
        raise RecordError("card_hash", out["card_hash"], "64 lower-case hex digits")
    if out["card_hash"] == "invalid":
        if out["status"] != "failed":
            raise RecordError("card_hash", "invalid", "'invalid' only in a failed record (a card that did not parse)")
    else:
        try:
            ModelCard.from_dict(out["card"])
        except CardError as exc:
            raise RecordError(f"card.{exc.field}", exc.value, exc.allowed) from None
    if not _is_fidelity(out["fidelity"]):
        raise RecordError("fidelity", out["fidelity"], "a printable name of 1-64 characters without '/' or edge spaces")
    if out["status"] not in STATUSES:
        raise RecordError("status", out["status"], list(STATUSES))
    for name, low in (("seed", -INT64), ("tokens_seen", 0), ("params", 0)):
        if name in out:
            _integer(name, out[name], low)
    for name in ("pretrain_loss", "pretrain_time_s", "finetune_time_s"):
        if name in out:
            out[name] = _number(name, out[name], 0.0, math.inf)
    for name in ("device", "machine", "timestamp"):
        if name in out:
            _kind(out, name, str, "a string")
    if out.get("cpu_time_s") is not None:
        out["cpu_time_s"] = _number("cpu_time_s", out["cpu_time_s"], 0.0, math.inf)
    for name in ("transfer_source", "error"):
        if out.get(name) is not None:
            _kind(out, name, str, "a string or null")
    for name in ("recipe", "splits", "versions"):
        if name in out:
            _kind(out, name, dict, "an object")
    tasks = _task_map(out, "task_scores", lambda task: (-100.0 if is_signed_task(task) else 0.0, 100.0))
    _task_map(out, "finetune_losses", lambda task: (0.0, math.inf))
    metrics = out.get("task_metrics", {})
    if not isinstance(metrics, dict):
        raise RecordError("task_metrics", metrics, "an object of task -> {metric: number or null}")
    out["task_metrics"] = {
        task: {
            str(key): _number(f"task_metrics[{task!r}][{key!r}]", value, -math.inf, math.inf)
            for key, value in _mapping(f"task_metrics[{task!r}]", values).items()
        }
        for task, values in metrics.items()
    }
    _heldout(out)
    low = -100.0 if any(is_signed_task(task) for task in tasks) else 0.0
    score = _number("score", out.get("score"), low, 100.0)
    if out["status"] != "ok" and not math.isnan(score):
        raise RecordError("score", score, f"null when the status is {out['status']!r} (only ok records are scored)")
    out["score"] = score
    return out


def storable(record: ResultRecord) -> ResultRecord:
    """The record as it may be stored: non-finite numbers as NaN (written ``null``), checked by the schema.

    A measured score or loss of ``inf`` in an ``ok`` record means training diverged, so such a
    record is stored with status ``diverged``, its score NaN and the fields named in ``error``.
    Raises :class:`RecordError` if the record still breaks the schema.
    """
    infinite = [name for name in MEASURED if _has_infinity(getattr(record, name))]
    if infinite and record.status == "ok":
        note = f"non-finite {', '.join(infinite)} (stored as null)"
        record = replace(
            record, status="diverged", score=math.nan, error=f"{record.error}; {note}" if record.error else note
        )
    check_record(json.loads(record.to_json()))
    return record


def _heldout(data: dict[str, Any]) -> None:
    """Check the held-out curve in place (``null`` metrics as NaN); a record has it or legacy keys, not both."""
    curve = data.get("heldout")
    if curve is None:
        return
    if not isinstance(curve, dict) or sorted(curve) != sorted(HELDOUT_FIELDS):
        raise RecordError("heldout", curve, f"null or an object with exactly the keys {list(HELDOUT_FIELDS)}")
    steps = curve["steps"]
    if not isinstance(steps, list):
        raise RecordError("heldout.steps", steps, "a list of JSON integers")
    for i, step in enumerate(steps):
        _integer(f"heldout.steps[{i}]", step, 1)
    if any(b <= a for a, b in zip(steps, steps[1:])):
        raise RecordError("heldout.steps", steps, "strictly increasing step counts")
    checked: dict[str, Any] = {"steps": list(steps)}
    checked["tokens_per_step"] = _integer("heldout.tokens_per_step", curve["tokens_per_step"], 0)
    for name, high in (("loss", math.inf), ("accuracy", 100.0)):
        values = curve[name]
        if not isinstance(values, list) or len(values) != len(steps):
            raise RecordError(f"heldout.{name}", values, f"a list of {len(steps)} numbers or nulls, one per step")
        checked[name] = [_number(f"heldout.{name}[{i}]", v, 0.0, high) for i, v in enumerate(values)]
    for task, values in data["task_metrics"].items():
        for key in legacy_keys(values):
            raise RecordError(
                f"task_metrics[{task!r}][{key!r}]", values[key], "no loss@k / accuracy@k metric beside heldout"
            )
    data["heldout"] = checked


def _is_fidelity(value: Any) -> bool:
    """A fidelity names an HDF5 group: no '/', not '.' or '..', printable, no surrounding spaces."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= 64
        and value.isprintable()
        and value == value.strip()
        and "/" not in value
        and value not in (".", "..")
    )


def _has_infinity(value: Any) -> bool:
    if isinstance(value, float):
        return math.isinf(value)
    if isinstance(value, dict):
        return any(_has_infinity(v) for v in value.values())
    return False


def _kind(data: dict[str, Any], name: str, kind: type, allowed: str) -> None:
    if not isinstance(data[name], kind):
        raise RecordError(name, data[name], allowed)


def _mapping(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RecordError(name, value, "an object")
    return value


def _integer(name: str, value: Any, low: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and low <= value < INT64:
        return value
    raise RecordError(name, value, f"a JSON integer in [{low}, 2^63)")


def _number(name: str, value: Any, low: float, high: float) -> float:
    """A finite number in [low, high], or null (returned as NaN)."""
    if value is None:
        return math.nan
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond any float
            number = math.inf
        if math.isfinite(number) and low <= number <= high:
            return number
    if math.isinf(high):
        allowed = "a finite number or null" if math.isinf(low) else f"a finite number >= {low:g} or null"
    else:
        allowed = f"a number in [{low:g}, {high:g}] or null"
    raise RecordError(name, value, allowed)


def _task_map(data: dict[str, Any], name: str, bounds: Any) -> dict[str, float]:
    values = _mapping(name, data.get(name, {}))
    out = {}
    for task, value in values.items():
        low, high = bounds(task)
        out[task] = _number(f"{name}[{task!r}]", value, low, high)
    data[name] = out
    return out
