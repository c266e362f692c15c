"""Table 6 / Figure 8: weight transfer from a trained neighbour vs training from scratch, measured with the harness.

Run: ``python paper_repro/table6_transfer.py [--recipe nano] [--data DIR] [--targets a,b,...] [--seeds 0]``
-> evaluations journaled in the sweep journal ``paper_repro/runs/table6/<recipe>/``, then
``table6_transfer.md``, ``.png``, ``.csv`` and ``_curves.csv`` beside this file. ``--plan`` lists
the pairs and the expected cost and trains nothing; ``--report`` rewrites the outputs from the
journal without training.

For each target card (default: BERT-Tiny, BERT-2/256, FNet-Tiny, ConvBERT-Tiny) the source is
the first of its ranked neighbours (biased overlap, then Transformer2vec distance:
``Benchmark.neighbours``) that passes the transfer rule ``overlap / l_target >= tau``
(``flexibench.library.neighbours.transfer_allowed``, tau = 0.8) and is already measured in
the table, as in Algorithm 1 lines 8-12 ("n is trained"); when none is measured, the first
that passes. At level 1 this makes the source a 4-layer card whose first stack is the
target's. Every (pair, seed) then runs, with the same recipe and seed:

- ``source``: the source card, pretrained and fine-tuned, its MLM weights saved (``Job.save_dir``);
- ``scratch``: the target from random initialisation (pretrain + fine-tune);
- ``transfer-ft``: the target starting from the source's weights and fine-tuned directly, no
  pretraining (the paper's "directly fine-tune models for which nearby models are already
  pre-trained", Appendix B.3; Table 6's "w/ knowledge transfer" row and Figure 8 (b)/(c));
- ``transfer``: the target starting from the source's weights (``Job.transfer_from``), then the
  recipe's full pretraining and fine-tuning (does a warm start help at equal cost?).

``transfer-ft`` needs a recipe that fine-tunes: a recipe scored on held-out MLM alone (``nano``
since v1: 200 MLM steps, no GLUE task) has nothing left to run once pretraining is skipped. For
such recipes the cheap transfer is a *shorter* pretraining instead, read off the held-out curve
the harness records every ``heldout_every`` steps (``ResultRecord.heldout``; with the constant
schedule these are exactly the scores of k-step recipes): the table reports the first
checkpoint at which the transferred target reaches the scratch target's final held-out loss,
and the share of pretraining that saves.

Records of the two transfer modes carry the recipe name plus ``-transfer`` / ``-transfer-ft``,
so their sweep keys (card, fidelity, seed) never meet a scratch record of the same card and
seed. Jobs run through the sweep's runner (``flexibench.train.runners``) into the one journal
folder, locked while they run (``flexibench.train.sweep.lock_output_folder``): each record is
appended (fsync'd) as it finishes, so a killed run loses at most the evaluation in progress,
and a rerun skips every key already journaled.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.stats import t as student_t  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _search_runs import command_line, split_names, table_version  # noqa: E402

import flexibench  # noqa: E402
from flexibench.bench.journal import read_shards  # noqa: E402
from flexibench.core import ModelCard, card_hash, overlap_fraction  # noqa: E402
from flexibench.core.recipes import Recipe, load_recipe  # noqa: E402
from flexibench.core.record import ResultRecord  # noqa: E402
from flexibench.library.neighbours import DEFAULT_TAU, transfer_allowed  # noqa: E402
from flexibench.train.runners import Job, run_local  # noqa: E402
from flexibench.train.sweep import lock_output_folder, shard_path  # noqa: E402

HERE = Path(__file__).resolve().parent
RUNS = HERE / "runs" / "table6"
DEFAULT_TARGETS = ("bert-tiny", "bert-2-256", "fnet-tiny", "convbert-tiny")
TARGET_MODES = ("scratch", "transfer-ft", "transfer")
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


# ---------------------------------------------------------------------------- the journal
Key = tuple[str, str, int]


def read_journal(out_dir: Path) -> dict[Key, ResultRecord]:
    """Every record journaled under ``out_dir`` (its shards, as ``pack`` and a resuming sweep read them), by key."""
    return {r.key: r for r in read_shards([out_dir])} if Path(out_dir).is_dir() else {}


def mode_record(
    records: dict[Key, ResultRecord], pair: Pair, recipe: Recipe, mode: str, seed: int
) -> ResultRecord | None:
    """The journaled record of one (pair, mode, seed), or None.

    The sweep's key (card, fidelity, seed) does not name a transfer's source, so a transfer
    record from another source (a journal made with other pairs) is refused, not reused.
    """
    card = pair.source if mode == "source" else pair.target
    record = records.get((card_hash(card), mode_recipe(recipe, mode).fidelity, seed))
    if mode.startswith("transfer") and record is not None:
        if record.transfer_source not in (None, card_hash(pair.source)):
            raise SystemExit(
                f"{mode}: {pair.target.short()} seed {seed}: the journal holds a transfer from another source "
                f"({record.transfer_source[:12]}); use another --out"
            )
    return record


def _job(card: ModelCard, recipe: Recipe, seed: int, **where: Any) -> Job:
    return Job(card.to_dict(), recipe.to_dict(), int(seed), **where)


def plan_sources(
    pairs: Sequence[Pair], recipe: Recipe, seeds: Sequence[int], modes: Sequence[str], out_dir: Path
) -> list[Job]:
    """First phase: each source not journaled yet (keeping its weights) and each scratch target.

    A journaled source whose weights are gone while a transfer still waits for them is trained
    again without a journal (same seed, same weights; its record is already there).
    """
    records, shard = read_journal(out_dir), str(shard_path(out_dir))
    jobs: dict[Key, Job] = {}
    for seed in seeds:
        for pair in pairs:
            weights = model_dir(out_dir, pair, seed)
            source = mode_record(records, pair, recipe, "source", seed)
            waiting = any(mode_record(records, pair, recipe, m, seed) is None for m in modes if m != "scratch")
            key = (card_hash(pair.source), recipe.fidelity, seed)
            if source is None:
                jobs.setdefault(key, _job(pair.source, recipe, seed, shard=shard, save_dir=str(weights)))
            elif source.status == "ok" and waiting and not _has_weights(weights):
                jobs.setdefault(key, _job(pair.source, recipe, seed, save_dir=str(weights)))
            if "scratch" in modes and mode_record(records, pair, recipe, "scratch", seed) is None:
                jobs.setdefault(
                    (card_hash(pair.target), recipe.fidelity, seed), _job(pair.target, recipe, seed, shard=shard)
                )
    return list(jobs.values())


def plan_transfers(
    pairs: Sequence[Pair],
    recipe: Recipe,
    seeds: Sequence[int],
    modes: Sequence[str],
    out_dir: Path,
    progress: Callable[[str], None] = print,
) -> list[Job]:
    """Second phase: each transfer mode not journaled yet whose source left its weights (``Job.transfer_from``)."""
    records, shard = read_journal(out_dir), str(shard_path(out_dir))
    jobs = []
    for seed in seeds:
        for pair in pairs:
            weights = model_dir(out_dir, pair, seed)
            for mode in (m for m in modes if m.startswith("transfer")):
                if mode_record(records, pair, recipe, mode, seed) is not None:
                    continue
                if not _has_weights(weights):
                    progress(f"{mode}: {pair.target.short()} seed {seed}: skipped, the source has no saved weights")
                    continue
                jobs.append(_job(pair.target, mode_recipe(recipe, mode), seed, shard=shard, transfer_from=str(weights)))
    return jobs


def run_pairs(
    pairs: Sequence[Pair],
    recipe: Recipe | str | dict[str, Any],
    seeds: Sequence[int],
    out_dir: Path,
    data_dir: str | Path | None = None,
    modes: Sequence[str] | None = None,
    device: str | None = None,
    threads: int = 1,
    progress: Callable[[str], None] = print,
) -> int:
    """Run every evaluation not yet journaled under ``out_dir``; returns how many were journaled.

    ``out_dir`` is a sweep's journal folder (``flexibench.train.sweep``): locked while this runs,
    one shard per host, and every job goes through the sweep's runner, so a killed run loses at
    most the evaluation in progress. ``modes`` defaults to :func:`default_modes` of the recipe.
    """
    from flexibench.train.evaluate import resolve_data_dir

    recipe = load_recipe(recipe)
    modes = tuple(modes) if modes is not None else default_modes(recipe)
    check_modes(recipe, modes)
    where = {"data_dir": str(resolve_data_dir(data_dir)), "device": device, "threads": threads}
    out_dir, ran = Path(out_dir), 0
    with lock_output_folder(out_dir):
        for jobs in (plan_sources(pairs, recipe, seeds, modes, out_dir), None):
            jobs = plan_transfers(pairs, recipe, seeds, modes, out_dir, progress) if jobs is None else jobs
            jobs = [replace(job, **where) for job in jobs]
            for job, record in zip(jobs, run_local(jobs, workers=1, threads=threads, progress=False)):
                ran += job.shard is not None
                progress(_line(record, journaled=job.shard is not None))
    return ran


def _line(record: ResultRecord, journaled: bool) -> str:
    what = ModelCard.from_dict(record.card).short() if record.card_hash != "invalid" else "?"
    note = "" if journaled else " (weights only, already journaled)"
    return (
        f"{record.fidelity}: {what} seed {record.seed}: {record.status} score {record.score:.2f}, "
        f"{record.pretrain_time_s:.0f} s pretrain + {record.finetune_time_s:.0f} s fine-tune{note}"
    )


# ---------------------------------------------------------------------------- results
class Collected(NamedTuple):
    """What the journal holds for the pairs: one row per (pair, seed, mode), and their held-out curves."""

    runs: pd.DataFrame
    curves: pd.DataFrame  # long form: one row per (pair, seed, mode, step) of a held-out curve


RUN_IDS = ["pair", "source", "target", "seed", "mode", "status"]


def collect(records: dict[Key, ResultRecord], pairs: Sequence[Pair], seeds: Sequence[int], recipe: Recipe) -> Collected:
    """The rows of every (pair, seed, mode) the journal holds, and the curves of their ``heldout`` fields."""
    runs, curves = [], []
    for index, pair in enumerate(pairs, 1):
        for seed in seeds:
            for mode in MODES:
                r = mode_record(records, pair, recipe, mode, seed)
                if r is None:
                    continue
                ids = dict(
                    pair=index, source=pair.source.short(), target=pair.target.short(), seed=seed, mode=mode,
                    status=r.status,
                )  # fmt: skip
                runs.append(
                    {
                        **ids,
                        "overlap": pair.overlap,
                        "fidelity": r.fidelity,
                        "score": r.score,
                        "pretrain_s": r.pretrain_time_s,
                        "finetune_s": r.finetune_time_s,
                        "total_s": r.total_time_s,
                        "pretrain_loss": r.pretrain_loss,
                        "device": r.device,
                    }
                )
                if r.heldout is not None:
                    curves += [{**ids, "step": k, "heldout_loss": v} for k, v in r.heldout.losses().items()]
    return Collected(pd.DataFrame(runs), pd.DataFrame(curves, columns=[*RUN_IDS, "step", "heldout_loss"]))


def steps_to_match(curves: pd.DataFrame) -> pd.DataFrame:
    """Per (pair, seed): first checkpoint where ``transfer`` reaches scratch's final held-out loss.

    ``curves`` is the long form of :class:`Collected` (ok runs only count). Columns: final step
    S, matching step k (NaN when never reached) and the pretraining saved, ``1 - k / S`` (time is
    proportional to steps at a fixed batch).
    """
    ok = curves[curves["status"] == "ok"] if len(curves) else curves
    if not len(ok) or not {"scratch", "transfer"} <= set(ok["mode"]):
        return pd.DataFrame([])
    final_step = int(ok["step"].max())
    rows = []
    for (pair, seed), part in ok.groupby(["pair", "seed"]):
        scratch = part[part["mode"] == "scratch"].set_index("step")["heldout_loss"]
        transfer = part[part["mode"] == "transfer"].sort_values("step")
        if final_step not in scratch.index or not len(transfer):
            continue
        reached = transfer[transfer["heldout_loss"] <= float(scratch[final_step])]["step"]
        k = float(reached.iloc[0]) if len(reached) else float("nan")
        rows.append({"pair": pair, "seed": seed, "steps": final_step, "match_step": k, "saved": 1 - k / final_step})
    return pd.DataFrame(rows)


def measured_pretrain_share(csv_path: Path = HERE / "table6_transfer_curves.csv") -> float | None:
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
    matched = steps_to_match(frame)
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


# ---------------------------------------------------------------------------- outputs
def write_outputs(
    collected: Collected,
    pairs: Sequence[Pair],
    recipe_name: str,
    out_dir: Path = HERE,
    command: str | None = None,
    table: str | None = None,
) -> str:
    """``table6_transfer.md`` (per pair and overall), the runs and curves CSVs and, once runs finished, the figure.

    ``table`` names the packed table the pairs were chosen on (:func:`_search_runs.table_version`).
    """
    out_dir = Path(out_dir)
    collected.runs.to_csv(out_dir / "table6_transfer.csv", index=False)
    if len(collected.curves):
        collected.curves.to_csv(out_dir / "table6_transfer_curves.csv", index=False)
    text = report(collected, pairs, recipe_name, command, table)
    (out_dir / "table6_transfer.md").write_text(text)
    if len(_ok(collected.runs)):
        plot(collected, recipe_name, out_dir / "table6_transfer.png")
    return text


def _ok(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["status"] == "ok"] if len(frame) else frame


def _present(ok: pd.DataFrame) -> list[str]:
    return [m for m in TARGET_MODES if m in set(ok["mode"])]


def report(
    collected: Collected, pairs: Sequence[Pair], recipe_name: str, command: str | None = None, table: str | None = None
) -> str:
    """The markdown: the pairs, then scores and times per pair, steps-to-match and the paper's claims."""
    lines = [
        "# Table 6 / Figure 8: weight transfer vs training from scratch",
        "",
        f"Command: `{command or 'python paper_repro/table6_transfer.py'}`",
        "",
        f"Recipe `{recipe_name}`; the sweep journal `paper_repro/runs/table6/{recipe_name}/`. Times are the "
        "harness's own pretraining and fine-tuning seconds (`ResultRecord`); mean ± 90% confidence half-width "
        "over pairs and seeds." + (f" Sources chosen on the table {table}." if table else ""),
        "",
        *pairs_table(pairs),
    ]
    ok = _ok(collected.runs)
    if not len(ok):
        return "\n".join([*lines, "", "No finished evaluations in the journal yet.", ""])
    matched = steps_to_match(collected.curves)
    lines += ["", *scores_table(ok), *match_table(matched), "", "## Against the paper", ""]
    lines += paper_comparison(ok, matched) + failures(collected.runs) + [""]
    return "\n".join(lines)


def pairs_table(pairs: Sequence[Pair]) -> list[str]:
    lines = ["| # | source (trained neighbour) | target | overlap | how chosen |", "|---:|---|---|---:|---|"]
    for i, pair in enumerate(pairs, 1):
        lines.append(f"| {i} | `{pair.source.short()}` | `{pair.target.short()}` | {pair.overlap:.2f} | {pair.rule} |")
    return lines


def scores_table(ok: pd.DataFrame) -> list[str]:
    """Score and time of each target mode per pair, over seeds."""
    present = _present(ok)
    header = [f"score: {MODE_LABELS[m]}" for m in present] + [f"time s: {MODE_LABELS[m]}" for m in present]
    lines = ["| # | seeds | " + " | ".join(header) + " |", "|---:|---:|" + "---:|" * len(header)]
    for index in sorted(ok.pair.unique()):
        part = ok[ok.pair == index]
        cells = [_fmt(_ci(part[part["mode"] == m].score)) for m in present]
        times = [_fmt(_ci(part[part["mode"] == m].total_s), 0) for m in present]
        lines.append(f"| {index} | {part.seed.nunique()} | " + " | ".join(cells + times) + " |")
    return lines


def match_table(matched: pd.DataFrame) -> list[str]:
    """The first checkpoint at which each transferred target reaches scratch's final held-out loss."""
    if not len(matched):
        return []
    lines = [
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
    return lines


def paper_comparison(ok: pd.DataFrame, matched: pd.DataFrame) -> list[str]:
    """The measured differences beside the paper's Table 6 and Figure 8 numbers."""
    wide = ok.pivot_table(index=["pair", "seed"], columns="mode", values=["score", "total_s"], aggfunc="first")
    lines = []
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
    return lines


def failures(runs: pd.DataFrame) -> list[str]:
    failed = runs[runs.status != "ok"] if len(runs) else runs
    if not len(failed):
        return []
    names = ", ".join(
        f"{r.mode} {r.target if r.mode != 'source' else r.source} seed {r.seed} ({r.status})"
        for r in failed.itertuples()
    )
    return [f"- {len(failed)} evaluation(s) did not finish ok: {names}"]


def plot(collected: Collected, recipe_name: str, path: Path) -> None:
    """Figure 8-style: score per pair and mode, training time per mode and (when recorded) the held-out curves."""
    ok, curves = _ok(collected.runs), _ok(collected.curves)
    fig, axes = plt.subplots(1, 3 if len(curves) else 2, figsize=(16 if len(curves) else 11, 4.6), layout="constrained")
    _plot_scores(axes[0], ok, recipe_name)
    _plot_times(axes[1], ok)
    if len(curves):
        _plot_curves(axes[2], curves)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _plot_scores(ax: plt.Axes, ok: pd.DataFrame, recipe_name: str) -> None:
    """Grouped bars; the legend sits under the axes, where no bar can be."""
    present = _present(ok)
    width = 0.8 / max(1, len(present))
    for k, mode in enumerate(present):
        part = ok[ok["mode"] == mode].groupby("pair").score.mean()
        ax.bar(part.index + (k - (len(present) - 1) / 2) * width, part.values, width, label=MODE_LABELS[mode])
    ax.set(xlabel="pair (see table6_transfer.md)", ylabel=f"score at {recipe_name} (%)", title="Score")
    ax.set_xticks(sorted(ok.pair.unique()))
    scores = ok[ok["mode"] != "source"].score
    if len(scores):
        ax.set_ylim(float(scores.min()) - 2, float(scores.max()) + 1)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=len(present), frameon=False)


def _plot_times(ax: plt.Axes, ok: pd.DataFrame) -> None:
    present = _present(ok)
    means = [_ci(ok[ok["mode"] == m].total_s) for m in present]
    ax.bar(
        range(len(present)),
        [m for m, _ in means],
        yerr=[0 if np.isnan(h) else h for _, h in means],
        capsize=4,
        color=["tab:blue", "tab:orange", "tab:green"][: len(present)],
    )
    ax.set_xticks(range(len(present)), [MODE_LABELS[m] for m in present], fontsize=8)
    ax.set(ylabel="training time per target (s)", title="Training time (90% CI), cf. Figure 8")


def _plot_curves(ax: plt.Axes, curves: pd.DataFrame) -> None:
    """Seed-mean held-out loss per pair, scratch solid and transfer dashed; the legend beside the axes."""
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (index, part) in enumerate(curves.groupby("pair")):
        for mode, style in (("scratch", "-"), ("transfer", "--")):
            mean = part[part["mode"] == mode].groupby("step")["heldout_loss"].mean()
            if len(mean):
                ax.plot(mean.index, mean.values, style, color=colours[i % len(colours)], marker="o", ms=3,
                        label=f"{index}: {mode}")  # fmt: skip
    ax.set(xlabel="pretraining steps", ylabel="held-out MLM loss", title="Held-out loss (solid: scratch)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


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
    parser.add_argument("--report", action="store_true", help="write the outputs from the journal; train nothing")
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
        started = time.perf_counter()
        ran = run_pairs(pairs, recipe, seeds, out_dir, args.data, modes, args.device, args.threads, print)
        print(f"{ran} evaluation(s) in {time.perf_counter() - started:.0f} s -> {out_dir}")
    command = command_line("table6_transfer.py", argv)
    collected = collect(read_journal(out_dir), pairs, seeds, recipe)
    return write_outputs(collected, pairs, recipe.name, command=command, table=table_version(bench))


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
