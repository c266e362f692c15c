"""Figure 6: performance frontier (parameters vs score), heterogeneous vs homogeneous cards.

Run: ``python paper_repro/fig6_frontier.py [--table FILE]`` -> ``fig6_frontier.png`` and
``fig6_frontier.md`` beside this file; when the table carries the hardware objectives (docs/table.md),
also ``fig6_frontier_latency.png`` / ``.md``: the same frontier against measured CPU latency (batch 1,
fp32, one thread). ``--latency`` writes only those. The evidence is the measured cards; a second panel
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
from flexibench.bench.latency_table import LATENCY_LABEL  # noqa: E402

HERE = Path(__file__).parent


def frontier(frame: pd.DataFrame, cost: str = "params") -> pd.DataFrame:
    """Cards that no cheaper card beats: the upper-left staircase of (``cost``, score)."""
    ordered = frame.sort_values([cost, "score"], ascending=[True, False])
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


COSTS = {  # cost column -> (scale, axis label)
    "params": (1e-6, "parameters (millions, vocabulary 8,192)"),
    "latency_ms": (1.0, LATENCY_LABEL),
}


def _panel(ax: plt.Axes, frame: pd.DataFrame, title: str, size: float, cost: str = "params") -> None:
    scale, label_x = COSTS[cost]
    for label, colour, part in (
        ("homogeneous", "tab:blue", frame[frame["homogeneous"]]),
        ("heterogeneous", "tab:orange", frame[~frame["homogeneous"]]),
    ):
        ax.scatter(part[cost] * scale, part["score"], s=size, alpha=0.5, color=colour, label=f"{label} ({len(part)})")
        if len(part):
            front = frontier(part, cost)
            ax.step(front[cost] * scale, front["score"], where="post", color=colour)
    ax.set_xlabel(label_x)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)


def latency_claims(frame: pd.DataFrame) -> list[str]:
    """The frontier against latency: its cards, and the fastest card within 0.1 points of the best."""
    if not len(frame):
        return ["- no card with both a score and a latency yet"]
    front = frontier(frame, "latency_ms")
    best = frame.loc[frame["score"].idxmax()]
    close = frame[frame["score"] >= best["score"] - 0.1]
    fastest = close.loc[close["latency_ms"].idxmin()]
    lines = [
        f"- best score: {best['short']} — {best['score']:.2f} at {best['latency_ms']:.2f} ms",
        f"- fastest card within 0.1 points of it: {fastest['short']} — {fastest['score']:.2f} at "
        f"{fastest['latency_ms']:.2f} ms ({best['latency_ms'] / fastest['latency_ms']:.1f}x faster)",
        f"- frontier ({len(front)} cards, fastest first):",
    ]
    lines += [f"  - {r['latency_ms']:.2f} ms: {r['short']} — {r['score']:.2f}" for _, r in front.iterrows()]
    return lines


def latency_outputs(bench: object, fidelity: str, measured: pd.DataFrame, answers: pd.DataFrame) -> str | None:
    """``fig6_frontier_latency.png`` / ``.md`` when the table has latency columns; None otherwise."""
    hardware = bench.hardware
    if hardware is None:
        return None
    timed_measured = measured[np.isfinite(measured["latency_ms"])]
    timed_answers = answers[np.isfinite(answers["latency_ms"])]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    _panel(axes[0], timed_measured, "Measured score and latency (evidence)", 14, "latency_ms")
    _panel(
        axes[1], timed_answers, "Every card with a latency: table answer (surrogate where unmeasured)", 6, "latency_ms"
    )
    axes[0].set_ylabel(f"score at {fidelity} (held-out MLM, %)")
    machine = hardware.get("machine", {})
    fig.suptitle(
        f"{len(timed_answers):,} of {len(answers):,} cards timed on {machine.get('cpu_model', '?')}, "
        f"torch {machine.get('torch', '?')}",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(HERE / "fig6_frontier_latency.png", dpi=120)
    plt.close(fig)
    spread = hardware.get("reference_spread", {}).get("1", {})
    lines = [
        "# Figure 6 against CPU latency",
        "",
        "Command: `python paper_repro/fig6_frontier.py --latency` (the packaged table; `--table FILE` for another,"
        " packed with `flexibench pack data/shards/nano data/shards/latency --out FILE`)",
        "",
        f"Latency: the encoder's fp32 forward, batch 1 x 128 tokens, one thread, median CPU time, normalised by "
        f'the reference card (docs/table.md, "Hardware objectives"); machine {machine.get("cpu_model")}, '
        f"{machine.get('cpu_count')} cores, torch {machine.get('torch')} ({machine.get('cpu_capability')}). "
        f"{len(timed_answers):,} of {len(answers):,} cards timed (a partial run's cards are a uniform sample of"
        " the level-1 space)"
        + (
            f"; the reference card's batch-1 time over {spread['n']} measurements: CV {100 * spread['cv']:.1f}% over"
            " the whole run (other load drifts it; normalisation divides that out)"
            + (
                f", {100 * spread['neighbour_log_deviation']:.1f}% median from its two neighbours."
                if "neighbour_log_deviation" in spread
                else "."
            )
            if spread.get("n", 0) > 1
            else "."
        ),
        "",
        f"## Measured cards with a latency ({len(timed_measured)})",
        "",
        *latency_claims(timed_measured),
        "",
        f"## Every timed card, the table's answer ({len(timed_answers)}; the surrogate's mean where unmeasured)",
        "",
        *latency_claims(timed_answers),
    ]
    text = "\n".join(lines) + "\n"
    (HERE / "fig6_frontier_latency.md").write_text(text)
    return text


def main(table: str | None = None, latency_only: bool = False) -> str:
    bench = flexibench.load(table)
    fidelity = bench.default_fidelity
    measured = bench.to_pandas(fidelity)
    measured = measured[np.isfinite(measured["score"])]
    answers = table_answers(bench, fidelity)
    latency = latency_outputs(bench, fidelity, measured, answers)
    if latency_only:
        return latency or "this table has no latency columns (docs/table.md, 'Hardware objectives')\n"
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
    return text + (latency or "")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default=None, help="packed table (default: data/flexibench.h5)")
    parser.add_argument("--latency", action="store_true", help="write only the latency frontier")
    args = parser.parse_args()
    print(main(args.table, latency_only=args.latency))
