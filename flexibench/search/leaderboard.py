"""Leaderboard: aggregate JSONL trajectories into a table of regret and best score at several budgets.

For every algorithm (and encoding, when runs mix encodings) and every budget
``b`` in queries, each seed contributes its best-so-far after ``min(b, its
length)`` queries; the table shows the mean and standard error over seeds, and a
one-sided Mann-Whitney U test of the final regret against random search (``rs``)
when both were run. Output: ``leaderboard.md`` and ``leaderboard.csv`` (long
form: one row per algorithm, budget and metric).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import mannwhitneyu

from flexibench.search.runs import Run, group_runs, load_runs

DEFAULT_BUDGETS = (10, 25, 50, 100)


def at_budget(values: np.ndarray, budget: int) -> float:
    """The best-so-far value after ``budget`` queries (the last one if the run is shorter)."""
    return float(values[min(budget, len(values)) - 1])


def mean_se(values: Sequence[float]) -> tuple[float, float]:
    arr = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    if arr.size == 0:
        return math.nan, math.nan
    se = float(arr.std(ddof=1) / math.sqrt(arr.size)) if arr.size > 1 else math.nan
    return float(arr.mean()), se


@dataclass
class Leaderboard:
    budgets: tuple[int, ...]
    rows: list[dict]  # long form: label, budget, metric, mean, se, n
    summary: list[dict]  # one per label: seeds, final regret/best, p-value vs rs, time, latency, transfers


def build_leaderboard(runs: Sequence[Run], budgets: Sequence[int] = DEFAULT_BUDGETS) -> Leaderboard:
    groups = group_runs(runs)
    longest = max(len(r.steps) for r in runs)
    chosen = tuple(sorted({b for b in budgets if b <= longest} | {longest}))
    rows: list[dict] = []
    summary: list[dict] = []
    reference = next((g for label, g in groups.items() if label.split(" ")[0] == "rs"), None)
    for label, group in groups.items():
        for b in chosen:
            for metric, attr in (("regret", "regret"), ("best_score", "best_score")):
                mean, se = mean_se([at_budget(getattr(r, attr), b) for r in group])
                rows.append({"label": label, "budget": b, "metric": metric, "mean": mean, "se": se, "n": len(group)})
        final = [at_budget(r.regret, longest) for r in group]
        p_value = math.nan
        if reference is not None and group is not reference and not any(math.isnan(v) for v in final):
            ref = [at_budget(r.regret, longest) for r in reference]
            p_value = float(mannwhitneyu(final, ref, alternative="less").pvalue)
        summary.append(
            {
                "label": label,
                "seeds": len(group),
                "regret": mean_se(final),
                "best_score": mean_se([at_budget(r.best_score, longest) for r in group]),
                "p_vs_rs": p_value,
                "sim_hours": mean_se([r.time_s[-1] / 3600 for r in group]),
                "ask_ms": float(np.mean([r.latency_s.mean() for r in group]) * 1000),
                "transfers": float(np.mean([r.transfers for r in group])),
            }
        )
    summary.sort(key=lambda s: (math.inf if math.isnan(s["regret"][0]) else s["regret"][0], -s["best_score"][0]))
    return Leaderboard(chosen, rows, summary)


def _fmt(pair: tuple[float, float], digits: int = 3) -> str:
    mean, se = pair
    if math.isnan(mean):
        return "n/a"
    return f"{mean:.{digits}f} ± {se:.{digits}f}" if not math.isnan(se) else f"{mean:.{digits}f}"


def to_markdown(board: Leaderboard, title: str = "Search leaderboard", command: str | None = None) -> str:
    lines = [f"# {title}", ""]
    if command:
        lines += ["Made with:", "", "```", command, "```", ""]
    lines += [
        "Mean ± standard error over seeds. Regret = optimum - true (noise-free) score of the incumbent "
        "(the card with the best observed score); p = one-sided Mann-Whitney U test that the final regret is "
        "lower than random search's.",
        "",
        "| rank | algorithm | seeds | final regret | final best score | p vs rs | simulated hours | "
        "ask ms | transfers |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for rank, s in enumerate(board.summary, 1):
        p = "" if math.isnan(s["p_vs_rs"]) else f"{s['p_vs_rs']:.2g}"
        lines.append(
            f"| {rank} | {s['label']} | {s['seeds']} | {_fmt(s['regret'])} | {_fmt(s['best_score'], 2)} | {p} | "
            f"{_fmt(s['sim_hours'], 1)} | {s['ask_ms']:.1f} | {s['transfers']:.1f} |"
        )
    for metric, name in (("regret", "Regret"), ("best_score", "Best score")):
        lines += ["", f"## {name} by budget (queries)", ""]
        lines.append("| algorithm | " + " | ".join(str(b) for b in board.budgets) + " |")
        lines.append("|---|" + "---:|" * len(board.budgets))
        for s in board.summary:
            cells = {
                r["budget"]: (r["mean"], r["se"])
                for r in board.rows
                if r["label"] == s["label"] and r["metric"] == metric
            }
            digits = 3 if metric == "regret" else 2
            lines.append(f"| {s['label']} | " + " | ".join(_fmt(cells[b], digits) for b in board.budgets) + " |")
    return "\n".join(lines) + "\n"


def write_leaderboard(
    dirs: Iterable[str | Path],
    out: str | Path,
    budgets: Sequence[int] = DEFAULT_BUDGETS,
    command: str | None = None,
    plots: bool = True,
) -> list[Path]:
    """Write ``leaderboard.md``, ``leaderboard.csv`` and (optionally) the plots into ``out``."""
    runs = load_runs(dirs)
    board = build_leaderboard(runs, budgets)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    md = out / "leaderboard.md"
    md.write_text(to_markdown(board, command=command))
    table = out / "leaderboard.csv"
    with table.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["label", "budget", "metric", "mean", "se", "n"])
        writer.writeheader()
        writer.writerows(board.rows)
    written = [md, table]
    if plots:
        from flexibench.search.plots import plot_runs

        written += plot_runs(group_runs(runs), out)
    return written
