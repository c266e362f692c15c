"""Redraw this leaderboard's figures from ``paper_repro/fig5_search.csv`` (the same 50-seed runs), without the runs.

The trajectories behind this leaderboard are Figure 5's (README.md) and are not committed;
Figure 5's CSV keeps the noise-free incumbent curve per query for every algorithm, so the
curves against queries and the final bar are redrawn from it. It has no simulated time,
so ``best_vs_time.png`` needs the runs (README.md, the two commands).

Run: ``python leaderboards/table-nano/from_fig5.py`` (from the repository root).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from flexibench.search.plots import CURVES, Curve, replot, write_curves

HERE = Path(__file__).resolve().parent
FIG5 = HERE.parents[1] / "paper_repro" / "fig5_search.csv"


def curves_from_fig5(path: Path = FIG5) -> list[Curve]:
    """One queries-axis curve per algorithm (panel (b) repeats BOSHNAS: kept once), sorted by name."""
    rows = list(csv.DictReader(path.open()))
    out = []
    for algo in sorted({r["algo"] for r in rows}):
        part = [r for r in rows if r["algo"] == algo]
        panel = part[0]["panel"]
        part = sorted((r for r in part if r["panel"] == panel), key=lambda r: int(r["queries"]))
        x = np.array([float(r["queries"]) for r in part])
        mean = np.array([float(r["best_true"]) for r in part])
        half = np.array([float(r["best_true_ci90"]) for r in part])
        out.append(Curve(algo, algo, "queries", x, mean, half, int(part[0]["runs"])))
    return out


def runs_optimum(curves: list[Curve]) -> float:
    """The optimum the runs were scored against: regret = optimum - noise-free score, so mean + mean.

    Read from the runs (``leaderboard.csv``'s final regret of random search plus its final noise-free
    score), not from today's table: a repack refits the surrogate, which moves its best prediction.
    """
    rows = list(csv.DictReader((HERE / "leaderboard.csv").open()))
    longest = max(int(r["budget"]) for r in rows)
    regret = next(float(r["mean"]) for r in rows if (r["label"], r["metric"], int(r["budget"])) == ("rs", "regret", longest))
    rs = next(c for c in curves if c.algo == "rs")
    return float(rs.mean[int(np.flatnonzero(rs.x == longest)[0])] + regret)


if __name__ == "__main__":
    label = "incumbent's noise-free score (table, fidelity nano, %)"
    curves = curves_from_fig5()
    write_curves(curves, HERE / CURVES, label, runs_optimum(curves))
    for written in replot(HERE):
        print(written)
