"""The long fidelity's pilot, read back: held-out loss by checkpoint, and how settled the ranking is per budget.

    python data/sweeps/v2_small/pilot_report.py [--recipe data/sweeps/v2_small/small-pilot-8k.yaml] \
        [--states ~/.cache/flexibench/training-state] [--out data/sweeps/v2_small/pilot_report.md] [--require 8000] \
        [--second-seed data/shards/small-anchors-12k]

Finished records come from the journal shards of the stage's recipe (``data/shards/<recipe name>``).
With ``--states``, evaluations still running add their curve so far (read from their training
state, marked "running"); they enter the loss table only, never the tau table, which needs every
card's whole curve. A later stage's records are checked against the first stage's on the steps
both have: a constant-rate run extended or run again must reproduce them exactly.

With ``--table`` (the packed table; default ``flexibench.load()``'s), the report also ranks the
finished cards by their score at the table's default fidelity (``nano``) and gives its Kendall tau
against every budget: how far the cheap fidelity already orders the cards as the long one does.

With ``--second-seed SHARDS`` (the anchor set's pretraining, ``data/shards/small-anchors-12k``), the
pilot cards' runs with another seed give the criterion's noise floor: at every checkpoint both seeds
have, the Kendall tau between the two seeds' losses. Two checkpoints of one run can only be asked to
agree as well as two runs of the same cards do.

``--require BUDGET`` exits with status 1 unless that budget meets the long fidelity's criteria
(:func:`criteria`), so a sweep script can refuse to start the anchor set on a budget the pilot
has not shown to be settled.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch
from scipy.stats import kendalltau

from flexibench.bench.curves import curve_column
from flexibench.bench.journal import expand_shard_paths, read_shards
from flexibench.bench.noise import budget_agreement
from flexibench.core.card import ModelCard
from flexibench.core.named import NAMED_CARDS
from flexibench.core.recipes import Recipe, load_recipe
from flexibench.core.record import ResultRecord
from flexibench.core.tasks import mlm_score
from flexibench.train.evaluate import training_state

HERE = Path(__file__).resolve().parent
FIRST_STAGE = HERE / "small-pilot.yaml"
PILOT_CARDS = 12
TAU_HALF = 0.9  # Kendall tau of the half-budget checkpoint against the budget, at least
PLATEAU_STEP, PLATEAU_DROP = 1000, 1.0  # the reference BERT is on its plateau at step 1,000 (every BERT card is)
REFERENCE = "bert-mini"
ORDERINGS = (("bert-mini", "bert-tiny"), ("bert-2-256", "bert-tiny"))  # Turc et al. 2019: left below right in loss
SIZES = ("mini", "2-256", "4-128", "tiny")
FAMILIES = ("bert", "convbert", "fnet")  # fully pretrained, FNet stays behind BERT of its size (Lee-Thorp et al. 2022)


def card_name(card: ModelCard) -> str:
    """The card's paper name where it has one (``bert-mini``), else its short form."""
    for name in NAMED_CARDS:
        if ModelCard.named(name) == card:
            return name
    return card.short()


def _running(states: Path, recipe: Recipe, cards: list[ModelCard], done: set[str]) -> dict[str, dict[int, float]]:
    """Held-out loss so far of the pilot cards whose state file (or a kept shorter run) exists (seed 0)."""
    out = {}
    for card in cards:
        name = card_name(card)
        state = training_state(states, card, recipe, 0, None)
        if name in done or (saved := state.load(recipe.pretrain.steps)) is None:
            continue
        out[name] = {int(k): float(v["loss"]) for k, v in saved["heldout_curve"].items()}
    return out


def _reproduced(records: list[ResultRecord], first: Path) -> list[str]:
    """Per card measured in both stages: the largest held-out loss difference on their common checkpoints."""
    if not first.is_dir():
        return []
    earlier = {r.card_hash: r for r in read_shards(expand_shard_paths([first])) if r.status == "ok" and r.heldout}
    lines = []
    for record in records:
        if (old := earlier.get(record.card_hash)) is None or not record.heldout:
            continue
        now = dict(zip(record.heldout.steps, record.heldout.loss))
        common = [(now[k], v) for k, v in zip(old.heldout.steps, old.heldout.loss) if k in now]
        worst = max(abs(a - b) for a, b in common)
        lines.append(f"| {card_name(ModelCard.from_dict(record.card))} | {len(common)} | {worst:.2e} |")
    return lines


def nano_agreement(
    records: list[ResultRecord], scores: np.ndarray, budgets: list[int], per_step: int, table: str | None
) -> tuple[str, list[str]]:
    """Table rows: Kendall tau of the table's default-fidelity score against the stage's at every 1,000 steps."""
    from scipy.stats import kendalltau

    import flexibench

    bench = flexibench.load(table)
    cheap = bench.query_many([ModelCard.from_dict(r.card) for r in records])["score"]
    lines = []
    for j, b in enumerate(budgets):
        at = scores[:, j]
        both = np.isfinite(at)
        if b % 1000 or both.sum() < 3:
            continue
        tau = kendalltau(cheap[both], at[both]).statistic
        lines.append(f"| {b} | {b * per_step / 1e6:.1f}M | {int(both.sum())} | {tau:.2f} |")
    return bench.default_fidelity, lines


def swapped_pairs(losses: dict[str, dict[int, float]], budget: int) -> list[str]:
    """Table rows: the card pairs whose order at half the budget is reversed at the budget (what lowers tau_half)."""
    half = budget // 2
    names = sorted(n for n, c in losses.items() if half in c and budget in c)
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            (ah, bh), (ab, bb) = (losses[a][half], losses[b][half]), (losses[a][budget], losses[b][budget])
            if (ah - bh) * (ab - bb) < 0:
                first, second = (a, b) if ab < bb else (b, a)  # the card ahead at the budget first
                lf, ls = losses[first], losses[second]
                rows.append(
                    f"| {first} | {second} | {lf[half]:.2f} vs {ls[half]:.2f} | {lf[budget]:.2f} vs {ls[budget]:.2f}"
                    f" | {ls[budget] - lf[budget]:.3f} |"
                )
    return rows


def family_order(losses: dict[str, dict[int, float]], budgets: list[int]) -> list[str]:
    """Table rows: per size, the three families from lowest to highest held-out loss at each budget.

    Fully pretrained at Base and Large size, FNet stays behind BERT of the same size (92-97% of its
    GLUE accuracy, Lee-Thorp et al. 2022), so a budget at which FNet still leads BERT of its size
    compares how fast the families start more than where they end.
    """
    rows = []
    for size in SIZES:
        cells = []
        for b in budgets:
            at = {f: losses.get(f"{f}-{size}", {}).get(b) for f in FAMILIES}
            if any(v is None for v in at.values()):
                cells.append("")
                continue
            order = sorted(FAMILIES, key=lambda f: at[f])
            mark = "" if order.index("bert") < order.index("fnet") else " (FNet ahead)"
            cells.append(" < ".join({"bert": "B", "convbert": "C", "fnet": "F"}[f] for f in order) + mark)
        rows.append(f"| {size} | " + " | ".join(cells) + " |")
    return rows


def family_agreement(names: list[str], scores: np.ndarray, budgets: list[int], marks: list[int]) -> list[str]:
    """Table rows: ``tau_half`` at each of ``marks`` over all cards, without each family, and within each.

    ``names`` are the cards of the rows of ``scores`` (``bert-mini``: family ``bert``). Which pairs
    keep ``tau_half`` down says what the budget is still deciding: if the ranking has settled inside
    every family and among the others, only one family's late descent moves it.
    """
    family = [name.split("-")[0] for name in names]
    subsets = [("all cards", [True] * len(family))]
    subsets += [(f"without {f}", [g != f for g in family]) for f in FAMILIES]
    subsets += [(f"{f} only", [g == f for g in family]) for f in FAMILIES]
    rows = []
    for label, keep in subsets:
        keep = np.asarray(keep)
        table = budget_agreement(scores[keep], budgets).set_index("budget")["tau_half"]
        cells = [f"{table[b]:.2f}" if b in table.index and np.isfinite(table[b]) else "" for b in marks]
        rows.append(f"| {label} | {int(keep.sum())} | " + " | ".join(cells) + " |")
    return rows


def seed_agreement(
    first: dict[str, dict[int, float]], second: dict[str, dict[int, float]], every: int = 1000
) -> list[tuple[int, int, float, float]]:
    """Per checkpoint (multiples of ``every``) both seeds have on at least 3 cards: ``(step, cards, tau, mean |diff|)``.

    ``tau`` is Kendall's between the cards' losses under the two seeds, ``mean |diff|`` the mean absolute
    loss difference in nats: the noise floor any agreement between budgets is measured against.
    """
    names = sorted(set(first) & set(second))
    steps = sorted({t for n in names for t in first[n] if t % every == 0 and t in second[n]})
    rows = []
    for t in steps:
        both = [n for n in names if t in first[n] and t in second[n]]
        if len(both) < 3:
            continue
        a, b = np.array([first[n][t] for n in both]), np.array([second[n][t] for n in both])
        rows.append((t, len(both), float(kendalltau(a, b).statistic), float(np.mean(np.abs(a - b)))))
    return rows


def criteria(losses: dict[str, dict[int, float]], agreement, budget: int) -> list[tuple[str, bool]]:
    """The long fidelity's budget criteria (issue text, part 3), each with whether ``budget`` meets it.

    Every pilot card finished; ``tau_half`` at the budget at least :data:`TAU_HALF`; the
    reference BERT off its plateau by half the budget (its loss at half the budget at least
    :data:`PLATEAU_DROP` nats under its loss at :data:`PLATEAU_STEP`); and the orderings known
    from fully trained BERTs hold at the budget.
    """
    out = [(f"all {PILOT_CARDS} pilot cards finished ({len(losses)})", len(losses) >= PILOT_CARDS)]
    row = agreement[agreement["budget"] == budget]
    tau = float(row["tau_half"].iloc[0]) if len(row) else math.nan
    out.append((f"tau_half at {budget} >= {TAU_HALF} ({tau:.2f})", bool(tau >= TAU_HALF)))
    ref = losses.get(REFERENCE, {})
    drop = ref.get(PLATEAU_STEP, math.nan) - ref.get(budget // 2, math.nan)
    out.append(
        (
            f"{REFERENCE} at step {budget // 2} at least {PLATEAU_DROP} nats under step {PLATEAU_STEP} ({drop:.2f})",
            bool(drop >= PLATEAU_DROP),
        )
    )
    for better, worse in ORDERINGS:
        a, b = losses.get(better, {}).get(budget, math.nan), losses.get(worse, {}).get(budget, math.nan)
        out.append((f"{better} below {worse} at {budget} ({a:.2f} < {b:.2f})", bool(a < b)))
    return out


def known_orders(losses: dict[str, dict[int, float]], budget: int) -> list[tuple[str, bool]]:
    """Orders fully pretrained models show, each with whether ``budget`` has them (reported, not gated).

    Per size, FNet behind BERT (Lee-Thorp et al. 2022); per family, Mini (the largest) lowest and Tiny
    (the smallest) highest in loss (Turc et al. 2019 for BERT). The budget at which all of them hold is the
    alternative to ``tau_half`` that docs/harness.md puts to the issue's owner.
    """
    out = []
    for size in SIZES:
        bert, fnet = (losses.get(f"{f}-{size}", {}).get(budget, math.nan) for f in ("bert", "fnet"))
        out.append((f"BERT-{size} below FNet-{size} at {budget} ({bert:.2f} < {fnet:.2f})", bool(bert < fnet)))
    for family in FAMILIES:
        at = {size: losses.get(f"{family}-{size}", {}).get(budget, math.nan) for size in SIZES}
        middle = [at[s] for s in SIZES[1:-1]]
        ok = all(at["mini"] < m < at["tiny"] for m in middle)
        shown = " < ".join(f"{at[s]:.2f}" for s in SIZES)
        out.append((f"{family}: mini lowest, tiny highest at {budget} ({shown})", ok))
    return out


def _losses(records: list[ResultRecord], vocab: int) -> dict[str, dict[int, float]]:
    """Card name -> held-out loss (nats) by checkpoint, from the records' score curves."""
    scores, budgets = curve_column(records)
    names = [card_name(ModelCard.from_dict(r.card)) for r in records]
    return {
        n: {b: math.log(vocab) * (1 - s / 100) for b, s in zip(budgets, row) if np.isfinite(s)}
        for n, row in zip(names, scores)
    }


def report(
    recipe_path: Path,
    shards: Path,
    states: Path | None,
    require: int | None = None,
    table: str | None = None,
    second_seed: Path | None = None,
) -> tuple[str, bool]:
    found = shards.is_dir() and any(shards.glob("*.jsonl"))  # a stage not begun yet has no records
    records = [r for r in read_shards(expand_shard_paths([shards])) if r.status == "ok"] if found else []
    recipe = load_recipe(recipe_path)
    vocab, per_step = int(recipe.vocab_size), recipe.pretrain.batch_size * recipe.pretrain.seq_len
    scores, budgets = curve_column(records)
    losses = _losses(records, vocab)
    queue = [ModelCard.parse(line) for line in (HERE / "pilot_cards.txt").read_text().split() if line[0] != "#"]
    running = _running(states, recipe, queue, set(losses)) if states else {}
    shown = sorted({b for curve in [*losses.values(), *running.values()] for b in curve})
    shown = [b for b in shown if b % 500 == 0 or b == shown[-1]]
    lines = [
        "# The long fidelity's pilot",
        "",
        f"Made with `python data/sweeps/v2_small/pilot_report.py --recipe data/sweeps/v2_small/{recipe_path.name}"
        + (" --states STATE_DIR" if states else "")
        + (f" --require {require}" if require is not None else "")
        + f"` from the records in `{shards}`.",
        f"Recipe `{recipe.name}`: {len(budgets)} held-out checkpoints, {per_step:,} tokens per step;"
        " held-out MLM loss in nats.",
        "",
        "| card | " + " | ".join(str(b) for b in shown) + " |",
        "|---|" + "---:|" * len(shown),
    ]
    for name, curve in [*losses.items(), *((f"{n} (running)", c) for n, c in running.items())]:
        lines.append(f"| {name} | " + " | ".join(f"{curve[b]:.2f}" if b in curve else "" for b in shown) + " |")
    agreement = budget_agreement(scores, budgets)
    lines += [
        "",
        f"Kendall tau over the {len(records)} finished cards: the half-budget checkpoint against the budget",
        "(`tau_half`, the criterion: at least 0.9), and the budget against the last checkpoint (`tau_final`).",
        "",
        "| budget (steps) | tokens | half | cards | tau_half | tau_final |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for row in agreement.itertuples():
        lines.append(
            f"| {row.budget} | {row.budget * per_step / 1e6:.1f}M | {row.half} | {row.cards} | "
            f"{row.tau_half:.2f} | {row.tau_final:.2f} |"
        )
    if records:
        cheap, rows = nano_agreement(records, scores, budgets, per_step, table)
        lines += [
            "",
            f"`{cheap}` (the table's default fidelity, seed means) against this stage: Kendall tau over the",
            "finished cards between their table score and their score at each budget.",
            "",
            "| budget (steps) | tokens | cards | tau |",
            "|---:|---:|---:|---:|",
            *rows,
        ]
    if records:
        marks = [b for b in budgets if b % 2000 == 0 or b == budgets[-1]]
        lines += [
            "",
            "The three families at each size, lowest held-out loss first (B = BERT, C = ConvBERT, F = FNet).",
            "Fully pretrained at Base and Large size, FNet stays behind BERT of its size (92-97% of its GLUE",
            "accuracy, Lee-Thorp et al. 2022); a budget where FNet still leads compares how fast families start.",
            "",
            "| size | " + " | ".join(str(b) for b in marks) + " |",
            "|---|" + "---|" * len(marks),
            *family_order(losses, marks),
        ]
        lines += [
            "",
            "`tau_half` by family: over all cards, leaving one family out, and within one family.",
            "",
            "| cards | n | " + " | ".join(str(b) for b in marks) + " |",
            "|---|---:|" + "---:|" * len(marks),
            *family_agreement([card_name(ModelCard.from_dict(r.card)) for r in records], scores, budgets, marks),
        ]
    others = [r for r in read_shards(expand_shard_paths([second_seed])) if r.status == "ok"] if second_seed else []
    seeds = sorted({r.seed for r in records})
    others = [r for r in others if r.seed not in seeds]
    if others and records:
        rows = seed_agreement(losses, _losses(others, vocab))
        lines += [
            "",
            f"The noise floor: the pilot cards under seed {sorted({r.seed for r in others})} (`{second_seed}`)"
            f" against seed {seeds}, at every checkpoint both have: Kendall tau between the two seeds and",
            "the mean absolute loss difference. `tau_half` compares two checkpoints of one run; two runs of the",
            "same cards set how close to 1 any such tau can be expected to come.",
            "",
            "| step | cards | tau between seeds | mean abs difference (nats) |",
            "|---:|---:|---:|---:|",
            *(f"| {t} | {n} | {tau:.2f} | {diff:.3f} |" for t, n, tau, diff in rows),
        ]
    reproduced = _reproduced(records, shards.parent / "small-pilot") if recipe.name != "small-pilot" else []
    if reproduced:
        lines += [
            "",
            "Against the first stage (`small-pilot`, 6,000 steps): the largest held-out loss difference",
            "on the checkpoints both runs have (0 = the same run, step for step).",
            "",
            "| card | common checkpoints | max abs difference (nats) |",
            "|---|---:|---:|",
            *reproduced,
        ]
    passed = True
    if require is not None:
        checks = criteria(losses, agreement, require)
        passed = all(ok for _, ok in checks)
        lines += ["", f"Criteria for a budget of {require} steps: {'met' if passed else 'NOT met'}.", ""]
        lines += [f"- [{'x' if ok else ' '}] {text}" for text, ok in checks]
        orders = known_orders(losses, require)
        lines += [
            "",
            "Orders known from full pretraining, at the same budget (reported beside the criteria, not gated):",
            "",
        ]
        lines += [f"- [{'x' if ok else ' '}] {text}" for text, ok in orders]
        swaps = swapped_pairs(losses, require)
        lines += [
            "",
            f"Pairs whose order at step {require // 2} is reversed at {require} ({len(swaps)} of the"
            f" {len(losses) * (len(losses) - 1) // 2}; held-out loss, the card ahead at {require} first):",
            "",
            f"| ahead at {require} | behind | at {require // 2} | at {require} | gap at {require} (nats) |",
            "|---|---|---:|---:|---:|",
            *swaps,
        ]
    lines.append("")
    lines.append(
        f"Scores are `100 * (1 - loss / ln {vocab})` (mlm_score); e.g. loss 4.0 = {mlm_score(4.0, vocab):.2f}."
    )
    return "\n".join(lines) + "\n", passed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", type=Path, default=FIRST_STAGE, help="the stage's recipe file")
    parser.add_argument("--shards", type=Path, default=None, help="default: data/shards/<recipe name>")
    parser.add_argument("--states", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=HERE / "pilot_report.md")
    parser.add_argument("--table", default=None, help="the packed table (default: flexibench.load()'s)")
    parser.add_argument("--second-seed", type=Path, default=None, help="shards with the pilot cards' other seeds")
    parser.add_argument("--require", type=int, default=None, help="exit 1 unless this budget meets the criteria")
    args = parser.parse_args()
    torch.set_num_threads(1)
    shards = args.shards or Path("data/shards") / load_recipe(args.recipe).name
    text, passed = report(args.recipe, shards, args.states, args.require, args.table, args.second_seed)
    args.out.write_text(text)
    print(text)
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
