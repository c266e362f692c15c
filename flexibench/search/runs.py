"""Search trajectories read back from disk: one :class:`Run` per JSONL file, grouped by algorithm.

The leaderboard tables them and the plots draw them; both read runs through this module.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from flexibench.core.errors import FlexiBenchError
from flexibench.search.runner import read_trajectory


@dataclass
class Run:
    """One trajectory: its header and per-query arrays (in completion order)."""

    header: dict
    steps: np.ndarray
    time_s: np.ndarray
    best_score: np.ndarray  # best observed (noisy) score so far
    regret: np.ndarray  # NaN where the objective has no known optimum
    latency_s: np.ndarray
    transfers: int
    summary: dict = field(default_factory=dict)
    best_true: np.ndarray | None = None  # noise-free score of the incumbent (NaN where the objective has none)

    def __post_init__(self) -> None:
        if self.best_true is None:
            self.best_true = np.full(len(self.steps), np.nan)

    @property
    def label(self) -> str:
        return str(self.header["algo"])


def load_runs(dirs: Iterable[str | Path]) -> list[Run]:
    """Every ``*.jsonl`` trajectory under ``dirs`` (recursively)."""
    runs: list[Run] = []
    for d in dirs:
        root = Path(d)
        if not root.exists():
            raise FlexiBenchError(f"runs directory {root} does not exist")
        for path in sorted(root.rglob("*.jsonl")):
            records = read_trajectory(path)
            if not records or records[0].get("type") != "header":
                raise FlexiBenchError(f"{path} is not a search trajectory (first line must be a header record)")
            queries = [r for r in records if r["type"] == "query"]
            if not queries:
                continue
            runs.append(
                Run(
                    header=records[0],
                    steps=np.array([q["step"] for q in queries]),
                    time_s=np.array([q["time_s"] for q in queries], dtype=float),
                    best_score=np.array([q["best_score"] for q in queries], dtype=float),
                    regret=np.array([np.nan if q["regret"] is None else q["regret"] for q in queries], dtype=float),
                    latency_s=np.array([q["ask_latency_s"] for q in queries], dtype=float),
                    transfers=sum(bool(q["transferred"]) for q in queries),
                    summary=records[-1] if records[-1]["type"] == "summary" else {},
                    best_true=np.array(
                        [np.nan if q.get("best_true") is None else q["best_true"] for q in queries], dtype=float
                    ),
                )
            )
    if not runs:
        raise FlexiBenchError(f"no trajectories (*.jsonl with queries) under {', '.join(map(str, dirs))}")
    return runs


def group_runs(runs: Sequence[Run]) -> dict[str, list[Run]]:
    """Runs by algorithm; the label gets the encoding appended when runs mix encodings."""
    mixed = len({r.header.get("encoding") for r in runs}) > 1
    groups: dict[str, list[Run]] = defaultdict(list)
    for run in runs:
        label = f"{run.label} ({run.header.get('encoding')})" if mixed else run.label
        groups[label].append(run)
    return dict(sorted(groups.items()))
