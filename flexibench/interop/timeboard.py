"""A leaderboard by simulated time: the common budget of a query loop and of syne-tune's workers.

``flexibench leaderboard`` compares runs after a number of queries; a multi-fidelity
scheduler's queries are partial evaluations, so across libraries the comparable budget is
the simulated clock (:mod:`flexibench.interop.compare`). For every method, each seed
contributes its regret (table optimum minus the noise-free final score of the card with the
best observed full-budget score) at fractions of the time budget; the table gives mean ±
standard error over seeds, a one-sided Mann-Whitney U test of the final regret against
FlexiBench's random search, the number of trials and of full-budget-equivalent evaluations
(compute spent / the fidelity's full cost, per trial). Plots: regret against simulated
hours (mean with a 90% band, one colour per method from :mod:`flexibench.search.palette`)
and the final regret per method.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import mannwhitneyu

from flexibench.search.leaderboard import mean_se
from flexibench.search.palette import colour
from flexibench.search.runner import read_trajectory
from flexibench.search.runs import Run, load_runs

FRACTIONS = (0.125, 0.25, 0.5, 1.0)
FAMILY = {"st-": "syne-tune", "optuna-": "Optuna"}


def family(label: str) -> str:
    return next((name for prefix, name in FAMILY.items() if label.startswith(prefix)), "FlexiBench")


def regret_at(run: Run, t: float) -> float:
    """The run's regret at simulated time ``t`` (NaN before its first full-budget result)."""
    k = int(np.searchsorted(run.time_s, t, side="right")) - 1
    return float(run.regret[k]) if k >= 0 else math.nan


def full_equivalents(path: Path) -> tuple[int, float]:
    """(trials, full-budget-equivalent evaluations) of a trajectory: partial trials count by their budget share."""
    records = read_trajectory(path)
    header, queries = records[0], [r for r in records if r["type"] == "query"]
    top = header.get("max_budget")
    shares = [r["budget"] / top if top and r.get("budget") is not None else 1.0 for r in queries]
    return len(queries), float(sum(shares))


def build(dirs: Iterable[str | Path], horizon_s: float) -> tuple[dict[str, list[Run]], list[dict[str, Any]]]:
    """Runs grouped by method, and one summary row per method (sorted by final regret)."""
    dirs = list(dirs)
    groups: dict[str, list[Run]] = defaultdict(list)
    for run in load_runs(dirs):
        groups[run.label].append(run)
    counts: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for d in dirs:
        for path in sorted(Path(d).rglob("*.jsonl")):
            counts[str(read_trajectory(path)[0]["algo"])].append(full_equivalents(path))
    finals = {label: [regret_at(r, horizon_s) for r in runs] for label, runs in groups.items()}
    reference = finals.get("rs")
    rows = []
    for label, runs in groups.items():
        final = finals[label]
        p = math.nan
        if reference is not None and label != "rs" and not any(map(math.isnan, final + reference)):
            p = float(mannwhitneyu(final, reference, alternative="less").pvalue)
        rows.append(
            {
                "label": label,
                "family": family(label),
                "seeds": len(runs),
                "final": mean_se(final),
                "at": {f: mean_se([regret_at(r, f * horizon_s) for r in runs]) for f in FRACTIONS},
                "p_vs_rs": p,
                "trials": float(np.mean([c[0] for c in counts[label]])),
                "full_eq": float(np.mean([c[1] for c in counts[label]])),
            }
        )
    rows.sort(key=lambda s: math.inf if math.isnan(s["final"][0]) else s["final"][0])
    return dict(groups), rows


def _fmt(pair: tuple[float, float], digits: int = 3) -> str:
    mean, se = pair
    if math.isnan(mean):
        return "n/a"
    return f"{mean:.{digits}f} ± {se:.{digits}f}" if not math.isnan(se) else f"{mean:.{digits}f}"


def to_markdown(rows: list[dict[str, Any]], protocol: dict[str, Any], command: str | None) -> str:
    hours = protocol["time_budget_s"] / 3600
    lines = ["# Combined leaderboard (simulated time)", ""]
    if command:
        lines += ["Made with:", "", "```", command, "```", ""]
    lines += [
        f"Table: `{Path(protocol['table']).name}`, {protocol.get('table_version') or 'version not recorded'}.",
        "",
        f"Budget: {protocol['workers']} simulated workers for {hours:g} simulated hour(s) per run, fidelity "
        f"`{protocol['fidelity']}`, seeds 0-{protocol['seeds'] - 1}. Regret = table optimum - noise-free final score "
        "of the incumbent (best observed full-budget score); mean ± standard error over seeds; p = one-sided "
        "Mann-Whitney U that the final regret is below FlexiBench's `rs`. Full-eq = compute spent in full-budget "
        "evaluations (a trial stopped at 50 of 200 steps counts 0.25).",
        "",
        "| rank | method | library | seeds | final regret | p vs rs | trials | full-eq |",
        "|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    for rank, s in enumerate(rows, 1):
        p = "" if math.isnan(s["p_vs_rs"]) else f"{s['p_vs_rs']:.2g}"
        lines.append(
            f"| {rank} | {s['label']} | {s['family']} | {s['seeds']} | {_fmt(s['final'])} | {p} | "
            f"{s['trials']:.0f} | {s['full_eq']:.0f} |"
        )
    lines += ["", "## Regret by simulated time", ""]
    lines.append("| method | " + " | ".join(f"{f * hours * 60:g} min" for f in FRACTIONS) + " |")
    lines.append("|---|" + "---:|" * len(FRACTIONS))
    for s in rows:
        lines.append(f"| {s['label']} | " + " | ".join(_fmt(s["at"][f]) for f in FRACTIONS) + " |")
    return "\n".join(lines) + "\n"


def plot(groups: dict[str, list[Run]], rows: list[dict[str, Any]], out: Path, protocol: dict[str, Any]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from flexibench.search.plots import mean_band

    horizon = protocol["time_budget_s"]
    grid = np.linspace(0, horizon, 241)[1:]
    fidelity, workers = protocol["fidelity"], protocol["workers"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8), sharey=True)
    for ax, fam in zip(axes, ("FlexiBench", "syne-tune", "Optuna")):
        for label in [r["label"] for r in rows if r["family"] == fam or r["label"] == "rs"]:
            curves = np.array([[regret_at(r, t) for t in grid] for r in groups[label]])
            mean, half = mean_band(curves)
            style = "--" if label == "rs" else "-"  # the shared reference, in every panel
            ax.plot(grid / 3600, mean, style, color=colour(label), label=label, lw=1.6)
            ax.fill_between(grid / 3600, np.maximum(mean - half, 0), mean + half, color=colour(label), alpha=0.15)
        ax.set_yscale("symlog", linthresh=0.1, linscale=0.5)
        ax.set_ylim(bottom=0)
        ax.set_title(f"{fam} (with FlexiBench rs)")
        ax.set_xlabel(f"simulated time (hours, {workers} workers, fidelity {fidelity})")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("regret (score points; log scale above 0.1)")
    fig.suptitle("Regret vs simulated time: mean over seeds, 90% band")
    fig.tight_layout()
    paths = [out / "regret_vs_time.png"]
    fig.savefig(paths[0], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(9, 4.5))
    labels = [r["label"] for r in rows]
    means = [r["final"][0] for r in rows]
    halves = [mean_band(np.array([[regret_at(x, horizon)] for x in groups[k]]))[1][0] for k in labels]
    ax.bar(range(len(labels)), means, yerr=halves, capsize=3, color=[colour(k) for k in labels])
    ax.set_xticks(range(len(labels)), labels, rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("final regret (score points)")
    ax.set_title(f"Final regret after {horizon / 3600:g} simulated hour(s), {workers} workers, {fidelity} (90% CI)")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    paths.append(out / "final_regret.png")
    fig.savefig(paths[1], dpi=110)
    plt.close(fig)
    return paths


def write_timeboard(
    dirs: Sequence[str | Path], out: str | Path, protocol: Any, command: str | None = None
) -> list[Path]:
    """Write ``leaderboard.md``, ``leaderboard.csv`` and the two plots into ``out``."""
    proto = protocol.describe() if hasattr(protocol, "describe") else dict(protocol)
    groups, rows = build(dirs, proto["time_budget_s"])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    md = out / "leaderboard.md"
    md.write_text(to_markdown(rows, proto, command))
    table = out / "leaderboard.csv"
    with table.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["label", "family", "seeds", "minutes", "regret_mean", "regret_se", "trials", "full_eq"])
        for s in rows:
            for f in FRACTIONS:
                mean, se = s["at"][f]
                minutes = f * proto["time_budget_s"] / 60
                writer.writerow([s["label"], s["family"], s["seeds"], minutes, mean, se, s["trials"], s["full_eq"]])
    return [md, table, *plot(groups, rows, out, proto)]
