"""Figure 6: performance frontier (parameters vs score), heterogeneous vs homogeneous cards.

Run: ``python paper_repro/fig6_frontier.py [--table FILE]`` -> ``fig6_frontier.png`` and
``fig6_frontier.md`` beside this file. The evidence is the measured cards; a second panel
shows every card with the table's answer (the surrogate's mean where unmeasured), labelled as
prediction. The frontier is the running best score as parameters grow.
The paper's claim: the best heterogeneous model beats the best homogeneous one by 3%,
and the model matching the best homogeneous score is 2.6x smaller.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import flexibench  # noqa: E402

HERE = Path(__file__).parent


def frontier(frame: pd.DataFrame) -> pd.DataFrame:
    """Cards that no smaller card beats: the upper-left staircase of (params, score)."""
    ordered = frame.sort_values(["params", "score"], ascending=[True, False])
    keep = ordered["score"] > ordered["score"].cummax().shift(fill_value=-np.inf)
    return ordered[keep]


def table_answers(bench: object, fidelity: str) -> pd.DataFrame:
    """Every card of the table with the table's answer: seed mean if measured, else the surrogate's mean."""
    return bench.to_pandas(fidelity, predicted=True)


def claims(frame: pd.DataFrame) -> list[str]:
    """The paper's two Figure 6 numbers on ``frame``: best heterogeneous vs best homogeneous, and the size ratio."""
    homo, het = frame[frame["homogeneous"]], frame[~frame["homogeneous"]]
    if not (len(homo) and len(het)):
        return ["- needs both homogeneous and heterogeneous cards"]
    best_homo = homo.loc[homo["score"].idxmax()]
    best_het = het.loc[het["score"].idxmax()]
    gain = best_het["score"] - best_homo["score"]
    lines = [
        f"- best homogeneous: {best_homo['short']} — {best_homo['score']:.2f} at {best_homo['params'] / 1e6:.2f}M",
        f"- best heterogeneous: {best_het['short']} — {best_het['score']:.2f} at {best_het['params'] / 1e6:.2f}M "
        f"({gain:+.2f} points, {100 * gain / best_homo['score']:+.1f}%; paper: +3%)",
    ]
    match = het[het["score"] >= best_homo["score"]]
    if len(match):
        smallest = match.loc[match["params"].idxmin()]
        ratio = best_homo["params"] / smallest["params"]
        size = f"{ratio:.1f}x fewer parameters" if ratio >= 1 else f"{1 / ratio:.1f}x more parameters"
        lines.append(
            f"- smallest heterogeneous card matching the best homogeneous score: {smallest['short']} "
            f"({smallest['score']:.2f} at {smallest['params'] / 1e6:.2f}M), {size} (paper: 2.6x fewer)"
        )
    else:
        lines.append("- no heterogeneous card reaches the best homogeneous score")
    return lines


def _panel(ax: plt.Axes, frame: pd.DataFrame, title: str, size: float) -> None:
    for label, colour, part in (
        ("homogeneous", "tab:blue", frame[frame["homogeneous"]]),
        ("heterogeneous", "tab:orange", frame[~frame["homogeneous"]]),
    ):
        ax.scatter(part["params"] / 1e6, part["score"], s=size, alpha=0.5, color=colour, label=f"{label} ({len(part)})")
        front = frontier(part)
        ax.step(front["params"] / 1e6, front["score"], where="post", color=colour)
    ax.set_xlabel("parameters (millions, vocabulary 8,192)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)


def main(table: str | None = None) -> str:
    bench = flexibench.load(table)
    fidelity = bench.default_fidelity
    measured = bench.to_pandas(fidelity)
    measured = measured[np.isfinite(measured["score"])]
    answers = table_answers(bench, fidelity)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    _panel(axes[0], measured, "Measured cards (evidence)", 14)
    _panel(axes[1], answers, "Every level-1 card: table answer (surrogate where unmeasured)", 3)
    axes[0].set_ylabel(f"score at {fidelity} (%)")
    fig.tight_layout()
    fig.savefig(HERE / "fig6_frontier.png", dpi=120)
    plt.close(fig)
    n_homo = int(measured["homogeneous"].sum())
    lines = [
        "# Figure 6: performance frontier",
        "",
        "Command: `python paper_repro/fig6_frontier.py`",
        "",
        f"## Measured cards at `{fidelity}` ({n_homo} homogeneous, {len(measured) - n_homo} heterogeneous)",
        "",
        *claims(measured),
        "",
        f"## Every card of the table ({len(answers):,}; {int(answers['measured'].sum())} measured, the rest "
        "the surrogate's mean)",
        "",
        "Predictions, not measurements: this says where the surrogate extrapolates, which measuring the "
        "cards named here would test.",
        "",
        *claims(answers),
    ]
    text = "\n".join(lines) + "\n"
    (HERE / "fig6_frontier.md").write_text(text)
    return text


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default=None, help="packed table (default: data/flexibench.h5)")
    print(main(parser.parse_args().table))
