"""Figures 4-5 style plots: best score against queries and against simulated time, with 90% bands.

Bands are 90% confidence intervals of the mean over seeds (Student t), as in the
paper's figures; a bar chart shows the final best score per algorithm.
Matplotlib runs headless (Agg backend).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.stats import t as student_t  # noqa: E402

from flexibench.search.leaderboard import Run  # noqa: E402


def mean_band(curves: np.ndarray, level: float = 0.90) -> tuple[np.ndarray, np.ndarray]:
    """Mean over rows and the half-width of its ``level`` confidence interval (NaNs ignored)."""
    n = np.sum(~np.isnan(curves), axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns (before any run's first result)
        mean = np.nanmean(curves, axis=0)
        sd = np.nanstd(curves, axis=0, ddof=1) if curves.shape[0] > 1 else np.zeros(curves.shape[1])
    q = student_t.ppf(0.5 + level / 2, np.maximum(n - 1, 1))
    return mean, np.where(n > 1, q * sd / np.sqrt(np.maximum(n, 1)), 0.0)


def by_queries(runs: Sequence[Run], length: int) -> np.ndarray:
    """Best-so-far per query for each run, padded with its last value."""
    return np.stack([np.pad(r.best_score[:length], (0, max(0, length - len(r.best_score))), mode="edge") for r in runs])


def by_time(runs: Sequence[Run], grid: np.ndarray) -> np.ndarray:
    """Best-so-far at each simulated time of ``grid`` (NaN before a run's first result)."""
    out = np.full((len(runs), len(grid)), np.nan)
    for i, r in enumerate(runs):
        k = np.searchsorted(r.time_s, grid, side="right") - 1
        out[i, k >= 0] = r.best_score[k[k >= 0]]
    return out


def plot_runs(groups: Mapping[str, Sequence[Run]], out: str | Path) -> list[Path]:
    out = Path(out)
    length = max(len(r.steps) for g in groups.values() for r in g)
    horizon = max(r.time_s[-1] for g in groups.values() for r in g)
    grid = np.linspace(0.0, horizon, 300)
    paths: list[Path] = []

    x = np.arange(1, length + 1)
    by_query = [(f"{label} (n={len(runs)})", x, *mean_band(by_queries(runs, length))) for label, runs in groups.items()]
    paths.append(_band_plot(out / "best_vs_queries.png", by_query, "models evaluated (queries)", "queries"))
    hours = grid / 3600
    by_hour = [(label, hours, *mean_band(by_time(runs, grid))) for label, runs in groups.items()]
    paths.append(_band_plot(out / "best_vs_time.png", by_hour, "simulated training time (hours)", "time"))

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    labels = list(groups)
    finals = [np.array([r.best_score[-1] for r in groups[k]]) for k in labels]
    means = [f.mean() for f in finals]
    halves = [mean_band(f[:, None])[1][0] for f in finals]
    ax.bar(range(len(labels)), means, yerr=halves, capsize=4, color="tab:blue", alpha=0.8)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
    low = min(m - h for m, h in zip(means, halves))
    high = max(m + h for m, h in zip(means, halves))
    ax.set_ylim(low - 0.2 * (high - low + 1e-9), high + 0.1 * (high - low + 1e-9))
    ax.set(ylabel="final best score", title=f"Best score after {length} queries (90% CI)")
    fig.tight_layout()
    paths.append(out / "final_bar.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    return paths


def _band_plot(path: Path, series: list, xlabel: str, against: str) -> Path:
    """One line with its 90% band per ``(label, x, mean, half)`` of ``series``, saved to ``path``."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for label, x, mean, half in series:
        ax.plot(x, mean, label=label)
        ax.fill_between(x, mean - half, mean + half, alpha=0.2)
    ax.set(xlabel=xlabel, ylabel="best score so far", title=f"Best score vs {against} (90% CI)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
