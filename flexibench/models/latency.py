"""CPU inference latency and peak memory of one card's encoder (the hardware objectives).

What is measured, and why so:

* the encoder forward (:class:`~flexibench.models.FlexiBERT`, no task head): the part every
  use of a card shares; a classifier head adds one small matrix product, an MLM head's
  decoder would add a vocabulary-sized product that says nothing about the architecture;
* fp32 weights and activations, ``model.eval()`` under ``torch.inference_mode()``, one
  thread (``torch.set_num_threads(1)`` for the measurement, the caller's setting restored
  after: with two or more threads on a shared machine the pool's spin-waits inflated one
  card's batch-1 CPU time 30-fold), token ids drawn from a fixed generator, no padding;
* per call both the wall time and the process CPU time. With one thread the CPU time is
  the compute a dedicated core would spend; on a machine shared with other work the wall
  time also counts the time the scheduler gave the core to someone else, so the CPU time
  is the primary figure and the wall time is kept beside it. Each batch size runs
  ``warmup`` untimed calls, then ``repeats`` timed ones; the median and the minimum are kept;
* peak memory as the extra resident memory at the worst moment of building the model and
  running the timed calls of one batch size (:class:`~flexibench.models.memory.PeakRSS`):
  weights plus activations plus workspace.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from flexibench.core import ModelCard
from flexibench.models.hardware import cpu_model
from flexibench.models.memory import PeakRSS
from flexibench.models.model import FlexiBERT


@dataclass(frozen=True)
class LatencySettings:
    """How one card is timed; stored with every measurement so runs under other settings never mix."""

    seq_len: int = 128
    batch_sizes: tuple[int, ...] = (1, 32)
    repeats: tuple[int, ...] = (15, 5)  # timed calls per batch size
    warmup: tuple[int, ...] = (3, 1)  # untimed calls per batch size
    vocab_size: int = 8192  # the recipes' WordPiece vocabulary (embedding size only; lookup cost is the same)
    precision: str = "fp32"
    seed: int = 0

    def __post_init__(self) -> None:
        if not (len(self.batch_sizes) == len(self.repeats) == len(self.warmup)):
            raise ValueError("batch_sizes, repeats and warmup need one entry per batch size")
        if self.precision != "fp32":
            raise ValueError("only fp32 is measured (the honest default for inference latency)")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BatchTiming:
    """One batch size's timed calls (milliseconds) and its peak memory (MiB)."""

    batch_size: int
    cpu_ms: list[float] = field(default_factory=list)
    wall_ms: list[float] = field(default_factory=list)
    peak_mib: float = float("nan")

    @property
    def cpu_median_ms(self) -> float:
        return statistics.median(self.cpu_ms)

    @property
    def wall_median_ms(self) -> float:
        return statistics.median(self.wall_ms)

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch_size": self.batch_size,
            "cpu_median_ms": self.cpu_median_ms,
            "cpu_min_ms": min(self.cpu_ms),
            "wall_median_ms": self.wall_median_ms,
            "wall_min_ms": min(self.wall_ms),
            "cpu_ms": [round(v, 4) for v in self.cpu_ms],
            "wall_ms": [round(v, 4) for v in self.wall_ms],
            "peak_mib": self.peak_mib,
        }


def pin_one_thread() -> None:
    """One intra-op and one inter-op thread: the latency a single core gives, free of thread-pool jitter."""
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set once in this process (it may be set only before any parallel work)
        pass


def measure_card(card: ModelCard, settings: LatencySettings | None = None) -> list[BatchTiming]:
    """Build ``card``'s encoder in fp32 and time its eval forward at every batch size of ``settings``."""
    settings = settings or LatencySettings()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _measure(card, settings)
    finally:
        torch.set_num_threads(threads)


def _measure(card: ModelCard, settings: LatencySettings) -> list[BatchTiming]:
    generator = torch.Generator().manual_seed(settings.seed)
    out: list[BatchTiming] = []
    with PeakRSS() as peak:
        model = FlexiBERT.from_card(card, settings.vocab_size, dropout=0.0, seed=settings.seed).eval()
        with torch.inference_mode():
            for batch, repeats, warmup in zip(settings.batch_sizes, settings.repeats, settings.warmup):
                ids = torch.randint(0, settings.vocab_size, (batch, settings.seq_len), generator=generator)
                timing = BatchTiming(batch)
                for _ in range(warmup):
                    model(ids)
                for _ in range(repeats):
                    cpu0, wall0 = time.process_time(), time.perf_counter()
                    model(ids)
                    timing.cpu_ms.append((time.process_time() - cpu0) * 1e3)
                    timing.wall_ms.append((time.perf_counter() - wall0) * 1e3)
                timing.peak_mib = peak.read()
                peak.reset()  # the next batch size's window starts here (weights stay counted)
                out.append(timing)
        del model
    return out


def machine_info() -> dict[str, Any]:
    """What the timings depend on: CPU model, cores, threads, torch and its CPU capability."""
    import os
    import platform

    capability = ""
    try:
        capability = torch.backends.cpu.get_cpu_capability()
    except AttributeError:
        pass
    return {
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "torch": torch.__version__,
        "cpu_capability": capability,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
