"""Figures 4-5 style plots: the incumbent's noise-free score against queries and simulated time, 90% bands.

What is plotted is the *noise-free* score of the card each run believes best (the table's
seed mean, or the surrogate's mean, of the card with the best observed score), the number
regret is computed from and the one ``paper_repro`` plots. The best *observed* score is a
maximum of noisy draws and ends above the pool optimum (30.34 against 30.08 on the nano
table), so it is not what a reader should compare. Bands are 90% confidence intervals of
the mean over seeds (Student t), as in the paper's figures; a bar chart shows the final
value per algorithm. Every algorithm has its one colour (:func:`flexibench.search.palette.colour`).

The curves are also written as ``curves.csv`` (long form: algorithm, axis, x, runs, mean,
ci90) so the figures can be redrawn without the trajectories: :func:`replot` (``python -m
flexibench.search.plots DIR``). Matplotlib runs headless (Agg backend).
"""

from __future__ import annotations

import csv
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.stats import t as student_t  # noqa: E402

from flexibench.search.palette import colour  # noqa: E402
from flexibench.search.runs import Run  # noqa: E402

CURVES = "curves.csv"
AXES = {"queries": "models evaluated (queries)", "hours": "simulated training time (hours)"}


@dataclass(frozen=True)
class Curve:
    """One algorithm's mean curve with its 90% half-width, on one axis (``queries`` or ``hours``)."""

    label: str
    algo: str
    axis: str
    x: np.ndarray
    mean: np.ndarray
    half: np.ndarray
    runs: int


def mean_band(curves: np.ndarray, level: float = 0.90) -> tuple[np.ndarray, np.ndarray]:
    """Mean over rows and the half-width of its ``level`` confidence interval (NaNs ignored)."""
    n = np.sum(~np.isnan(curves), axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns (before any run's first result)
        mean = np.nanmean(curves, axis=0)
        sd = np.nanstd(curves, axis=0, ddof=1) if curves.shape[0] > 1 else np.zeros(curves.shape[1])
    q = student_t.ppf(0.5 + level / 2, np.maximum(n - 1, 1))
    return mean, np.where(n > 1, q * sd / np.sqrt(np.maximum(n, 1)), 0.0)


def by_queries(runs: Sequence[Run], length: int, attr: str = "best_true") -> np.ndarray:
    """Per query, each run's incumbent value (``attr``: noise-free by default), padded with its last value."""
    rows = [getattr(r, attr)[:length] for r in runs]
    return np.stack([np.pad(v, (0, max(0, length - len(v))), mode="edge") for v in rows])


def by_time(runs: Sequence[Run], grid: np.ndarray, attr: str = "best_true") -> np.ndarray:
    """Each run's incumbent value at each simulated time of ``grid`` (NaN before a run's first result)."""
    out = np.full((len(runs), len(grid)), np.nan)
    for i, r in enumerate(runs):
        k = np.searchsorted(r.time_s, grid, side="right") - 1
        out[i, k >= 0] = getattr(r, attr)[k[k >= 0]]
    return out


def score_label(header: Mapping[str, object]) -> str:
    """The y-axis label: noise-free, with the objective's fidelity and unit."""
    if header.get("objective") == "table":
        return f"incumbent's noise-free score\n(table, fidelity {header.get('fidelity')}, %)"
    if header.get("objective") == "synthetic":
        return "incumbent's noise-free score\n(synthetic objective, %)"
    return "incumbent's noise-free score"


def curves_of(groups: Mapping[str, Sequence[Run]]) -> list[Curve]:
    """Noise-free incumbent curves against queries and against simulated hours, one pair per group."""
    length = max(len(r.steps) for g in groups.values() for r in g)
    horizon = max(r.time_s[-1] for g in groups.values() for r in g)
    grid = np.linspace(0.0, horizon, 300)
    out = []
    for label, runs in groups.items():
        algo = runs[0].label
        mean, half = mean_band(by_queries(runs, length))
        out.append(Curve(label, algo, "queries", np.arange(1, length + 1, dtype=float), mean, half, len(runs)))
        mean, half = mean_band(by_time(runs, grid))
        out.append(Curve(label, algo, "hours", grid / 3600, mean, half, len(runs)))
    return out


def plot_runs(groups: Mapping[str, Sequence[Run]], out: str | Path) -> list[Path]:
    """Write ``curves.csv`` and the three figures for ``groups`` (label -> runs) into ``out``."""
    out = Path(out)
    curves = curves_of(groups)
    first = next(iter(groups.values()))[0].header
    optima = {r.header.get("optimum") for g in groups.values() for r in g}
    optimum = optima.pop() if len(optima) == 1 else None  # one pool: draw its optimum
    optimum = float(optimum) if isinstance(optimum, (int, float)) else None
    table = write_curves(curves, out / CURVES, score_label(first), optimum)
    return [table, *draw(curves, out, score_label(first), optimum)]


def write_curves(curves: Sequence[Curve], path: Path, ylabel: str, optimum: float | None = None) -> Path:
    """The curves in long form; the y label and the pool optimum as comment lines on top."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        handle.write("# " + ylabel.replace("\n", " ") + "\n")
        if optimum is not None:
            handle.write(f"# optimum: {optimum!r}\n")
        writer = csv.writer(handle)
        writer.writerow(["label", "algo", "axis", "x", "runs", "mean", "ci90"])
        for c in curves:
            for x, m, h in zip(c.x, c.mean, c.half):
                writer.writerow([c.label, c.algo, c.axis, repr(float(x)), c.runs, repr(float(m)), repr(float(h))])
    return path


def read_curves(path: str | Path) -> tuple[list[Curve], str, float | None]:
    """Curves, y label and pool optimum (None when not recorded) from a ``curves.csv`` of :func:`write_curves`."""
    lines = Path(path).read_text().splitlines()
    ylabel = lines[0][2:] if lines and lines[0].startswith("# ") else "incumbent's noise-free score"
    optimum = next((float(line.split(":", 1)[1]) for line in lines if line.startswith("# optimum:")), None)
    rows = list(csv.DictReader(line for line in lines if not line.startswith("#")))
    keys = list(dict.fromkeys((r["label"], r["algo"], r["axis"]) for r in rows))
    curves = []
    for label, algo, axis in keys:
        part = [r for r in rows if (r["label"], r["algo"], r["axis"]) == (label, algo, axis)]
        values = np.array([[float(r["x"]), float(r["mean"]), float(r["ci90"])] for r in part])
        curves.append(Curve(label, algo, axis, values[:, 0], values[:, 1], values[:, 2], int(part[0]["runs"])))
    return curves, ylabel.replace(" (", "\n(", 1), optimum


def replot(out: str | Path) -> list[Path]:
    """Redraw the figures of ``out`` from its ``curves.csv`` (no trajectories needed)."""
    curves, ylabel, optimum = read_curves(Path(out) / CURVES)
    return draw(curves, Path(out), ylabel, optimum)


def draw(curves: Sequence[Curve], out: Path, ylabel: str, optimum: float | None = None) -> list[Path]:
    """The figures for whatever axes ``curves`` cover: best vs queries, best vs hours, final bar."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for axis, name in (("queries", "best_vs_queries.png"), ("hours", "best_vs_time.png")):
        series = [c for c in curves if c.axis == axis]
        if series:
            paths.append(_band_plot(out / name, series, AXES[axis], ylabel, optimum))
    by_query = [c for c in curves if c.axis == "queries"]
    if by_query:
        paths.append(_final_bar(out / "final_bar.png", by_query, ylabel, optimum))
    return paths


def _optimum_line(ax: plt.Axes, optimum: float | None) -> None:
    if optimum is not None:
        ax.axhline(optimum, color="k", ls="--", lw=0.8, label=f"pool optimum ({optimum:.2f})")


def _band_plot(path: Path, series: Sequence[Curve], xlabel: str, ylabel: str, optimum: float | None) -> Path:
    fig, ax = plt.subplots(figsize=(6.8, 4.4))
    _optimum_line(ax, optimum)
    for c in series:
        ax.plot(c.x, c.mean, label=f"{c.label} (n={c.runs})", color=colour(c.algo))
        ax.fill_between(c.x, c.mean - c.half, c.mean + c.half, alpha=0.15, color=colour(c.algo))
    ax.set(xlabel=xlabel, ylabel=ylabel, title=f"Incumbent's noise-free score vs {xlabel.split(' (')[0]} (90% CI)")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _final_bar(path: Path, series: Sequence[Curve], ylabel: str, optimum: float | None) -> Path:
    fig, ax = plt.subplots(figsize=(6.8, 4.4))
    _optimum_line(ax, optimum)
    means = [float(c.mean[-1]) for c in series]
    halves = [float(c.half[-1]) for c in series]
    ax.bar(range(len(series)), means, yerr=halves, capsize=4, color=[colour(c.algo) for c in series], alpha=0.9)
    ax.set_xticks(range(len(series)), [c.label for c in series], rotation=30, ha="right", fontsize=8)
    low = min(m - h for m, h in zip(means, halves))
    high = max([m + h for m, h in zip(means, halves)] + ([optimum] if optimum is not None else []))
    if optimum is not None:
        ax.legend(fontsize=8, loc="lower left")
    ax.set_ylim(low - 0.2 * (high - low + 1e-9), high + 0.1 * (high - low + 1e-9))
    length = int(series[0].x[-1])
    ax.set(ylabel=ylabel, title=f"Incumbent's noise-free score after {length} queries (90% CI)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


if __name__ == "__main__":  # pragma: no cover
    for written in replot(sys.argv[1] if len(sys.argv) > 1 else "."):
        print(written)
