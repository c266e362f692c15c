"""Shared by the search reproductions (Figures 4 and 5, Appendix B.5): which table, resumable runs, curves.

Not a figure itself. Trajectories go to ``paper_repro/runs/<table id>/<setting>/`` so
that a repacked table never mixes with old runs, and a second invocation (or another
script asking for the same setting, e.g. Figure 5 reusing Figure 4's Transformer2vec
runs on the full space) only runs the (algorithm, seed) pairs that are missing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import t as student_t

from flexibench.bench.cost import evaluation_cost_s
from flexibench.search import Encoding, read_trajectory, run_many
from flexibench.search.runner import ObjectiveLike

HERE = Path(__file__).resolve().parent
RUNS = HERE / "runs"
LABELS = {  # how the figures name the registry's algorithms
    "rs": "RS",
    "re": "ES (RE)",
    "reinforce": "REINFORCE",
    "gpbo": "GP-BO",
    "bananas": "BANANAS",
    "boshnas": "BOSHNAS",
    "boshnas-first-order": "BOSHNAS w/o second order",
    "boshnas-homoscedastic": "BOSHNAS w/o heteroscedastic",
}


def add_table_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every search reproduction shares: processes, table file, fidelity."""
    parser.add_argument("--processes", type=int, default=1, help="parallel processes (default 1)")
    parser.add_argument("--table", default=None, help="packed table (default: data/flexibench.h5)")
    parser.add_argument("--fidelity", default=None, help="fidelity (default: the table's default)")


def split_names(text: str) -> tuple[str, ...]:
    """``"a, b,,c"`` -> ``("a", "b", "c")``: a comma-separated command-line list."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def command_line(script: str, argv: Sequence[str] | None) -> str:
    """The command a generated ``.md`` records: ``python paper_repro/<script> <arguments>``."""
    arguments = argv if argv is not None else sys.argv[1:]
    return f"python paper_repro/{script} {' '.join(arguments)}".strip()


def table_id(bench: Any) -> str:
    """Twelve hex digits that change whenever the packed table changes (from its stored checksums)."""
    meta = bench._table.meta
    digest = meta.get("attrs_checksum") or hashlib.sha256(str(meta.get("checksums", "")).encode()).hexdigest()
    return str(digest)[:12]


def table_version(bench: Any) -> str:
    """How the outputs name the table they were made on: creation time and :func:`table_id`."""
    return f"{bench.meta.get('created', 'unknown date')} (id {table_id(bench)}, {bench.path.name})"


def table_objective(bench: Any, fidelity: str, processes: int = 1) -> Any:
    """The table objective; with several processes a picklable factory, so each worker opens the file itself."""
    import functools

    from flexibench.search.objective import TableObjective

    if processes > 1:
        return functools.partial(TableObjective.from_path, str(bench.path), fidelity)
    return TableObjective(bench, fidelity)


def trajectory_path(out_dir: Path, algo: str, seed: int) -> Path:
    return Path(out_dir) / f"{algo}-seed{seed}.jsonl"


def is_complete(path: Path, budget: int, encoding: Encoding, optimizer_kwargs: dict[str, Any] | None) -> bool:
    """True when ``path`` is a finished run with this budget, pool and optimizer options (so it can be reused)."""
    if not path.is_file():
        return False
    try:
        records = read_trajectory(path)
    except (OSError, json.JSONDecodeError):
        return False
    if len(records) < 2 or records[0].get("type") != "header" or records[-1].get("type") != "summary":
        return False
    header = records[0]
    return (
        header.get("budget") == budget
        and header.get("encoding") == encoding.name
        and header.get("pool") == len(encoding)
        and (header.get("optimizer_kwargs") or {}) == (optimizer_kwargs or {})
    )


def ensure_runs(
    algos: Sequence[str],
    seeds: Sequence[int],
    objective: ObjectiveLike,
    budget: int,
    encoding: Encoding,
    out_dir: Path,
    *,
    processes: int = 1,
    optimizer_kwargs: dict[str, dict[str, Any]] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, list[Path]]:
    """Trajectories of every (algorithm, seed), running only those not already complete in ``out_dir``."""
    out_dir = Path(out_dir)
    paths: dict[str, list[Path]] = {}
    for algo in algos:
        kwargs = (optimizer_kwargs or {}).get(algo)
        missing = [s for s in seeds if not is_complete(trajectory_path(out_dir, algo, s), budget, encoding, kwargs)]
        common = dict(
            budget=budget,
            encoding=encoding,
            out_dir=out_dir,
            processes=processes,
            optimizer_kwargs={algo: kwargs} if kwargs else None,
            progress=progress,
        )
        if missing:
            run_many([algo], objective, seeds=missing, **common)  # each run's summary holds its CPU seconds
        paths[algo] = [trajectory_path(out_dir, algo, s) for s in seeds]
    return paths


CPU_FILE = "cpu_seconds.json"  # older runs' CPU seconds; newer runs keep theirs in the trajectory's summary


def cpu_of(path: Path) -> float:
    """CPU seconds of a run written before trajectories held them, from the side file of that time (else NaN)."""
    file = path.parent / CPU_FILE
    if not file.is_file():
        return math.nan
    return float(json.loads(file.read_text()).get(path.stem, math.nan))


@dataclass
class Curves:
    """Per-run best-so-far curves of one algorithm (rows: runs, columns: queries 1..budget)."""

    best_observed: np.ndarray  # the best noisy score the algorithm saw
    best_true: np.ndarray  # the noise-free score (seed mean or surrogate mean) of that incumbent
    wall_s: np.ndarray  # wall seconds per run (ask + table lookups)
    cpu_s: np.ndarray  # CPU seconds per run (NaN for runs made in a process pool before the summary held them)
    charged_s: np.ndarray  # simulated training seconds charged (transferred cards: the objective's transferred cost)
    full_s: np.ndarray  # simulated seconds had every card been pretrained (no transfer)
    finetune_s: np.ndarray  # the fine-tuning part of full_s
    transfers: np.ndarray
    incumbents: list[dict[str, Any]]  # final best card per run (its card JSON, observed and true score)
    observed: list[list[tuple[str, float, float]]]  # per run: (card JSON, observed, true) per query

    @property
    def runs(self) -> int:
        return int(self.best_true.shape[0])


def load_curves(paths: Iterable[Path], budget: int, transfer_share: float | None = None) -> Curves:
    """Read trajectories into :class:`Curves`; a run shorter than ``budget`` is padded with its last value.

    ``transfer_share`` re-prices transferred cards as fine-tuning plus that share of their
    pretraining (e.g. the share ``table6_transfer.py`` measured) with the one price of
    :mod:`flexibench.bench.cost`; ``None`` keeps the charge the runner recorded. With one worker
    the trajectory does not depend on the charge.
    """
    obs, true, wall, cpu, charged, full, finetune, transfers = [], [], [], [], [], [], [], []
    incumbents, observed = [], []
    for path in paths:
        records = read_trajectory(path)
        queries = [r for r in records if r["type"] == "query"]
        summary = records[-1]

        def padded(key: str, queries: list[dict[str, Any]] = queries) -> np.ndarray:
            values = np.array([q[key] for q in queries[:budget]], dtype=float)
            return np.pad(values, (0, budget - len(values)), mode="edge")

        obs.append(padded("best_score"))
        true.append(padded("best_true"))
        wall.append(float(summary.get("wall_s", math.nan)))
        cpu.append(float(summary.get("cpu_s", cpu_of(Path(path)))))  # runs before the summary held it: the side file
        if transfer_share is None:
            charged.append(sum(q["cost_s"] for q in queries))
        else:
            charged.append(
                sum(
                    evaluation_cost_s(q["pretrain_s"], q["finetune_s"], bool(q["transferred"]), transfer_share)
                    for q in queries
                )
            )
        full.append(sum(q["pretrain_s"] + q["finetune_s"] for q in queries))
        finetune.append(sum(q["finetune_s"] for q in queries))
        transfers.append(sum(bool(q["transferred"]) for q in queries))
        incumbents.append(
            {"card": summary["best_card"], "observed": summary["best_score"], "true": summary["best_true"]}
        )
        observed.append([(json.dumps(q["card"], sort_keys=True), q["score"], q["true_score"]) for q in queries])
    return Curves(
        np.array(obs),
        np.array(true),
        np.array(wall),
        np.array(cpu),
        np.array(charged),
        np.array(full),
        np.array(finetune),
        np.array(transfers),
        incumbents,
        observed,
    )


def one_sided_p(better: np.ndarray, worse: np.ndarray) -> float | None:
    """One-sided Mann-Whitney p that ``better``'s values exceed ``worse``'s (None: < 2 runs each, or no spread)."""
    from scipy.stats import mannwhitneyu

    better, worse = np.asarray(better, dtype=float), np.asarray(worse, dtype=float)
    if len(better) < 2 or len(worse) < 2 or np.ptp(np.r_[better, worse]) == 0:
        return None
    return float(mannwhitneyu(better, worse, alternative="greater").pvalue)


def versus(label: str, better: np.ndarray, worse: np.ndarray) -> str:
    """``"<label> +0.12 (p=0.034)"``: mean gain of ``better`` over ``worse`` and its :func:`one_sided_p`."""
    p = one_sided_p(better, worse)
    return f"{label} {np.mean(better) - np.mean(worse):+.2f}" + ("" if p is None else f" (p={p:.2g})")


def ci90(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and half-width of its 90% Student-t confidence interval (the paper's figures use 90%)."""
    values = np.asarray(values, dtype=float)
    n = values.shape[axis]
    mean = values.mean(axis=axis)
    if n < 2:
        return mean, np.zeros_like(mean)
    half = student_t.ppf(0.95, n - 1) * values.std(axis=axis, ddof=1) / math.sqrt(n)
    return mean, half


def pool_optimum(bench: Any, fidelity: str, encoding: Encoding) -> float | None:
    """Best mean score over a pool, when the table has a row for every card of it (else None: too slow to ask)."""
    if not all(card in bench for card in encoding.cards):
        return None
    return max(float(bench.query(card, fidelity).score) for card in encoding.cards)


def mean_cpu(curves: Curves) -> str:
    """Mean CPU seconds per run for a table cell ("n/a" when no run's CPU time was recorded)."""
    values = curves.cpu_s[np.isfinite(curves.cpu_s)]
    return f"{values.mean():.1f}" if len(values) else "n/a"
