"""The hardware-objective run: time every level-1 card on this machine into journal shards, resumably.

Cards are measured in one fixed, seeded shuffle of the level-1 space, so whatever prefix
a run has finished is a uniform sample of the space (a partial table is still unbiased).
The order is cut into chunks; chunk ``k`` is written to ``chunk-<k>.jsonl`` in the output
folder, and a chunk holding all of its cards is finished (it can be committed). Every
``every`` cards, and first thing in every session, the fixed reference card is measured
again (:mod:`flexibench.bench.latency_table` normalises drift with it). Each measurement is
fsync'd as one journal line, so a killed run loses at most the card it was timing, and
running the same command again skips every card already in the folder. ``part=(i, n)``
takes only the chunks ``k`` with ``k % n == i``, so ``n`` processes (or machines of the
same class) can share one folder without writing to the same file.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flexibench.bench.journal import JournalWriter, expand_shard_paths
from flexibench.bench.latency_table import FORMAT, KIND, MACHINE_KEYS, read_latency
from flexibench.core import DesignSpace, ModelCard, card_hash
from flexibench.core.errors import DataError

LEVEL = 1
ORDER_SEED = 2026
CHUNK_SIZE = 240  # 39 chunks over the 9,312 level-1 cards
EVERY = 20
REFERENCE = "bert-mini"  # a level-1 card near the space's median cost (docs/table.md)


def run_order(space: DesignSpace, seed: int = ORDER_SEED) -> list[int]:
    """Level-1 space indices in the run's fixed shuffled order."""
    order = list(range(space.count(LEVEL)))
    random.Random(seed).shuffle(order)
    return order


@dataclass
class RunProgress:
    """How far a latency folder is: cards measured, chunks finished, per-card cost so far."""

    total: int
    measured: int
    finished_chunks: list[int]
    chunks: int
    references: int
    cost_s: float | None  # median seconds between two consecutive card measurements (the wall cost per card)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def progress(out: str | Path, space: DesignSpace | None = None, chunk_size: int = CHUNK_SIZE) -> RunProgress:
    """Read a latency folder and say how far it is (torch-free)."""
    space = space or DesignSpace.default()
    order = run_order(space)
    payloads = read_latency([out]) if Path(out).is_dir() and expand_shard_paths([out]) else []
    cards = [p for p in payloads if p["role"] == "card"]
    measured = {p["space_index"] for p in cards}
    chunks = [order[i : i + chunk_size] for i in range(0, len(order), chunk_size)]
    finished = [k for k, chunk in enumerate(chunks) if all(i in measured for i in chunk)]
    gaps = []
    by_session: dict[str, list[float]] = {}
    for p in cards:
        by_session.setdefault(p["session"], []).append(_dt.datetime.fromisoformat(p["timestamp"]).timestamp())
    for stamps in by_session.values():
        stamps.sort()
        gaps += [b - a for a, b in zip(stamps, stamps[1:])]
    gaps.sort()
    return RunProgress(
        total=len(order),
        measured=len(measured),
        finished_chunks=finished,
        chunks=len(chunks),
        references=len(payloads) - len(cards),
        cost_s=gaps[len(gaps) // 2] if gaps else None,
    )


def run(
    out: str | Path,
    *,
    space: DesignSpace | None = None,
    limit: int | None = None,
    every: int = EVERY,
    chunk_size: int = CHUNK_SIZE,
    reference: str = REFERENCE,
    settings: Any = None,
    part: tuple[int, int] = (0, 1),
    log: Callable[[str], None] | None = None,
) -> int:
    """Measure the level-1 cards not yet in ``out``; returns how many cards this call measured.

    ``limit`` stops after that many cards (with a closing reference measurement). ``part``
    ``(i, n)`` measures only chunks ``k`` with ``k % n == i``. Resuming
    under other settings, or on a machine that differs in :data:`MACHINE_KEYS`, is refused:
    give it another folder.
    """
    from flexibench.models.latency import LatencySettings, machine_info, measure_card, pin_one_thread

    which, parts = part
    if not 0 <= which < parts:
        raise ValueError(f"part {which}/{parts}: want 0 <= i < n")
    pin_one_thread()
    space = space or DesignSpace.default()
    settings = settings or LatencySettings()
    out = Path(out)
    machine = machine_info()
    done: set[int] = set()
    seq = 0
    if out.is_dir() and expand_shard_paths([out]):
        earlier = read_latency([out])
        _check_resumable(earlier, json.loads(json.dumps(settings.to_dict())), machine, out)
        done = {p["space_index"] for p in earlier if p["role"] == "card"}
        seq = max((p["seq"] for p in earlier), default=-1) + 1
    ref_card = space.validate(ModelCard.named(reference), LEVEL)
    session = f"{_dt.datetime.now(_dt.timezone.utc).strftime('%Y%m%dT%H%M%SZ')}-{os.getpid()}"
    measure_card(ref_card, settings)  # untimed: first-call costs (kernel selection, lazy init) stay out of the data
    order = run_order(space)
    measured, since_ref = 0, every

    def record(writer: JournalWriter, card: ModelCard, index: int, role: str) -> None:
        nonlocal seq
        started = time.perf_counter()
        batches = measure_card(card, settings)
        writer.append_payload(
            {
                "kind": KIND,
                "format": FORMAT,
                "role": role,
                "card": card.to_json(),
                "card_hash": card_hash(card),
                "space_index": index,
                "level": LEVEL,
                "seq": seq,
                "session": session,
                "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds"),
                "settings": settings.to_dict(),
                "machine": machine,
                "batches": [b.to_dict() for b in batches],
                "measure_s": round(time.perf_counter() - started, 3),
            }
        )
        seq += 1

    ref_index = space.index_of(ref_card, LEVEL)
    writer, last_chunk = None, None
    try:
        for k in range(0, len(order), chunk_size):
            todo = [i for i in order[k : k + chunk_size] if i not in done]
            if not todo or (k // chunk_size) % parts != which:
                continue
            last_chunk = out / f"chunk-{k // chunk_size:03d}.jsonl"
            writer = JournalWriter(last_chunk)
            for index in todo:
                if limit is not None and measured >= limit:
                    break
                if since_ref >= every:
                    record(writer, ref_card, ref_index, "reference")
                    since_ref = 0
                record(writer, space.card_at(LEVEL, index), index, "card")
                measured += 1
                since_ref += 1
                if log and measured % every == 0:
                    log(f"{len(done) + measured} of {len(order)} cards measured")
            if limit is not None and measured >= limit:
                break
            writer.close()
            writer = None
        if measured and writer is None:
            writer = JournalWriter(last_chunk)  # this part's own last chunk: no file is shared between parts
        if measured:
            record(writer, ref_card, ref_index, "reference")  # closes the last cards' interpolation window
    finally:
        if writer is not None:
            writer.close()
    return measured


def _check_resumable(
    earlier: list[dict[str, Any]], settings: dict[str, Any], machine: dict[str, Any], out: Path
) -> None:
    if not earlier:
        return
    if earlier[0]["settings"] != settings:
        raise DataError(f"{out}: measured under other settings ({earlier[0]['settings']}); use another folder")
    differ = [k for k in MACHINE_KEYS if earlier[0]["machine"].get(k) != machine.get(k)]
    if differ:
        raise DataError(f"{out}: measured on another machine (differs in {differ}); use another folder")
