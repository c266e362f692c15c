"""Figure 5: (a) best score against models trained for every algorithm, (b) the BOSHNAS ablation.

Run: ``python paper_repro/fig5_search.py [--runs 50] [--budget 100] [--processes 1] [--table FILE]``
-> ``fig5_search.md``, ``fig5_search.png`` and ``fig5_search.csv`` beside this file.

As in the paper (Section 4.3), every run searches level 1 (9,312 cards) with
Transformer2vec encodings on the packaged table; (a) compares RS, ES, REINFORCE,
GP-BO, BANANAS and BOSHNAS, (b) compares BOSHNAS with its two ablations from the
registry: ``boshnas-first-order`` (GOBI with Adam instead of second-order AdaHessian
steps) and ``boshnas-homoscedastic`` (one constant sigma instead of the NPN's
heteroscedastic one). Curves are the mean noise-free score of the incumbent after
each query with 90% confidence bands over runs. The runs live in the same folder as
Figure 4's setting (c), so whichever script runs second reuses the other's runs.
The weight-transfer saving of Appendix B.3 (paper: 38% less training time) is
read off the same runs: simulated seconds charged (fine-tuning only when a trained
neighbour passes the tau = 0.8 overlap rule) against pretraining every card.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _search_runs import (  # noqa: E402
    HERE,
    LABELS,
    RUNS,
    Curves,
    add_table_arguments,
    ci90,
    command_line,
    ensure_runs,
    load_curves,
    mean_cpu,
    split_names,
    table_id,
    table_objective,
    table_version,
    versus,
)

import flexibench  # noqa: E402
from flexibench.search import MAIN_ALGORITHMS, make_encoding  # noqa: E402
from flexibench.search.palette import colour  # noqa: E402

ABLATIONS = ("boshnas", "boshnas-first-order", "boshnas-homoscedastic")
CHECKPOINTS = (10, 25, 50, 100)


@dataclass
class Fig5:
    curves: dict[str, Curves]
    main: tuple[str, ...]
    ablations: tuple[str, ...]
    budget: int
    encoding: str
    version: str
    seconds: float
    transfer_share: float | None = None  # share of pretraining charged to a transferred card (None: as recorded)
    fidelity: str = "nano"


def run(
    bench: Any,
    fidelity: str,
    runs: int = 50,
    budget: int = 100,
    main: tuple[str, ...] = MAIN_ALGORITHMS,
    ablations: tuple[str, ...] = ABLATIONS,
    encoding: str = "t2v",
    processes: int = 1,
    runs_dir: Path | None = None,
    encoder: Any = make_encoding,
    transfer_share: float | None = None,
) -> Fig5:
    """Run (or reuse) every algorithm of both panels and load their curves.

    ``transfer_share`` re-prices transferred cards (see :func:`load_curves`); ``main()``
    passes the share ``table6_transfer.py`` measured when its output exists.
    """
    started = time.perf_counter()
    runs_dir = Path(runs_dir) if runs_dir is not None else RUNS / table_id(bench)
    objective = table_objective(bench, fidelity, processes)
    algos = tuple(dict.fromkeys(main + ablations))
    pool = encoder(encoding)
    paths = ensure_runs(algos, range(runs), objective, budget, pool, runs_dir / f"{encoding}-full", processes=processes)
    curves = {algo: load_curves(paths[algo], budget, transfer_share) for algo in algos}
    seconds = time.perf_counter() - started
    return Fig5(curves, main, ablations, budget, encoding, table_version(bench), seconds, transfer_share, fidelity)


def long_frame(result: Fig5) -> pd.DataFrame:
    """Mean curves in long form: one row per (panel, algorithm, queries)."""
    rows = []
    for panel, algos in (("a", result.main), ("b", result.ablations)):
        for algo in algos:
            c = result.curves[algo]
            true_mean, true_half = ci90(c.best_true)
            obs_mean, _ = ci90(c.best_observed)
            for q in range(result.budget):
                rows.append(
                    {
                        "panel": panel,
                        "algo": algo,
                        "queries": q + 1,
                        "runs": c.runs,
                        "best_true": float(true_mean[q]),
                        "best_true_ci90": float(true_half[q]),
                        "best_observed": float(obs_mean[q]),
                        "encoding": result.encoding,
                        "fidelity": result.fidelity,
                    }
                )
    return pd.DataFrame(rows)


def draw(frame: pd.DataFrame, path: Path) -> Path:
    """The two-panel figure from the long-form CSV's frame (so ``--replot`` redraws it without the runs)."""
    encoding, fidelity = frame.encoding.iloc[0], frame.fidelity.iloc[0]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), sharey=True)
    for ax, (panel, title) in zip(axes, (("a", "(a) NAS algorithms"), ("b", "(b) BOSHNAS ablation"))):
        for algo, part in frame[frame.panel == panel].groupby("algo", sort=False):
            label = f"{LABELS.get(algo, algo)} (n={int(part.runs.iloc[0])})"
            ax.plot(part.queries, part.best_true, label=label, color=colour(algo))
            low, high = part.best_true - part.best_true_ci90, part.best_true + part.best_true_ci90
            ax.fill_between(part.queries, low, high, alpha=0.15, color=colour(algo))
        ax.set(xlabel="models trained (queries)", title=title)
        ax.legend(fontsize=8, loc="lower right")
    axes[0].set_ylabel(f"incumbent's noise-free score\n(table, fidelity {fidelity}, %)")
    fig.suptitle(f"Figure 5 on FlexiBench ({encoding} encodings, level 1)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _cell(values: np.ndarray) -> str:
    mean, half = ci90(values)
    return f"{float(mean):.2f} ± {float(half):.2f}"


def write_outputs(result: Fig5, out_dir: Path = HERE, command: str | None = None) -> str:
    """Write the two-panel figure, the long-form CSV and the markdown summary."""
    out_dir = Path(out_dir)
    frame = long_frame(result)
    frame.to_csv(out_dir / "fig5_search.csv", index=False)
    draw(frame, out_dir / "fig5_search.png")

    checkpoints = [b for b in CHECKPOINTS if b < result.budget] + [result.budget]
    runs = max(c.runs for c in result.curves.values())
    lines = [
        "# Figure 5: best score against models trained; BOSHNAS ablation",
        "",
        f"Command: `{command or 'python paper_repro/fig5_search.py'}`",
        "",
        f"Table: {result.version}. {runs} runs per algorithm, {result.budget} queries each, "
        f"{result.encoding} encodings, level 1; {result.seconds:.0f} s wall for this invocation "
        "(reused runs cost nothing).",
        "",
        "Noise-free score of the incumbent (mean ± 90% confidence half-width over runs) after each number of "
        "models trained:",
        "",
        "| panel | algorithm | " + " | ".join(str(b) for b in checkpoints) + " | CPU s / run |",
        "|---|---|" + "---:|" * (len(checkpoints) + 1),
    ]
    for panel, algos in (("a", result.main), ("b", result.ablations)):
        for algo in algos:
            c = result.curves[algo]
            cells = " | ".join(_cell(c.best_true[:, b - 1]) for b in checkpoints)
            lines.append(f"| {panel} | {LABELS.get(algo, algo)} | {cells} | {mean_cpu(c)} |")
    lines += ["", "## The paper's claims on these numbers", ""]
    finals = {algo: c.best_true[:, -1] for algo, c in result.curves.items()}
    best = max(result.main, key=lambda a: finals[a].mean())
    lines.append(
        f"- (a) highest final score: {LABELS.get(best, best)} ({finals[best].mean():.2f}); paper: BOSHNAS. "
        + _versus("boshnas", [a for a in result.main if a != "boshnas"], finals)
    )
    if "boshnas" in finals:
        lines.append(
            "- (b) paper: both ablations end below BOSHNAS. Here: "
            + _versus("boshnas", [a for a in result.ablations if a != "boshnas"], finals)
        )
    lines += [
        "",
        "## Weight transfer in these runs (Appendix B.3, Figure 8; paper: 38% less training time)",
        "",
        "| algorithm | transfers / run | simulated training time saved |",
        "|---|---:|---:|",
    ]
    for algo, c in result.curves.items():
        saved = 100 * (1 - c.charged_s / np.maximum(c.full_s, 1e-9))
        lines.append(f"| {LABELS.get(algo, algo)} | {c.transfers.mean():.1f} | {_cell(saved)}% |")
    lines += [
        "",
        "At level 1 with tau = 0.8 a card can skip pretraining only when it is a 2-layer card whose stack "
        "equals the first stack of a trained 4-layer card (4-layer cards need all 4 layers identical), so "
        "transfers are rarer than in the paper's level-2/3 searches.",
        "",
    ]
    if result.transfer_share is not None:
        lines += [
            f"A transferred card is charged its fine-tuning plus {100 * result.transfer_share:.0f}% of its "
            "pretraining: the share `table6_transfer.py` measured a transferred card needs to reach the "
            "scratch card's final held-out loss (`table6_transfer.md`; never reaching it counts as 100%).",
            "",
        ]
    elif all(float(c.finetune_s.sum()) == 0.0 for c in result.curves.values()):
        lines += [
            "This fidelity fine-tunes nothing, so the paper's rule (a transferred card is only fine-tuned) would "
            "make transfers free. The table objective charges a transferred card a share of its pretraining "
            "instead (`TableObjective.transfer_pretrain_share`: by default the first held-out checkpoint, "
            "50 of nano's 200 steps; `table6_transfer.md` measures how many steps a transferred card needs).",
            "",
        ]
    text = "\n".join(lines)
    (out_dir / "fig5_search.md").write_text(text)
    return text


def _versus(algo: str, others: list[str], finals: dict[str, np.ndarray]) -> str:
    """One-sided Mann-Whitney p that ``algo``'s final scores exceed each other's, when both have >= 2 runs."""
    if algo not in finals:
        return ""
    parts = [versus(LABELS.get(other, other), finals[algo], finals[other]) for other in others]
    return f"{LABELS.get(algo, algo)} minus " + ", ".join(parts) + " (one-sided Mann-Whitney p)."


def _measured_share(option: str) -> float | None:
    if option == "recorded":
        return None
    if option == "measured":
        from table6_transfer import measured_pretrain_share

        return measured_pretrain_share()
    return float(option)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="seeds per algorithm (paper: 50)")
    parser.add_argument("--budget", type=int, default=100, help="queries per run (default 100)")
    parser.add_argument("--algos", default=",".join(MAIN_ALGORITHMS), help="panel (a) algorithms, comma-separated")
    parser.add_argument("--ablations", default=",".join(ABLATIONS), help="panel (b) algorithms, comma-separated")
    parser.add_argument("--encoding", default="t2v", choices=("t2v", "naive"), help="encoding (paper: t2v)")
    add_table_arguments(parser)
    parser.add_argument(
        "--transfer-share",
        default="measured",
        help="share of pretraining charged to a transferred card: a number, 'measured' (from "
        "table6_transfer_curves.csv when it exists; default) or 'recorded' (the runner's charge)",
    )
    parser.add_argument(
        "--replot", action="store_true", help="only redraw fig5_search.png from fig5_search.csv (no runs needed)"
    )
    args = parser.parse_args(argv)
    if args.replot:
        return str(draw(pd.read_csv(HERE / "fig5_search.csv"), HERE / "fig5_search.png"))
    bench = flexibench.load(args.table)
    result = run(
        bench,
        args.fidelity or bench.default_fidelity,
        runs=args.runs,
        budget=args.budget,
        main=split_names(args.algos),
        ablations=split_names(args.ablations),
        encoding=args.encoding,
        processes=args.processes,
        transfer_share=_measured_share(args.transfer_share),
    )
    return write_outputs(result, command=command_line("fig5_search.py", argv))


if __name__ == "__main__":
    print(main())
