"""Figure 6: performance frontier (parameters vs score), heterogeneous vs homogeneous cards.

Run: ``python paper_repro/fig6_frontier.py [--table FILE]`` -> ``fig6_frontier.png`` and
``fig6_frontier.md`` beside this file. Uses measured cards only (the surrogate is not
evidence of a frontier); the frontier is the running best score as parameters grow.
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


def main(table: str | None = None) -> str:
    bench = flexibench.load(table)
    fidelity = bench.default_fidelity
    frame = bench.to_pandas(fidelity)
    frame = frame[np.isfinite(frame["score"])]
    groups = {"homogeneous": frame[frame["homogeneous"]], "heterogeneous": frame[~frame["homogeneous"]]}
    fig, ax = plt.subplots(figsize=(6, 4))
    for (label, part), colour in zip(groups.items(), ("tab:blue", "tab:orange")):
        ax.scatter(part["params"] / 1e6, part["score"], s=14, alpha=0.6, color=colour, label=f"{label} ({len(part)})")
        front = frontier(part)
        ax.step(front["params"] / 1e6, front["score"], where="post", color=colour)
    ax.set_xlabel("parameters (millions, vocabulary 8,192)")
    ax.set_ylabel(f"score at {fidelity} (%)")
    ax.set_title("Performance frontier (measured cards)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(HERE / "fig6_frontier.png", dpi=120)
    lines = ["# Figure 6: performance frontier", "", "Command: `python paper_repro/fig6_frontier.py`", ""]
    lines.append(
        f"Measured cards at `{fidelity}`: {len(groups['homogeneous'])} homogeneous, "
        f"{len(groups['heterogeneous'])} heterogeneous."
    )
    if all(len(part) for part in groups.values()):
        best_homo = groups["homogeneous"].loc[groups["homogeneous"]["score"].idxmax()]
        best_het = groups["heterogeneous"].loc[groups["heterogeneous"]["score"].idxmax()]
        match = groups["heterogeneous"][groups["heterogeneous"]["score"] >= best_homo["score"]]
        lines += [
            "",
            f"- best homogeneous: {best_homo['short']} — {best_homo['score']:.2f} at {best_homo['params'] / 1e6:.2f}M",
            f"- best heterogeneous: {best_het['short']} — {best_het['score']:.2f} at {best_het['params'] / 1e6:.2f}M "
            f"({best_het['score'] - best_homo['score']:+.2f} points; paper: +3%)",
        ]
        if len(match):
            smallest = match.loc[match["params"].idxmin()]
            lines.append(
                f"- smallest heterogeneous card matching the best homogeneous score: {smallest['short']}, "
                f"{best_homo['params'] / smallest['params']:.1f}x fewer parameters (paper: 2.6x)"
            )
        else:
            lines.append("- no heterogeneous card reaches the best homogeneous score")
    text = "\n".join(lines) + "\n"
    (HERE / "fig6_frontier.md").write_text(text)
    return text


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default=None, help="packed table (default: data/flexibench.h5)")
    print(main(parser.parse_args().table))
