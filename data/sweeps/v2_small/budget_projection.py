"""How long the long fidelity must be: the pilot's curves fitted and run forward, with tau_half and cost per budget.

    python data/sweeps/v2_small/budget_projection.py [--stage small-pilot-10k] \
        [--out data/sweeps/v2_small/budget_projection.md]   # and budget_projection.png beside it

``tau_half`` at a budget B needs the pilot's ranking at B/2 to hold at B. Under a constant rate the
cards keep learning at different speeds, so while a stage fails, the budget that passes lies past
the measured checkpoints. Each card's held-out curve is fitted from ``start`` on by a saturating
power law, ``L(t) = a + b (t / 1000) ** -c`` (the form of loss against steps in Kaplan et al. 2020),
and ``tau_half(B)`` is Kendall tau of the losses at B/2 and B, measured where the stage has them and
fitted beyond. Curves this short pin the asymptote ``a`` down poorly, so the projection is an
ensemble over fit windows (every ``start`` in ``--starts``), and it is backtested: fitted on the
checkpoints up to an earlier step (``--backtest``), its forecast of the stage's last checkpoint is
set against what was measured.

The cost column prices the anchor set at each budget in CPU-seconds of pretraining, every run from
scratch: the 12 pilot cards twice (seeds 0 and 1) and the other anchors once. (The pilot's kept
training states would have continued its runs, but a state lives on the machine that wrote it, and
the machine of session 15 was a new one: none survived.) Since no run can cross from one session
to the next, the last column is the slowest anchor's pretraining alone, in hours of one core: a
budget whose slowest run does not fit in a session, with its fine-tuning, cannot be run on CPUs.
A card's CPU-seconds per step is measured for the pilot cards whose
records carry ``cpu_time_s``; for the rest it is a least-squares line on the card's nano
pretraining time (which every anchor has), fitted on the measured pilot cards.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from pilot_report import card_name  # this script's folder is first on sys.path
from scipy.optimize import curve_fit
from scipy.stats import kendalltau

from flexibench.bench.journal import expand_shard_paths, read_shards
from flexibench.core.card import ModelCard
from flexibench.core.graph import card_hash
from flexibench.core.recipes import load_recipe

HERE = Path(__file__).resolve().parent
ANCHORS = HERE.parent / "v2_anchor_cards.txt"
SESSION_CPU_S = 2 * 3 * 3600  # one session: both cores for three hours
Curves = Mapping[str, Mapping[int, float]]


def power_law(t: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    """Held-out loss at step ``t``: asymptote ``a`` plus a term falling as ``t ** -c``."""
    return a + b * (np.asarray(t, dtype=float) / 1000.0) ** (-c)


def fit_curve(curve: Mapping[int, float], start: int, until: int) -> tuple[float, float, float]:
    """The power law's ``(a, b, c)`` fitted by least squares to the checkpoints ``start <= t <= until``."""
    steps = np.array(sorted(t for t in curve if start <= t <= until), dtype=float)
    if len(steps) < 4:
        raise ValueError(f"a fit needs at least 4 checkpoints in [{start}, {until}], got {len(steps)}")
    losses = np.array([curve[int(t)] for t in steps])
    guess = (losses[-1] * 0.8, losses[0] - losses[-1] * 0.8, 0.5)
    params, _ = curve_fit(power_law, steps, losses, p0=guess, bounds=([0, 0, 0.01], [20, 100, 5]), maxfev=20000)
    return tuple(float(p) for p in params)


def loss_at(curve: Mapping[int, float], params: Sequence[float], until: int, step: int) -> float:
    """The measured loss where the fit window had it, the fitted one beyond."""
    return float(curve[step]) if step <= until and step in curve else float(power_law(step, *params))


def tau_half(curves: Curves, fits: Mapping[str, Sequence[float]], until: int, budget: int) -> float:
    """Kendall tau of the cards' losses at ``budget // 2`` against ``budget`` (measured up to ``until``)."""
    names = sorted(curves)
    half = [loss_at(curves[n], fits[n], until, budget // 2) for n in names]
    end = [loss_at(curves[n], fits[n], until, budget) for n in names]
    return float(kendalltau(half, end).statistic)


def projection(curves: Curves, starts: Sequence[int], until: int, budgets: Sequence[int]) -> dict[int, list[float]]:
    """Per budget, the projected tau_half of every fit window (one per start), fitted on steps up to ``until``."""
    windows = [{n: fit_curve(c, start, until) for n, c in curves.items()} for start in starts]
    return {b: [tau_half(curves, fits, until, b) for fits in windows] for b in budgets}


def backtest(curves: Curves, start: int, until: int, target: int) -> tuple[float, float, float]:
    """Fitted up to ``until``: the RMSE of the forecast loss at ``target``, forecast and measured tau_half there."""
    fits = {n: fit_curve(c, start, until) for n, c in curves.items()}
    errors = [power_law(target, *fits[n]) - c[target] for n, c in curves.items()]
    measured = tau_half(curves, fits, target, target)
    return float(np.sqrt(np.mean(np.square(errors)))), tau_half(curves, fits, until, target), measured


def ranking_forecast(curves: Curves, start: int, prefix: int, target: int) -> tuple[float, float]:
    """How well the ranking at ``target`` is known from the steps up to ``prefix``: Kendall tau against it of
    the losses measured at ``prefix`` and of the losses forecast at ``target`` by a fit to ``start..prefix``.

    If the forecast ranks better than the checkpoint, a fidelity could score cards by their fitted curve
    at a budget too long to train (learning-curve extrapolation) instead of by their last checkpoint.
    """
    names = sorted(curves)
    final = [curves[n][target] for n in names]
    raw = kendalltau([curves[n][prefix] for n in names], final).statistic
    forecast = [power_law(target, *fit_curve(curves[n], start, prefix)) for n in names]
    return float(raw), float(kendalltau(forecast, final).statistic)


def cpu_per_step(records, nano_seconds: Mapping[str, float]) -> tuple[dict[str, float], tuple[float, float]]:
    """Measured CPU-s per step of the pilot cards with ``cpu_time_s``, and the line ``(a, b)`` on nano's time."""
    measured = {r.card_hash: r.cpu_time_s / r.heldout.steps[-1] for r in records if r.cpu_time_s}
    if len(measured) < 2:
        raise ValueError("the cost line needs at least two records with cpu_time_s")
    x = np.array([nano_seconds[h] for h in measured])
    slope, intercept = np.polyfit(x, np.array(list(measured.values())), 1)
    return measured, (float(intercept), float(slope))


def anchor_cost(pilot: Sequence[str], others: Sequence[str], per_step: Mapping[str, float], budget: int) -> float:
    """Pretraining CPU-s of the anchor set at ``budget``, every run from scratch: pilot cards twice, others once."""
    return (2 * sum(per_step[h] for h in pilot) + sum(per_step[h] for h in others)) * budget


def plot(curves: Curves, start: int, last: int, until: int, path: Path, tokens: int) -> None:
    """Measured held-out curves (solid) and their fits run forward to ``until`` (dashed), one colour per family."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"bert": "tab:blue", "convbert": "tab:orange", "fnet": "tab:green"}
    styles = {"mini": "-", "2-256": "--", "4-128": "-.", "tiny": ":"}
    fig, ax = plt.subplots(figsize=(8, 5))
    ahead = np.linspace(last, until, 60)
    for name, curve in sorted(curves.items()):
        family, size = name.split("-", 1)
        steps = np.array(sorted(t for t in curve if t >= 1000))
        colour, style = colours.get(family, "grey"), styles.get(size, "-")
        ax.plot(steps * tokens / 1e6, [curve[t] for t in steps], color=colour, ls=style, lw=1.6, label=name)
        ax.plot(
            ahead * tokens / 1e6,
            power_law(ahead, *fit_curve(curve, start, last)),
            color=colour,
            ls=style,
            lw=0.8,
            alpha=0.5,
        )
    ax.axvline(last * tokens / 1e6, color="black", lw=0.6)
    top = ax.get_ylim()[1]
    ax.text(last * tokens / 1e6, top, f"measured to {last:,} steps  ", ha="right", va="top", fontsize=8)
    ax.text(last * tokens / 1e6, top, f"  fitted from {start:,} on", ha="left", va="top", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("MLM training tokens (millions; 4,096 per step, constant rate)")
    ax.set_ylabel("held-out MLM loss (nats), long-fidelity pilot")
    ax.legend(ncol=3, fontsize=7, loc="lower left")
    ax.set_title(
        "Long-fidelity pilot: measured (thick), power-law forecast (thin); colour = family, style = size", fontsize=9
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="small-pilot-10k", help="the pilot stage whose records are read")
    parser.add_argument("--shards", type=Path, default=Path("data/shards"))
    parser.add_argument("--starts", default="3000,4000,5000", help="first step of each fit window")
    parser.add_argument("--backtest", default="6000,8000", help="fit on steps up to these, forecast the last")
    parser.add_argument("--budgets", default="10000,12000,14000,16000,20000,24000,30000,40000")
    parser.add_argument("--table", default=None, help="the packed table (default: flexibench.load()'s)")
    parser.add_argument("--out", type=Path, default=HERE / "budget_projection.md")
    args = parser.parse_args()
    import flexibench

    recipe = load_recipe(HERE / f"{args.stage}.yaml")
    records = [r for r in read_shards(expand_shard_paths([args.shards / args.stage])) if r.status == "ok"]
    vocab, tokens = math.log(recipe.vocab_size), recipe.pretrain.batch_size * recipe.pretrain.seq_len
    names = {r.card_hash: card_name(ModelCard.from_dict(r.card)) for r in records}
    curves = {names[r.card_hash]: dict(zip(r.heldout.steps, r.heldout.loss)) for r in records}
    last = min(max(c) for c in curves.values())
    starts = [int(s) for s in args.starts.split(",")]
    budgets = [int(b) for b in args.budgets.split(",")]

    bench = flexibench.load(args.table)
    anchors = [ModelCard.parse(line) for line in ANCHORS.read_text().split() if not line.startswith("#")]
    pilot_hashes = {r.card_hash for r in records}
    nano = dict(zip((card_hash(c) for c in anchors), bench.query_many(anchors)["pretrain_time_s"]))
    measured, (a, b) = cpu_per_step(records, nano)
    per_step = {h: measured.get(h, a + b * t) for h, t in nano.items()}
    others = [h for h in per_step if h not in pilot_hashes]
    line_error = [abs(a + b * nano[h] - v) / v for h, v in measured.items()]

    lines = [
        "# How long the long fidelity must be: the pilot's curves run forward",
        "",
        f"Made with `python data/sweeps/v2_small/budget_projection.py --stage {args.stage} --backtest {args.backtest}`",
        f"from the {len(records)} records in `{args.shards / args.stage}`"
        f" ({last:,} steps, {tokens:,} tokens per step).",
        "Each card's held-out loss is fitted from the window's first step by `a + b (t / 1000) ** -c`;",
        "`tau_half` at a budget uses measured losses up to the stage's length and fitted ones beyond.",
        "",
        "**Backtest**: fitted on the steps up to an earlier checkpoint, forecast at the stage's last.",
        "",
        f"| fit window | RMSE of the loss at {last} (nats) | tau_half at {last}: forecast | measured |",
        "|---|---:|---:|---:|",
    ]
    for until in (int(u) for u in args.backtest.split(",")):
        for start in starts:
            rmse, forecast, actual = backtest(curves, start, until, last)
            lines.append(f"| {start}-{until} | {rmse:.3f} | {forecast:.2f} | {actual:.2f} |")
    prefixes = [p for p in (6000, 7000, 8000, 10000, 12000) if p < last and p - max(starts) >= 1000]
    lines += [
        "",
        f"**Ranking forecast**: the ranking at {last} known from the steps up to an earlier one. Kendall tau",
        f"against the measured losses at {last} of the losses measured at that step (`checkpoint`) and of",
        f"those forecast at {last} by each fit window ending there (`forecast`).",
        "",
        "| steps known | checkpoint | " + " | ".join(f"forecast, fit from {s}" for s in starts) + " |",
        "|---:|---:|" + "---:|" * len(starts),
    ]
    for prefix in prefixes:
        pairs_ = [ranking_forecast(curves, start, prefix, last) for start in starts]
        lines.append(f"| {prefix:,} | {pairs_[0][0]:.2f} | " + " | ".join(f"{f:.2f}" for _, f in pairs_) + " |")
    taus = projection(curves, starts, last, budgets)
    pairs = len(curves) * (len(curves) - 1) // 2
    lines += [
        "",
        f"**Projection** (fit windows from {', '.join(map(str, starts))} to {last}) and the anchor set's",
        f"pretraining cost, every run from scratch: the {len(pilot_hashes)} pilot cards with seeds 0 and 1,",
        f"the other {len(others)} anchors with seed 0. `tau_half` >= 0.9 allows at most"
        f" {math.floor(pairs * 0.05)} of the {pairs} pairs to swap.",
        "",
        "| budget (steps) | tokens | projected tau_half: min | median | max | anchor pretraining CPU-s | sessions"
        " | slowest run (h, one core) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for budget, values in taus.items():
        cost = anchor_cost(sorted(pilot_hashes), others, per_step, budget)
        slowest = max(per_step[h] for h in [*pilot_hashes, *others]) * budget / 3600
        lines.append(
            f"| {budget:,} | {budget * tokens / 1e6:.0f}M | {min(values):.2f} | {float(np.median(values)):.2f} |"
            f" {max(values):.2f} | {cost:,.0f} | {cost / SESSION_CPU_S:.0f} | {slowest:.1f} |"
        )
    lines += [
        "",
        f"CPU-s per step: measured on {len(measured)} pilot cards (`cpu_time_s`), "
        f"{', '.join(f'{names[h]} {v:.3f}' for h, v in measured.items())};",
        f"the others `{a:.3f} + {b:.5f} x` nano pretraining seconds (off by {np.median(line_error):.0%} median,"
        f" {max(line_error):.0%} at most, on the measured cards). A session is both cores for three hours"
        f" ({SESSION_CPU_S:,} CPU-s). Fine-tuning at lr 3e-4 adds 2,200-3,200 CPU-s per run (docs/harness.md), and"
        f" mean loss at the stage's length is {float(np.mean([c[last] for c in curves.values()])):.2f} nats"
        f" (ln V = {vocab:.2f}).",
    ]
    text = "\n".join(lines) + "\n"
    args.out.write_text(text)
    plot(curves, starts[len(starts) // 2], last, budgets[-1], args.out.with_suffix(".png"), tokens)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
