"""Latency shards -> table columns: check each measurement, normalise drift by the reference card.

A latency run (:mod:`flexibench.bench.latency_run`) writes one payload per measurement
into journal shards: ``role`` ``"card"`` for a card of the space, ``"reference"`` for the
fixed reference card it measures every ``every`` cards. This module is torch-free: it
reads those payloads, refuses a mix of machines or settings (timings from two machines
are not one column), and turns them into per-card columns.

Normalisation, and why: on a shared machine the speed a process gets drifts (other work,
frequency, cache pressure) over the hours a run takes. The reference card is timed in
the same conditions every ``every`` cards, so each card's time is divided by the
reference's time around it (linear interpolation in run order between the nearest
reference measurements of the same session before and after it; the one side when
only one exists) and multiplied by the median of all (filtered) reference measurements. A card
measured while everything ran 10% slow then reads as it would have in typical
conditions. The raw times are kept beside the normalised ones.

A single reference measurement can itself be hit by a burst of load (on the shared
2-core machine one read 44% slow while the others agreed to 3%), and interpolating
through it would mis-scale the 40 cards around it. So the reference series of each
session is first passed through a 3-point running median (the ends against their
linear extrapolation), which removes such a spike and leaves a linear drift exactly
as it was.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from flexibench.bench import schema
from flexibench.bench.journal import expand_shard_paths, read_payloads
from flexibench.core.errors import DataError

KIND = "latency"
FORMAT = 1
ROLES = ("card", "reference")
#: Keys every latency payload carries.
REQUIRED = ("kind", "format", "role", "card", "card_hash", "seq", "session", "settings", "machine", "batches")
#: Machine keys that must agree between all measurements of one table (the rest is informative).
MACHINE_KEYS = ("cpu_model", "threads", "torch", "cpu_capability")

#: Per-card /archs columns a table gains from latency shards (NaN where a card is unmeasured).
#: ``latency_ms`` is batch 1 (one request), the usual meaning of inference latency.
COLUMNS = tuple(schema.OPTIONAL_ARCH_COLUMNS)
#: Axis label of ``latency_ms`` in every figure (the settings ``flexibench latency run`` measures with).
LATENCY_LABEL = "CPU inference latency (ms, batch 1 x 128 tokens, fp32, 1 thread)"
#: Column -> (batch size, statistic) it is built from.
_SOURCE = {
    "latency_ms": (1, "norm"),
    "latency_b32_ms": (32, "norm"),
    "latency_raw_ms": (1, "cpu_median_ms"),
    "latency_b32_raw_ms": (32, "cpu_median_ms"),
    "latency_wall_ms": (1, "wall_median_ms"),
    "latency_b32_wall_ms": (32, "wall_median_ms"),
    "peak_memory_mib": (1, "peak_mib"),
    "peak_memory_b32_mib": (32, "peak_mib"),
}


def check_payload(payload: Any, where: str = "latency payload") -> dict[str, Any]:
    """A latency payload with every required key and sane values, else :class:`DataError`."""
    if not isinstance(payload, dict):
        raise DataError(f"{where}: not a JSON object")
    missing = [k for k in REQUIRED if k not in payload]
    if missing:
        raise DataError(f"{where}: missing {missing}")
    if payload["kind"] != KIND or payload["format"] != FORMAT:
        raise DataError(f"{where}: kind/format {payload['kind']!r}/{payload['format']!r}, expected {KIND!r}/{FORMAT}")
    if payload["role"] not in ROLES:
        raise DataError(f"{where}: role {payload['role']!r}, allowed {list(ROLES)}")
    if not isinstance(payload["seq"], int) or payload["seq"] < 0:
        raise DataError(f"{where}: seq {payload['seq']!r} is not a non-negative integer")
    batches = payload["batches"]
    if not isinstance(batches, list) or not batches:
        raise DataError(f"{where}: no batch timings")
    for batch in batches:
        for key in ("batch_size", "cpu_median_ms", "wall_median_ms", "peak_mib"):
            value = batch.get(key) if isinstance(batch, dict) else None
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise DataError(f"{where}: batch timing {key} = {value!r} is not a finite non-negative number")
        if batch["cpu_median_ms"] <= 0:
            raise DataError(f"{where}: a zero CPU time cannot be a forward pass")
    return payload


def read_latency(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """Every latency payload of the shards (files or folders), checked; one machine and one setting only."""
    out: list[dict[str, Any]] = []
    for path in expand_shard_paths(paths):
        for number, payload in read_payloads(path):
            out.append(check_payload(payload, f"{path}, line {number}"))
    if out:
        _check_one_setup(out)
    return out


def _check_one_setup(payloads: Sequence[dict[str, Any]]) -> None:
    first = payloads[0]
    for payload in payloads[1:]:
        if payload["settings"] != first["settings"]:
            raise DataError(
                f"latency measurements under different settings ({first['settings']} vs {payload['settings']}): "
                "pack the shards of one run"
            )
        differ = [k for k in MACHINE_KEYS if payload["machine"].get(k) != first["machine"].get(k)]
        if differ:
            raise DataError(f"latency measurements from different machines (they differ in {differ}): pack one")


def _stat(payload: dict[str, Any], batch: int, key: str) -> float:
    for timing in payload["batches"]:
        if timing["batch_size"] == batch:
            return float(timing[key])
    return math.nan


@dataclass
class LatencySummary:
    """What a set of latency shards holds: per-card values, the reference's spread, the machine."""

    values: dict[str, dict[str, float]]  # card hash -> column -> value
    machine: dict[str, Any]
    settings: dict[str, Any]
    reference: str  # the reference card's JSON
    reference_cpu_ms: dict[int, list[float]] = field(default_factory=dict)  # batch -> every measurement
    typical_cpu_ms: dict[int, float] = field(default_factory=dict)  # batch -> the time normalised values are scaled to
    cards_measured: int = 0
    reference_sessions: dict[int, list[list[float]]] = field(default_factory=dict)  # batch -> per session, seq order

    def spread(self, batch: int) -> dict[str, float]:
        """The reference's CPU-time median, and its spread: (max - min) / median and the coefficient of variation."""
        times = self.reference_cpu_ms.get(batch, [])
        if len(times) < 2:
            return {"n": len(times)}
        median = statistics.median(times)
        out = {
            "n": len(times),
            "median_ms": median,
            "range_over_median": (max(times) - min(times)) / median,
            "cv": statistics.stdev(times) / statistics.mean(times),
            "p95_over_p5": float(np.percentile(times, 95) / np.percentile(times, 5)),
        }
        local = self.neighbour_noise(batch)
        if local is not None:
            out["neighbour_log_deviation"] = local
        return out

    def neighbour_noise(self, batch: int) -> float | None:
        """Median ``|log(t_i / sqrt(t_{i-1} t_{i+1}))|`` of every reference inside its session.

        The spread over a whole run mixes slow drift (other load, which the normalisation divides out)
        with noise; a reference measurement's distance from what its two neighbours predict is the part
        drift cannot explain, so it bounds how well a card's normalised time can be known.
        """
        deviations = [
            math.log(t[i] / math.sqrt(t[i - 1] * t[i + 1]))
            for t in self.reference_sessions.get(batch, [])
            for i in range(1, len(t) - 1)
        ]
        return float(np.median(np.abs(deviations))) if deviations else None

    def attrs(self) -> dict[str, Any]:
        """What /archs records about the measurement (JSON-able): machine, settings, reference and its spread."""
        return {
            "machine": self.machine,
            "settings": self.settings,
            "reference_card": self.reference,
            "cards_measured": self.cards_measured,
            "reference_spread": {str(b): self.spread(b) for b in sorted(self.reference_cpu_ms)},
            "columns": {
                "latency_ms": "batch 1, CPU time per forward (median of repeats), normalised by the reference card",
                "latency_b32_ms": "batch 32, the same",
                "latency_raw_ms": "batch 1, CPU time median before normalisation",
                "latency_b32_raw_ms": "batch 32, the same",
                "latency_wall_ms": "batch 1, wall time median (counts time the shared core spent elsewhere)",
                "latency_b32_wall_ms": "batch 32, the same",
                "peak_memory_mib": "extra peak resident memory building the fp32 model and running batch 1",
                "peak_memory_b32_mib": "the same for batch 32",
            },
        }


def summarise(payloads: Sequence[dict[str, Any]]) -> LatencySummary:
    """Per-card columns from checked payloads (:func:`read_latency`), normalised by the reference card."""
    if not payloads:
        return LatencySummary({}, {}, {}, "")
    references = [p for p in payloads if p["role"] == "reference"]
    if not references:
        raise DataError("latency shards without a reference measurement cannot be normalised")
    batches = sorted({t["batch_size"] for p in payloads for t in p["batches"]})
    ref_times = {b: [_stat(p, b, "cpu_median_ms") for p in references] for b in batches}
    by_session: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for ref in references:
        by_session[ref["session"]].append(ref)
    raw: dict[str, dict[int, list[float]]] = {}  # session -> batch -> reference times in seq order
    for session, refs in by_session.items():
        refs.sort(key=lambda p: p["seq"])
        raw[session] = {b: [_stat(p, b, "cpu_median_ms") for p in refs] for b in batches}
    smooth = {session: {b: running_median(t) for b, t in times.items()} for session, times in raw.items()}
    # typical conditions: the median of the filtered reference times, so one spike does not move it either
    typical = {b: statistics.median([t for times in smooth.values() for t in times[b]]) for b in batches}
    values: dict[str, dict[str, float]] = {}
    for payload in payloads:
        if payload["role"] != "card":
            continue
        if payload["card_hash"] in values:
            raise DataError(f"card {payload['card_hash'][:12]} measured twice in the latency shards; keep one")
        row = {}
        for column, (batch, stat) in _SOURCE.items():
            if stat == "norm":
                session = payload["session"] if payload["session"] in by_session else None
                refs = by_session[session] if session else sorted(references, key=lambda p: p["seq"])
                times = (
                    smooth[session][batch]
                    if session
                    else running_median([_stat(p, batch, "cpu_median_ms") for p in refs])
                )
                local = _local_reference(refs, times, payload["seq"])
                row[column] = _stat(payload, batch, "cpu_median_ms") * typical[batch] / local
            else:
                row[column] = _stat(payload, batch, stat)
        values[payload["card_hash"]] = row
    return LatencySummary(
        values=values,
        machine=references[0]["machine"],
        settings=references[0]["settings"],
        reference=references[0]["card"],
        reference_cpu_ms=ref_times,
        typical_cpu_ms=typical,
        cards_measured=len(values),
        reference_sessions={b: [times[b] for times in raw.values()] for b in batches},
    )


def running_median(values: Sequence[float]) -> list[float]:
    """3-point running median; each end against its linear extrapolation (a straight line passes unchanged)."""
    v = list(values)
    if len(v) < 3:
        return v
    out = [statistics.median(v[i - 1 : i + 2]) for i in range(1, len(v) - 1)]
    inner = out if len(out) >= 2 else v[1:]  # extrapolate from filtered points where there are two
    first = statistics.median([v[0], inner[0], 2 * inner[0] - inner[1]])
    inner = out if len(out) >= 2 else v[:-1]
    last = statistics.median([v[-1], inner[-1], 2 * inner[-1] - inner[-2]])
    return [first, *out, last]


def _local_reference(refs: Sequence[dict[str, Any]], times: Sequence[float], seq: int) -> float:
    """The reference's (filtered) CPU time at run position ``seq``: interpolated between its neighbours."""
    seqs = [p["seq"] for p in refs]
    i = bisect.bisect_left(seqs, seq)
    if i == 0 or i == len(refs):
        return times[0] if i == 0 else times[-1]
    a, b = times[i - 1], times[i]
    w = (seq - seqs[i - 1]) / (seqs[i] - seqs[i - 1])
    return a + w * (b - a)


def columns_for(hashes: Sequence[str], summary: LatencySummary) -> dict[str, np.ndarray]:
    """The /archs latency columns in row order of ``hashes``: NaN for every card not measured (yet)."""
    out = {name: np.full(len(hashes), np.nan, np.float64) for name in COLUMNS}
    for i, card_hash in enumerate(hashes):
        row = summary.values.get(card_hash)
        if row is not None:
            for name in COLUMNS:
                out[name][i] = row[name]
    return out
