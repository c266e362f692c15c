"""Appendix B.5 / Section 4.4: hierarchical search (level 1 -> crossover -> level 2) and the design rules.

Run: ``python paper_repro/b5_hierarchical.py [--runs 5] [--budget1 100] [--budget2 100] [--top-k 10]
[--neighbours 10] [--levels 2] [--table FILE]`` -> ``b5_hierarchical.md``, ``.png`` and ``.csv`` beside
this file.

The paper runs BOSHNAS on level 1 (s = 2), takes the best cards, builds the level-2
space (s = 1) from crossovers of each best card with its neighbours (Appendix B.4,
Figure 9), searches that, and repeats for level 3 (s = 1*); Section 4.4 then reads
three design rules off the best cards. Here:

1. level 1: ``--runs`` BOSHNAS runs of ``--budget1`` queries on the packaged table
   (Transformer2vec encodings; the same runs as Figure 5 when the budgets agree);
2. the ``--top-k`` cards with the best mean observed score over those runs are crossed
   with their ``--neighbours`` nearest library neighbours
   (:func:`flexibench.library.levels.crossover_cards`), and the children are embedded
   as a level-2 graph library of their own (:func:`flexibench.library.build_library`,
   what :func:`~flexibench.library.levels.build_level_library` does; cached under
   ``paper_repro/runs/``);
3. level 2: the same number of runs on that library. Level-2 cards have no row in the
   table, so :meth:`Benchmark.query` builds the stored surrogate's inputs for each
   one (its design choices one-hot and its size; tables packed before read its
   out-of-library Transformer2vec point instead) and the ensemble predicts it
   (``source == "surrogate"``);
4. the design rules of Section 4.4, checked on the best 4-layer cards per layer position.

``--levels 2,3`` continues into level 3 the same way.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
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
)

import flexibench  # noqa: E402
from flexibench.core import ModelCard  # noqa: E402
from flexibench.library import Library, build_library, load_or_build_library  # noqa: E402
from flexibench.library.levels import crossover_cards  # noqa: E402
from flexibench.search import OPTIMIZERS, make_encoding  # noqa: E402
from flexibench.search.encodings import Encoding  # noqa: E402
from flexibench.search.palette import colour  # noqa: E402
from flexibench.search.pools import library_encoding  # noqa: E402

PAPER_BEST = {1: "flexibert-mini-s2", 2: "flexibert-mini"}  # Appendix B.5, s = 2 and s = 1 (= s = 1*)


@dataclass
class Level:
    level: int
    pool: int
    curves: Curves
    ranked: list[tuple[ModelCard, float, int]]  # (card, mean observed score, times observed), best first
    library_cpu_s: float = 0.0  # CPU seconds this level's library took to build (0 for the cached level 1)
    fit_spearman: float | None = None  # embedding vs graph distances on this library


@dataclass
class B5:
    levels: list[Level]
    algo: str
    runs: int
    budgets: dict[int, int]
    top_k: int
    neighbours: int
    version: str
    seconds: float
    table_top: list[ModelCard] = field(default_factory=list)  # best level-1 cards by table score


def rank_observed(curves: Curves) -> list[tuple[ModelCard, float, int]]:
    """Every card the runs evaluated, by mean observed score over all runs (what a searcher knows)."""
    scores: dict[str, list[float]] = defaultdict(list)
    for run in curves.observed:
        for card_json, observed, _ in run:
            scores[card_json].append(observed)
    ranked = sorted(scores.items(), key=lambda kv: -float(np.mean(kv[1])))
    return [(ModelCard.from_json(k), float(np.mean(v)), len(v)) for k, v in ranked]


def _key(cards: list[ModelCard], level: int, neighbours: int, steps: int) -> str:
    payload = json.dumps([sorted(c.to_json() for c in cards), level, neighbours, steps])
    return hashlib.sha256(payload.encode()).hexdigest()[:10]


def level_library(
    best: list[ModelCard],
    previous: Library,
    level: int,
    neighbours: int,
    cache_dir: Path,
    steps: int = 1000,
    max_pool: int = 5000,
) -> tuple[Library, float]:
    """The level's library from crossovers of ``best`` with their neighbours (cached by its inputs).

    Returns the library and the CPU seconds its build took (stored in its metadata, so a
    cached library still reports what it cost; NaN for one built without that record).
    """
    started = time.process_time()
    path = Path(cache_dir) / f"library-L{level}-{_key(best, level, neighbours, steps)}.npz"
    if path.is_file():
        library = Library.load(path)
        return library, float(library.meta.get("build_cpu_s", float("nan")))
    cards = crossover_cards(best, previous, level, neighbours)
    if len(cards) > max_pool:
        raise SystemExit(
            f"level {level}: crossovers give {len(cards):,} cards, more than --max-pool {max_pool:,}; "
            "lower --top-k or --neighbours (all-pairs distances grow with the square of the pool)"
        )
    library = build_library(cards, level, dim=previous.dim, cost_model=previous.cost_model, steps=steps)
    library.meta["build_cpu_s"] = time.process_time() - started
    library.save(path)
    return library, library.meta["build_cpu_s"]


def run(
    bench: Any,
    fidelity: str,
    *,
    library1: Library | None = None,
    encoding1: Encoding | None = None,
    algo: str = "boshnas",
    runs: int = 5,
    budget1: int = 100,
    budget2: int = 100,
    top_k: int = 10,
    neighbours: int = 10,
    levels: tuple[int, ...] = (2,),
    processes: int = 1,
    runs_dir: Path | None = None,
    embed_steps: int = 1000,
    max_pool: int = 5000,
    table_top: int = 10,
) -> B5:
    """Search level 1, cross the best cards into each finer level, search it; returns every level's results."""
    if algo not in OPTIMIZERS:
        raise SystemExit(f"--algo {algo}: not allowed; allowed: {sorted(OPTIMIZERS)}")
    started = time.perf_counter()
    runs_dir = Path(runs_dir) if runs_dir is not None else RUNS / table_id(bench)
    library1 = library1 if library1 is not None else load_or_build_library(level=1)
    encoding1 = encoding1 if encoding1 is not None else make_encoding("t2v")
    objective = table_objective(bench, fidelity, processes)
    seeds = range(runs)
    paths = ensure_runs(
        [algo], seeds, objective, budget1, encoding1, runs_dir / f"{encoding1.name}-full", processes=processes
    )
    curves = load_curves(paths[algo], budget1)
    results = [Level(1, len(encoding1), curves, rank_observed(curves))]
    previous, budgets = library1, {1: budget1}
    for level in levels:
        best = [card for card, _, _ in results[-1].ranked[:top_k]]
        library, seconds = level_library(best, previous, level, neighbours, runs_dir / "b5", embed_steps, max_pool)
        encoding = library_encoding(library)
        out = runs_dir / "b5" / f"level{level}-{_key(best, level, neighbours, embed_steps)}"
        paths = ensure_runs([algo], seeds, objective, budget2, encoding, out, processes=processes)
        curves = load_curves(paths[algo], budget2)
        spearman = library.meta.get("fit_spearman")
        results.append(Level(level, len(encoding), curves, rank_observed(curves), seconds, spearman))
        previous, budgets[level] = library, budget2
    top = _table_top(bench, fidelity, table_top)
    return B5(results, algo, runs, budgets, top_k, neighbours, table_version(bench), time.perf_counter() - started, top)


def _table_top(bench: Any, fidelity: str, k: int) -> list[ModelCard]:
    """The ``k`` level-1 cards with the best table score (measured or surrogate), when every row is there."""
    cards = bench.cards()
    if k <= 0 or len(cards) < bench.space.count(1):
        return []
    scores = np.array([bench.query(c, fidelity).score for c in cards])
    return [cards[i] for i in np.argsort(-scores, kind="stable")[:k]]


# ---------------------------------------------------------------------- design rules (Section 4.4)
RULES = (
    ("DCT deeper, SDP shallower", "share of DCT operations", "share of SDP attention"),
    ("more heads, smaller hidden deeper", "mean heads", "mean hidden size"),
    ("wider, shallower feed-forward deeper", "mean FF width", "mean FF depth"),
)


def per_position(cards: list[ModelCard]) -> pd.DataFrame:
    """Design choices per layer position over the 4-layer cards of ``cards`` (one row per position)."""
    deep = [c for c in cards if c.l == 4]
    rows = []
    for j in range(4):
        layers = [c.layer(j) for c in deep]
        if not layers:
            break
        rows.append(
            {
                "position": j + 1,
                "cards": len(layers),
                "share of DCT operations": np.mean([o == "LT" and p == "DCT" for o, _, _, _, p in layers]),
                "share of SDP attention": np.mean([o == "SA" and p == "SDP" for o, _, _, _, p in layers]),
                "mean heads": np.mean([n for _, _, n, _, _ in layers]),
                "mean hidden size": np.mean([h for _, h, _, _, _ in layers]),
                "mean FF width": np.mean([np.mean(f) for _, _, _, f, _ in layers]),
                "mean FF depth": np.mean([len(f) for _, _, _, f, _ in layers]),
                "operations": ", ".join(
                    f"{k} {v}" for k, v in pd.Series([f"{o}-{p}" for o, _, _, _, p in layers]).value_counts().items()
                ),
            }
        )
    return pd.DataFrame(rows)


def rule_verdicts(table: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(rule, verdict, numbers) for each Section 4.4 rule: deeper half (layers 3-4) vs shallower half (1-2).

    Each rule has two parts: the first quantity should be larger in the deeper half,
    the second larger in the shallower half. ``agrees`` when both hold, ``opposite``
    when both are reversed, ``no difference`` when both tie, otherwise ``mixed``
    with each part named (as the paper / reversed / no difference).
    """
    if len(table) < 4:
        return [(rule, "no 4-layer cards", "") for rule, _, _ in RULES]
    shallow, deep = table.iloc[:2].mean(numeric_only=True), table.iloc[2:].mean(numeric_only=True)
    words = {1.0: "as the paper", -1.0: "reversed", 0.0: "no difference"}
    out = []
    for rule, up, down in RULES:
        first = float(np.sign(round(deep[up] - shallow[up], 9)))
        second = float(np.sign(round(shallow[down] - deep[down], 9)))
        if first == second:
            verdict = {1.0: "agrees", -1.0: "opposite", 0.0: "no difference"}[first]
        else:
            verdict = f"mixed ({up}: {words[first]}; {down}: {words[second]})"
        numbers = (
            f"{up}: layers 1-2 {shallow[up]:.2f}, 3-4 {deep[up]:.2f}; {down}: layers 1-2 {shallow[down]:.2f}, "
            f"3-4 {deep[down]:.2f}"
        )
        out.append((rule, verdict, numbers))
    return out


# ---------------------------------------------------------------------- outputs
def top_cards(result: B5, bench: Any, fidelity: str, k: int = 5) -> pd.DataFrame:
    """The best ``k`` cards of each level by mean observed score, with their table answer."""
    rows = []
    for level in result.levels:
        for rank, (card, observed, count) in enumerate(level.ranked[:k], 1):
            answer = bench.query(card, fidelity)
            rows.append(
                {
                    "level": level.level,
                    "rank": rank,
                    "card": card.short(),
                    "card_json": card.to_json(),
                    "observed_mean": observed,
                    "times_observed": count,
                    "score": answer.score,
                    "score_std": answer.score_std,
                    "source": answer.source,
                    "params": answer.params,
                }
            )
    return pd.DataFrame(rows)


POSITIONS_CSV = "b5_hierarchical_positions.csv"
#: Colours of the figure's groups: the search's by its algorithm (search/palette.py), the others fixed.
GROUP_COLOURS = {"table": "#000000", "paper": "#8c6d31"}


def positions_frame(tables: dict[str, pd.DataFrame], algo: str, search_prefix: str) -> pd.DataFrame:
    """The per-position tables in long form, one row per (group, position), with what colours each group."""
    parts = []
    for name, table in tables.items():
        kind = "search" if name.startswith(search_prefix) else "table" if name.startswith("table") else "paper"
        parts.append(table.assign(group=name, kind=kind, algo=algo if kind == "search" else ""))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def draw(positions: pd.DataFrame, path: Path) -> Path:
    """Design choices per layer position, one panel per Section 4.4 rule (``--replot`` redraws it from the CSV)."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    for ax, (rule, up, down) in zip(axes, RULES):
        for name, table in positions.groupby("group", sort=False):
            kind = table["kind"].iloc[0]
            algo = table["algo"].iloc[0]
            shade = colour(algo) if kind == "search" and isinstance(algo, str) and algo else GROUP_COLOURS[kind]
            ax.plot(table.position, table[up], "-o", color=shade, label=name)
            ax.plot(table.position, table[down], "--s", color=shade, alpha=0.6)
        ax.set(title=rule, xlabel="layer position (1 = next to the input)", xticks=[1, 2, 3, 4])
        ax.set_ylabel(f"{up} (solid)\n{down} (dashed)", fontsize=8)
        ax.set_yscale("log" if "hidden" in down or "width" in up else "linear")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_outputs(
    result: B5, bench: Any, fidelity: str, out_dir: Path = HERE, command: str | None = None, n_rules: int = 10
) -> str:
    """Markdown report, the best-cards CSV and a per-position design-choice figure."""
    out_dir = Path(out_dir)
    best = top_cards(result, bench, fidelity)
    best.to_csv(out_dir / "b5_hierarchical.csv", index=False)
    final = result.levels[-1]
    true_of = {card: true for run in final.curves.observed for card, _, true in run}
    searched = [ModelCard.from_json(c) for c in sorted(true_of, key=lambda c: (-true_of[c], c))[:n_rules]]
    groups = {
        f"hierarchical search, best {n_rules} of level {final.level}": searched,
        f"table, best {len(result.table_top)} level-1 cards": result.table_top,
        "paper's FlexiBERT-Mini (Appendix B.5)": [ModelCard.named("flexibert-mini")],
    }
    tables = {name: per_position(cards) for name, cards in groups.items() if cards}

    positions = positions_frame(tables, result.algo, f"hierarchical search, best {n_rules}")
    positions.to_csv(out_dir / POSITIONS_CSV, index=False)
    draw(positions, out_dir / "b5_hierarchical.png")

    lines = [
        "# Appendix B.5 / Section 4.4: hierarchical search and design rules",
        "",
        f"Command: `{command or 'python paper_repro/b5_hierarchical.py'}`",
        "",
        f"Table: {result.version}. Algorithm: {result.algo}, {result.runs} runs per level; budgets "
        + ", ".join(f"level {k}: {v} queries" for k, v in result.budgets.items())
        + f"; level-1 best {result.top_k} cards x {result.neighbours} neighbours crossed into the next level. "
        f"{result.seconds:.0f} s wall for this invocation (reused runs and libraries cost nothing).",
        "",
        "| level | pool (cards) | library build, CPU s | embedding Spearman | final score (mean ± 90% CI over runs) "
        "| CPU s / run |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for level in result.levels:
        mean, half = ci90(level.curves.best_true[:, -1])
        spearman = f"{level.fit_spearman:.3f}" if level.fit_spearman is not None else "(cached level-1 library)"
        lines.append(
            f"| {level.level} | {level.pool:,} | {level.library_cpu_s:.1f} | {spearman} "
            f"| {float(mean):.2f} ± {float(half):.2f} | {mean_cpu(level.curves)} |"
        )
    if len(result.levels) > 1:
        a, b = result.levels[0].curves.best_true[:, -1], result.levels[-1].curves.best_true[:, -1]
        lines += [
            "",
            f"Level {result.levels[-1].level} minus level 1, paired by run seed: {float(np.mean(b - a)):+.2f} points "
            f"(paper: the s = 1 card FlexiBERT-Mini beats the s = 2 best, GLUE 72.9 after the full budget).",
        ]
    lines += [
        "",
        "## Best cards per level (by mean observed score over all runs; score = the table's answer)",
        "",
        "| level | rank | card | observed | score | source | params |",
        "|---:|---:|---|---:|---:|---|---:|",
    ]
    for r in best.itertuples():
        lines.append(
            f"| {r.level} | {r.rank} | `{r.card}` | {r.observed_mean:.2f} (x{r.times_observed}) | "
            f"{r.score:.2f} ± {r.score_std:.2f} | {r.source} | {r.params / 1e6:.2f}M |"
        )
    lines += ["", "The paper's best cards (Appendix B.5) on this table:", ""]
    for level, name in PAPER_BEST.items():
        answer = bench.query(ModelCard.named(name), fidelity)
        lines.append(
            f"- level {level} ({name}): `{ModelCard.named(name).short()}` — {answer.score:.2f} ± "
            f"{answer.score_std:.2f} ({answer.source})"
        )
    lines += ["", "## Design rules of Section 4.4, per layer position", ""]
    for name, table in tables.items():
        lines += [f"### {name}", ""]
        if not len(table):
            lines += ["No 4-layer cards among them.", ""]
            continue
        lines += [
            "| position | cards | DCT share | SDP share | heads | hidden | FF width | FF depth | operations |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for r in table.itertuples(index=False):
            lines.append(
                f"| {r[0]} | {r[1]} | {r[2]:.2f} | {r[3]:.2f} | {r[4]:.2f} | {r[5]:.0f} | {r[6]:.0f} "
                f"| {r[7]:.2f} | {r[8]} |"
            )
        lines.append("")
        for rule, verdict, numbers in rule_verdicts(table):
            lines.append(f"- {rule}: **{verdict}** ({numbers})")
        lines.append("")
    text = "\n".join(lines)
    (out_dir / "b5_hierarchical.md").write_text(text)
    return text


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algo", default="boshnas", help=f"search algorithm, one of {sorted(OPTIMIZERS)}")
    parser.add_argument("--runs", type=int, default=5, help="runs (seeds) per level (default 5)")
    parser.add_argument("--budget1", type=int, default=100, help="queries per level-1 run (default 100)")
    parser.add_argument("--budget2", type=int, default=100, help="queries per run at finer levels (default 100)")
    parser.add_argument("--top-k", type=int, default=10, help="best level-1 cards to cross (default 10)")
    parser.add_argument("--neighbours", type=int, default=10, help="neighbours crossed with each (default 10)")
    parser.add_argument("--levels", default="2", help="finer levels to search, e.g. 2 or 2,3 (default 2)")
    parser.add_argument("--max-pool", type=int, default=5000, help="refuse crossover libraries larger than this")
    add_table_arguments(parser)
    parser.add_argument("--replot", action="store_true", help=f"only redraw the figure from {POSITIONS_CSV}")
    args = parser.parse_args(argv)
    if args.replot:
        return str(draw(pd.read_csv(HERE / POSITIONS_CSV, keep_default_na=False), HERE / "b5_hierarchical.png"))
    levels = tuple(int(v) for v in split_names(args.levels))
    if any(v not in (2, 3) for v in levels) or list(levels) != sorted(set(levels)) or levels[0] != 2:
        parser.error(f"--levels: {args.levels!r} not allowed; allowed: 2 or 2,3")
    library1 = load_or_build_library(level=1)
    bench = flexibench.load(args.table, library=library1)
    fidelity = args.fidelity or bench.default_fidelity
    result = run(
        bench,
        fidelity,
        library1=library1,
        algo=args.algo,
        runs=args.runs,
        budget1=args.budget1,
        budget2=args.budget2,
        top_k=args.top_k,
        neighbours=args.neighbours,
        levels=levels,
        processes=args.processes,
        max_pool=args.max_pool,
    )
    return write_outputs(result, bench, fidelity, command=command_line("b5_hierarchical.py", argv))


if __name__ == "__main__":
    print(main())
