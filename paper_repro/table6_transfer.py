"""Table 6 / Figure 8: weight transfer from a trained neighbour vs training from scratch, measured with the harness.

Run: ``python paper_repro/table6_transfer.py [--recipe nano] [--data DIR] [--targets a,b,...] [--seeds 0]``
-> evaluations journaled under ``paper_repro/runs/table6/<recipe>/``, then ``table6_transfer.md``,
``.png`` and ``.csv`` beside this file. ``--plan`` lists the pairs and the expected cost and trains
nothing; ``--report`` rewrites the outputs from the journals without training.

For each target card (default: BERT-Tiny, BERT-2/256, FNet-Tiny, ConvBERT-Tiny) the source is
the first of its ranked neighbours (biased overlap, then Transformer2vec distance:
``Benchmark.neighbours``) that passes the transfer rule ``overlap / l_target >= tau``
(``flexibench.library.neighbours.transfer_allowed``, tau = 0.8) and is already measured in
the table, as in Algorithm 1 lines 8-12 ("n is trained"); when none is measured, the first
that passes. At level 1 this makes the source a 4-layer card whose first stack is the
target's. Every (pair, seed) then runs, with the same recipe and seed:

- ``source``: the source card, pretrained and fine-tuned, its MLM weights saved (``save_dir``);
- ``scratch``: the target from random initialisation (pretrain + fine-tune);
- ``transfer-ft``: the target starting from the source's weights and fine-tuned directly, no
  pretraining (the paper's "directly fine-tune models for which nearby models are already
  pre-trained", Appendix B.3; Table 6's "w/ knowledge transfer" row and Figure 8 (b)/(c));
- ``transfer``: the target starting from the source's weights, then the recipe's full
  pretraining and fine-tuning (what ``evaluate(..., transfer_from=...)`` does with the recipe
  unchanged: does a warm start help at equal cost?).

``transfer-ft`` needs a recipe that fine-tunes: a recipe scored on held-out MLM alone (``nano``
since v1: 200 MLM steps, no GLUE task) has nothing left to run once pretraining is skipped. For
such recipes the cheap transfer is a *shorter* pretraining instead, and it is read off the
held-out checkpoints the harness records every ``heldout_every`` steps (``loss@k``; with the
constant schedule these are exactly the scores of k-step recipes): the table reports the first
checkpoint at which the transferred target reaches the scratch target's final held-out loss,
and the share of pretraining that saves.

Records of the two transfer modes carry the recipe name plus ``-transfer`` / ``-transfer-ft``
so that they can never be mistaken for scratch records of the same card and seed. Each
evaluation is appended (fsync'd) to its mode's journal shard as it finishes, so a killed run
loses at most the evaluation in progress, and a rerun skips everything already journaled.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.stats import t as student_t  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _search_runs import command_line, split_names  # noqa: E402

import flexibench  # noqa: E402
from flexibench.bench.journal import JournalWriter, expand_shard_paths, read_shard  # noqa: E402
from flexibench.core import ModelCard, card_hash  # noqa: E402
from flexibench.core.recipes import Recipe, load_recipe  # noqa: E402
from flexibench.core.record import ResultRecord  # noqa: E402
from flexibench.library.neighbours import DEFAULT_TAU, transfer_allowed  # noqa: E402
from flexibench.models.transfer import overlap_fraction  # noqa: E402

HERE = Path(__file__).resolve().parent
RUNS = HERE / "runs" / "table6"
DEFAULT_TARGETS = ("bert-tiny", "bert-2-256", "fnet-tiny", "convbert-tiny")
TARGET_MODES = ("scratch", "transfer-ft", "transfer")
CURVE_PREFIX = "loss@"  # CSV columns heldout_loss@k: held-out MLM loss after k pretraining steps
MODES = ("source",) + TARGET_MODES
MODE_LABELS = {
    "scratch": "scratch, full recipe",
    "transfer-ft": "transfer, fine-tune only",
    "transfer": "transfer + full recipe",
}
WEIGHT_FILES = ("model.safetensors", "card.json", "config.json")


@dataclass(frozen=True)
class Pair:
    """A trained neighbour (source) whose weights start the target."""

    source: ModelCard
    target: ModelCard
    overlap: float  # biased overlap / target layers
    rule: str  # how the source was chosen


def choose_pairs(
    targets: Iterable[ModelCard],
    neighbours_of: Callable[[ModelCard], Sequence[ModelCard]],
    measured: Iterable[ModelCard] = (),
    tau: float = DEFAULT_TAU,
) -> list[Pair]:
    """One source per target: the first ranked neighbour that passes the rule, preferring measured ones."""
    trained = set(measured)
    pairs = []
    for target in targets:
        passing = [n for n in neighbours_of(target) if n != target and transfer_allowed(target, n, tau)]
        if not passing:
            raise SystemExit(f"{target.short()}: no neighbour passes the transfer rule at tau = {tau}")
        chosen = next((n for n in passing if n in trained), None)
        rule = "first measured neighbour passing the rule" if chosen is not None else "first neighbour passing the rule"
        source = chosen if chosen is not None else passing[0]
        pairs.append(Pair(source, target, overlap_fraction(target, source), rule))
    return pairs


def default_modes(recipe: Recipe) -> tuple[str, ...]:
    """Every target mode the recipe supports: ``transfer-ft`` only when it fine-tunes on some task."""
    return TARGET_MODES if recipe.tasks else tuple(m for m in TARGET_MODES if m != "transfer-ft")


def check_modes(recipe: Recipe, modes: Sequence[str]) -> None:
    """Refuse modes that cannot produce a score under ``recipe`` (SystemExit with the reason)."""
    unknown = [m for m in modes if m not in TARGET_MODES]
    if unknown:
        raise SystemExit(f"modes {unknown} are not allowed; allowed: {list(TARGET_MODES)}")
    if "transfer-ft" in modes and not recipe.tasks:
        raise SystemExit(
            f"mode transfer-ft: recipe {recipe.name!r} fine-tunes no task (its score is {list(recipe.scored)}), so "
            "skipping pretraining leaves nothing to score; the 'transfer' mode's held-out checkpoints give the "
            "shorter-pretraining comparison instead"
        )


def mode_recipe(recipe: Recipe, mode: str) -> Recipe:
    """The recipe a mode runs: unchanged for source and scratch; renamed (and for -ft, no pretraining) for transfer."""
    if mode in ("source", "scratch"):
        return recipe
    data = recipe.to_dict()
    data["name"] = f"{recipe.name}-{mode}"
    if mode == "transfer-ft":
        data["pretrain"]["steps"] = 0
        data["description"] = f"{recipe.name} with pretraining skipped: weights transferred from a trained neighbour"
    else:
        data["description"] = f"{recipe.name}, started from a trained neighbour's weights"
    return Recipe.from_dict(data)


def model_dir(out_dir: Path, pair: Pair, seed: int) -> Path:
    return Path(out_dir) / "models" / f"{card_hash(pair.source)[:12]}-seed{seed}"


def _has_weights(folder: Path) -> bool:
    return all((folder / name).is_file() for name in WEIGHT_FILES)


def _shard(out_dir: Path, mode: str) -> Path:
    import socket

    return Path(out_dir) / mode / f"shard-{socket.gethostname()}.jsonl"


def read_mode(out_dir: Path, mode: str) -> list[ResultRecord]:
    folder = Path(out_dir) / mode
    if not folder.is_dir():
        return []
    return [record for shard in expand_shard_paths([folder]) for record in read_shard(shard)]


def _done(out_dir: Path) -> dict[str, set[tuple[str, int, str | None]]]:
    return {mode: {(r.card_hash, r.seed, r.transfer_source) for r in read_mode(out_dir, mode)} for mode in MODES}


def run_pairs(
    pairs: Sequence[Pair],
    recipe: Recipe | str | dict[str, Any],
    seeds: Sequence[int],
    out_dir: Path,
    data_dir: str | Path | None = None,
    modes: Sequence[str] | None = None,
    device: str | None = None,
    progress: Callable[[str], None] = print,
) -> int:
    """Run every evaluation not yet journaled under ``out_dir``; returns how many ran.

    ``modes`` defaults to :func:`default_modes` of the recipe.
    """
    from flexibench.train.evaluate import evaluate, resolve_data_dir

    recipe = load_recipe(recipe)
    modes = tuple(modes) if modes is not None else default_modes(recipe)
    check_modes(recipe, modes)
    data = resolve_data_dir(data_dir)
    out_dir = Path(out_dir)
    done = _done(out_dir)
    failed_sources = {(r.card_hash, r.seed) for r in read_mode(out_dir, "source") if r.status != "ok"}
    ran = 0

    def journal(mode: str, record: ResultRecord) -> None:
        nonlocal ran
        with JournalWriter(_shard(out_dir, mode)) as writer:
            writer.append(record)
        done[mode].add((record.card_hash, record.seed, record.transfer_source))
        ran += 1
        progress(
            f"{mode}: {ModelCard.from_dict(record.card).short()} seed {record.seed}: {record.status} "
            f"score {record.score:.2f}, {record.pretrain_time_s:.0f} s pretrain + "
            f"{record.finetune_time_s:.0f} s fine-tune"
        )

    for seed in seeds:
        for pair in pairs:
            source_hash, target_hash = card_hash(pair.source), card_hash(pair.target)
            weights = model_dir(out_dir, pair, seed)
            wants_weights = any(
                (target_hash, seed, source_hash) not in done[m] for m in modes if m.startswith("transfer")
            )
            source_done = (source_hash, seed, None) in done["source"]
            retrain = wants_weights and not _has_weights(weights) and (source_hash, seed) not in failed_sources
            if not source_done or retrain:
                record = evaluate(pair.source, recipe, seed, data_dir=data, device=device, save_dir=weights)
                if not source_done:
                    journal("source", record)
            for mode in modes:
                transfer = mode.startswith("transfer")
                if (target_hash, seed, source_hash if transfer else None) in done[mode]:
                    continue
                if transfer and not _has_weights(weights):
                    progress(f"{mode}: {pair.target.short()} seed {seed}: skipped, the source has no saved weights")
                    continue
                record = evaluate(
                    pair.target,
                    mode_recipe(recipe, mode),
                    seed,
                    data_dir=data,
                    device=device,
                    transfer_from=weights if transfer else None,
                )
                journal(mode, record)
    return ran


def collect(out_dir: Path, pairs: Sequence[Pair], seeds: Sequence[int]) -> pd.DataFrame:
    """One row per (pair, seed, mode) found in the journals."""
    records = {mode: read_mode(out_dir, mode) for mode in MODES}
    rows = []
    for index, pair in enumerate(pairs, 1):
        source_hash, target_hash = card_hash(pair.source), card_hash(pair.target)
        for seed in seeds:
            for mode in MODES:
                card_of = source_hash if mode == "source" else target_hash
                origin = source_hash if mode.startswith("transfer") else None
                match = [
                    r
                    for r in records[mode]
                    if r.card_hash == card_of and r.seed == seed and r.transfer_source == origin
                ]
                if not match:
                    continue
                r = match[0]
                rows.append(
                    {
                        "pair": index,
                        "source": pair.source.short(),
                        "target": pair.target.short(),
                        "overlap": pair.overlap,
                        "seed": seed,
                        "mode": mode,
                        "fidelity": r.fidelity,
                        "status": r.status,
                        "score": r.score,
                        "pretrain_s": r.pretrain_time_s,
                        "finetune_s": r.finetune_time_s,
                        "total_s": r.pretrain_time_s + r.finetune_time_s,
                        "pretrain_loss": r.pretrain_loss,
                        "device": r.device,
                        **{f"heldout_{k}": v for k, v in heldout_curve(r).items()},
                    }
                )
    return pd.DataFrame(rows)


def heldout_curve(record: ResultRecord) -> dict[str, float]:
    """The record's held-out MLM losses by pretraining step (its ``heldout`` curve), keyed ``loss@k``."""
    curve = record.heldout
    return {} if curve is None else {f"{CURVE_PREFIX}{k}": v for k, v in zip(curve.steps, curve.loss)}


def curve_columns(frame: pd.DataFrame) -> list[tuple[int, str]]:
    """(step, column) of the held-out curve columns in ``frame``, by step."""
    prefix = f"heldout_{CURVE_PREFIX}"
    return sorted((int(c[len(prefix) :]), c) for c in frame.columns if c.startswith(prefix))


def steps_to_match(frame: pd.DataFrame) -> pd.DataFrame:
    """Per (pair, seed): first checkpoint where ``transfer`` reaches scratch's final held-out loss.

    Columns: final step S, matching step k (NaN when never reached) and the pretraining
    saved, ``1 - k / S`` (time is proportional to steps at a fixed batch).
    """
    columns = curve_columns(frame)
    rows = []
    if not columns or not {"scratch", "transfer"} <= set(frame["mode"]):
        return pd.DataFrame(rows)
    final_step, final_col = columns[-1]
    for (pair, seed), part in frame.groupby(["pair", "seed"]):
        scratch, transfer = part[part["mode"] == "scratch"], part[part["mode"] == "transfer"]
        if not len(scratch) or not len(transfer) or np.isnan(scratch[final_col].iloc[0]):
            continue
        target = float(scratch[final_col].iloc[0])
        reached = [k for k, c in columns if float(transfer[c].iloc[0]) <= target]
        k = reached[0] if reached else float("nan")
        rows.append({"pair": pair, "seed": seed, "steps": final_step, "match_step": k, "saved": 1 - k / final_step})
    return pd.DataFrame(rows)


def measured_pretrain_share(csv_path: Path = HERE / "table6_transfer.csv") -> float | None:
    """Share of pretraining a transferred target needs to reach scratch's final held-out loss, from a finished run.

    The mean of ``match_step / steps`` over (pair, seed), a target that never reaches it
    counting as 1 (no saving). ``None`` when ``csv_path`` is missing or holds no learning
    curves (a recipe that fine-tunes, or no run yet). The search reproductions use it to
    price transferred cards on a fidelity that fine-tunes nothing.
    """
    if not Path(csv_path).is_file():
        return None
    frame = pd.read_csv(csv_path)
    if "status" not in frame:
        return None
    matched = steps_to_match(frame[frame.status == "ok"])
    if not len(matched):
        return None
    return float((matched.match_step / matched.steps).fillna(1.0).mean())


def _ci(values: pd.Series) -> tuple[float, float]:
    v = values.dropna().to_numpy(dtype=float)
    if len(v) == 0:
        return float("nan"), float("nan")
    if len(v) == 1:
        return float(v[0]), float("nan")
    return float(v.mean()), float(student_t.ppf(0.95, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))


def _fmt(pair: tuple[float, float], digits: int = 2) -> str:
    mean, half = pair
    if np.isnan(mean):
        return "n/a"
    return f"{mean:.{digits}f}" + ("" if np.isnan(half) else f" ± {half:.{digits}f}")


def write_outputs(
    frame: pd.DataFrame, pairs: Sequence[Pair], recipe_name: str, out_dir: Path = HERE, command: str | None = None
) -> str:
    """Markdown (per pair and overall), long-form CSV and a Figure 8-style figure (scores and times)."""
    out_dir = Path(out_dir)
    frame.to_csv(out_dir / "table6_transfer.csv", index=False)
    if curve_columns(frame):
        ids = ["pair", "source", "target", "seed", "mode"]
        long = frame.melt(id_vars=ids, value_vars=[c for _, c in curve_columns(frame)], value_name="heldout_loss")
        long["step"] = long.pop("variable").str.rsplit("@", n=1).str[1].astype(int)
        long.dropna(subset=["heldout_loss"]).to_csv(out_dir / "table6_transfer_curves.csv", index=False)
    ok = frame[frame.status == "ok"] if len(frame) else frame
    lines = [
        "# Table 6 / Figure 8: weight transfer vs training from scratch",
        "",
        f"Command: `{command or 'python paper_repro/table6_transfer.py'}`",
        "",
        f"Recipe `{recipe_name}`; journals under `paper_repro/runs/table6/{recipe_name}/`. Times are the harness's "
        "own pretraining and fine-tuning seconds (`ResultRecord`); mean ± 90% confidence half-width over pairs "
        "and seeds.",
        "",
        "| # | source (trained neighbour) | target | overlap | how chosen |",
        "|---:|---|---|---:|---|",
    ]
    for i, pair in enumerate(pairs, 1):
        lines.append(f"| {i} | `{pair.source.short()}` | `{pair.target.short()}` | {pair.overlap:.2f} | {pair.rule} |")
    if not len(ok):
        lines += ["", "No finished evaluations in the journals yet.", ""]
        text = "\n".join(lines)
        (out_dir / "table6_transfer.md").write_text(text)
        return text
    wide = ok.pivot_table(index=["pair", "seed"], columns="mode", values=["score", "total_s"], aggfunc="first")
    present = [m for m in TARGET_MODES if m in set(ok["mode"])]
    lines += [
        "",
        "| # | seeds | "
        + " | ".join(f"score: {MODE_LABELS[m]}" for m in present)
        + " | "
        + " | ".join(f"time s: {MODE_LABELS[m]}" for m in present)
        + " |",
        "|---:|---:|" + "---:|" * (2 * len(present)),
    ]
    for index in sorted(ok.pair.unique()):
        part = ok[ok.pair == index]
        cells = [_fmt(_ci(part[part["mode"] == m].score)) for m in present]
        times = [_fmt(_ci(part[part["mode"] == m].total_s), 0) for m in present]
        lines.append(f"| {index} | {part.seed.nunique()} | " + " | ".join(cells + times) + " |")
    matched = steps_to_match(ok)
    if len(matched):
        lines += [
            "",
            "Held-out MLM learning curves (`table6_transfer_curves.csv`): the first checkpoint at which the "
            "transferred target reaches the scratch target's final held-out loss.",
            "",
            "| # | seed | checkpoint reached / steps | pretraining saved |",
            "|---:|---:|---:|---:|",
        ]
        for r in matched.itertuples():
            reached = "not reached" if np.isnan(r.match_step) else f"{int(r.match_step)} / {int(r.steps)}"
            saved = "-" if np.isnan(r.saved) else f"{100 * r.saved:.0f}%"
            lines.append(f"| {r.pair} | {r.seed} | {reached} | {saved} |")
    lines += ["", "## Against the paper", ""]
    if ("score", "scratch") in wide and ("score", "transfer-ft") in wide:
        diff = (wide["score"]["transfer-ft"] - wide["score"]["scratch"]).dropna()
        saved = (1 - wide["total_s"]["transfer-ft"] / wide["total_s"]["scratch"]).dropna() * 100
        lines += [
            f"- score, transfer + fine-tune only minus scratch: {_fmt(_ci(diff))} points over {len(diff)} "
            "(pair, seed) (paper, Table 6: 69.7 vs 70.4 GLUE for FlexiBERT-Mini, -0.7: 'a negligible loss')",
            f"- training time saved by fine-tuning only: {_fmt(_ci(saved), 1)}% per transferred model (paper, "
            "Figure 8: direct fine-tuning is a fraction of pretrain + fine-tune; 38% saved over the whole search, "
            "where only some models can transfer; see `fig5_search.md` for that share on the table)",
        ]
    if ("score", "transfer") in wide and ("score", "scratch") in wide:
        diff = (wide["score"]["transfer"] - wide["score"]["scratch"]).dropna()
        lines.append(
            f"- score, transfer + full pretraining minus scratch (equal cost, warm start): {_fmt(_ci(diff))} points "
            "(not in the paper)"
        )
    if len(matched):
        saved = matched["saved"].fillna(0.0) * 100
        lines.append(
            f"- pretraining the transferred target needs to match scratch's final held-out loss: saves "
            f"{_fmt(_ci(saved), 0)}% of pretraining ({int(matched.match_step.notna().sum())} of {len(matched)} "
            "(pair, seed) reach it; 'not reached' counts as 0%). This is the held-out-MLM stand-in for the "
            "paper's 'directly fine-tune' (Appendix B.3), since this recipe has no fine-tuning to keep"
        )
    failed = frame[frame.status != "ok"] if len(frame) else frame
    if len(failed):
        lines.append(
            f"- {len(failed)} evaluation(s) did not finish ok: "
            + ", ".join(
                f"{r.mode} {r.target if r.mode != 'source' else r.source} seed {r.seed} ({r.status})"
                for r in failed.itertuples()
            )
        )
    lines.append("")
    text = "\n".join(lines)
    (out_dir / "table6_transfer.md").write_text(text)

    curves = curve_columns(ok)
    fig, axes = plt.subplots(1, 3 if curves else 2, figsize=(16 if curves else 11, 3.8))
    width = 0.8 / max(1, len(present))
    for k, mode in enumerate(present):
        part = ok[ok["mode"] == mode].groupby("pair").score.mean()
        axes[0].bar(part.index + (k - (len(present) - 1) / 2) * width, part.values, width, label=MODE_LABELS[mode])
    axes[0].set(xlabel="pair (see table6_transfer.md)", ylabel=f"score at {recipe_name} (%)", title="Score")
    axes[0].set_xticks(sorted(ok.pair.unique()))
    scores = ok[ok["mode"] != "source"].score
    if len(scores):
        axes[0].set_ylim(float(scores.min()) - 2, float(scores.max()) + 1)
    axes[0].legend(fontsize=7, loc="lower right")
    means = [_ci(ok[ok["mode"] == m].total_s) for m in present]
    axes[1].bar(
        range(len(present)),
        [m for m, _ in means],
        yerr=[0 if np.isnan(h) else h for _, h in means],
        capsize=4,
        color=["tab:blue", "tab:orange", "tab:green"][: len(present)],
    )
    axes[1].set_xticks(range(len(present)), [MODE_LABELS[m] for m in present], fontsize=7)
    axes[1].set(ylabel="training time per target (s)", title="Training time (90% CI), cf. Figure 8")
    if curves:
        steps = [k for k, _ in curves]
        for (index, part), colour in zip(ok.groupby("pair"), plt.rcParams["axes.prop_cycle"].by_key()["color"] * 9):
            for mode, style in (("scratch", "-"), ("transfer", "--")):
                rows = part[part["mode"] == mode]
                if len(rows):
                    mean = rows[[c for _, c in curves]].mean(axis=0).to_numpy(dtype=float)
                    axes[2].plot(steps, mean, style, color=colour, marker="o", ms=3, label=f"{index}: {mode}")
        axes[2].set(xlabel="pretraining steps", ylabel="held-out MLM loss", title="Held-out loss (solid: scratch)")
        axes[2].legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(out_dir / "table6_transfer.png", dpi=120)
    plt.close(fig)
    return text


def estimated_cost(bench: Any, pairs: Sequence[Pair], fidelity: str, modes: Sequence[str]) -> float:
    """Seconds the plan should take, from the table's recorded times of these cards (surrogate: a FLOPs fit)."""
    total = 0.0
    for pair in pairs:
        source, target = bench.query(pair.source, fidelity), bench.query(pair.target, fidelity)
        total += source.pretrain_time_s + source.finetune_time_s
        for mode in modes:
            total += target.finetune_time_s + (0.0 if mode == "transfer-ft" else target.pretrain_time_s)
    return total


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="nano", help="recipe name or YAML file (default nano)")
    parser.add_argument("--data", default=None, help="data folder (default: $FLEXIBENCH_DATA)")
    parser.add_argument(
        "--targets", default=",".join(DEFAULT_TARGETS), help="target cards (names or JSON), comma-separated"
    )
    parser.add_argument("--seeds", default="0", help="training seeds, comma-separated (default 0)")
    parser.add_argument(
        "--modes", default=None, help=f"target modes, from {list(TARGET_MODES)} (default: all the recipe supports)"
    )
    parser.add_argument("--tau", type=float, default=DEFAULT_TAU, help="transfer threshold (default 0.8)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    parser.add_argument(
        "--table", default=None, help="packed table for neighbours and costs (default data/flexibench.h5)"
    )
    parser.add_argument("--out", default=None, help="journal folder (default paper_repro/runs/table6/<recipe>)")
    parser.add_argument("--plan", action="store_true", help="print the pairs and the expected cost; train nothing")
    parser.add_argument("--report", action="store_true", help="write the outputs from the journals; train nothing")
    args = parser.parse_args(argv)
    recipe = load_recipe(args.recipe)
    targets = [ModelCard.parse(t) for t in _split_cards(args.targets)]
    seeds = [int(s) for s in split_names(args.seeds)]
    modes = list(split_names(args.modes)) if args.modes else list(default_modes(recipe))
    check_modes(recipe, modes)
    bench = flexibench.load(args.table)
    fidelity = recipe.fidelity if recipe.fidelity in bench.fidelities else bench.default_fidelity
    pairs = choose_pairs(targets, bench.neighbours, bench.cards(fidelity), args.tau)
    out_dir = Path(args.out) if args.out else RUNS / recipe.name
    if args.plan:
        lines = [f"{p.source.short()} -> {p.target.short()} (overlap {p.overlap:.2f}; {p.rule})" for p in pairs]
        cost = estimated_cost(bench, pairs, fidelity, modes) * len(seeds)
        lines.append(
            f"{len(pairs)} pairs x {len(seeds)} seed(s) x (source + {len(modes)} modes): about {cost / 60:.0f} "
            f"CPU-minutes at the times the table recorded for fidelity {fidelity!r}"
        )
        return "\n".join(lines)
    if not args.report:
        import torch

        torch.set_num_threads(max(1, args.threads))
        started = time.perf_counter()
        ran = run_pairs(pairs, recipe, seeds, out_dir, args.data, modes, args.device, progress=print)
        print(f"{ran} evaluation(s) in {time.perf_counter() - started:.0f} s -> {out_dir}")
    command = command_line("table6_transfer.py", argv)
    return write_outputs(collect(out_dir, pairs, seeds), pairs, recipe.name, command=command)


def _split_cards(text: str) -> list[str]:
    """Comma-separated names; JSON cards (which contain commas) are kept whole."""
    out, depth, current = [], 0, ""
    for ch in text:
        depth += ch in "{["
        depth -= ch in "}]"
        if ch == "," and depth == 0:
            out.append(current.strip())
            current = ""
        else:
            current += ch
    if current.strip():
        out.append(current.strip())
    return out


if __name__ == "__main__":
    print(main())
