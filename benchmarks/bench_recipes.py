"""Design the ``nano`` recipe from measurements: cost and ranking signal of candidate CPU recipes.

Each candidate is the built-in ``nano`` recipe with overrides. Every (candidate, card,
seed) evaluation goes through the real sweep path into journal shards under
``--out/<candidate>/`` (resumable), and ``--summarize`` prints the table for
docs/harness.md: median wall time per evaluation, per-task and average scores per
card, whether the Turc et al. (2019) orderings hold (bert-mini and bert-2-256 above
bert-tiny), the seed-to-seed Spearman of the score and the share of score variance
that the architecture explains (between-card sum of squares / total, needs >= 2 seeds).

Run (background, niced; note the machine load when you do):
    nice -n 10 python benchmarks/bench_recipes.py --out /tmp/recipes --data $FLEXIBENCH_DATA --workers 2
    python benchmarks/bench_recipes.py --out /tmp/recipes --summarize
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import statistics
from collections import defaultdict

import numpy as np
from scipy import stats

from flexibench.bench.journal import read_shards
from flexibench.space import ModelCard, card_hash
from flexibench.train.recipes import load_recipe
from flexibench.train.sweep import run_sweep

TASKS = {"SST-2": {"max_train": 4000, "max_val": 500}, "STS-B": {"max_train": 2000, "max_val": 500}}
CANDIDATES = {
    # the probe: 300 MLM steps at lr 1e-3, short warm-up, fine-tune lr 1e-4 (the trap: big models undertrained)
    "probe": {
        "pretrain": {"steps": 300, "lr": 1e-3, "warmup_steps": 30},
        "finetune": {"lr": 1e-4, "epochs": 2, "patience": 1},
    },
    # same pretraining, fine-tuning 5x faster and one more epoch: the probe's fine-tuning barely leaves chance
    "ft-fast": {
        "pretrain": {"steps": 300, "lr": 1e-3, "warmup_steps": 30},
        "finetune": {"lr": 5e-4, "epochs": 3, "patience": 1},
    },
    # a third of the pretraining at a gentler peak, the saved time spent on the same fast fine-tuning
    "short-pt": {
        "pretrain": {"steps": 100, "lr": 5e-4, "warmup_steps": 20},
        "finetune": {"lr": 5e-4, "epochs": 3, "patience": 1},
    },
}
CARDS = ("bert-tiny", "bert-2-256", "bert-mini", "fnet-tiny", "convbert-tiny")


def candidate_recipe(name: str) -> dict:
    base = load_recipe("nano").to_dict()
    data = copy.deepcopy(base)
    data["name"] = f"nano-{name}"
    for section, values in CANDIDATES[name].items():
        data[section].update(values)
    data["tasks"] = {t: {**data["tasks"].get(t, {}), **plan} for t, plan in TASKS.items()}
    data["scored"] = list(TASKS)
    return data


def run(args: argparse.Namespace) -> None:
    cards = [ModelCard.named(n) for n in args.cards.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    for name in args.candidates.split(","):
        recipe = load_recipe(candidate_recipe(name))
        for record in run_sweep(
            cards,
            recipe,
            seeds,
            os.path.join(args.out, name),
            data_dir=args.data,
            workers=args.workers,
            threads=args.threads,
            progress=False,
        ):
            print(
                name,
                record.card_hash[:10],
                record.seed,
                record.status,
                record.task_scores,
                f"{record.total_time_s:.0f}s",
                flush=True,
            )


def summarize(out: str) -> None:
    names = {card_hash(ModelCard.named(n)): n for n in CARDS}
    for name in sorted(os.listdir(out)):
        records = [r for r in read_shards([os.path.join(out, name)]) if r.status == "ok"]
        if not records:
            continue
        by_card: dict[str, dict[int, object]] = defaultdict(dict)
        for r in records:
            by_card[names.get(r.card_hash, r.card_hash[:8])][r.seed] = r
        times = [r.total_time_s for r in records]
        print(
            f"\n## {name}: {len(records)} evaluations, median {statistics.median(times):.0f} s (max {max(times):.0f} s)"
        )
        tasks = sorted({t for r in records for t in r.task_scores})
        print("| card | " + " | ".join(tasks) + " | score | time s |")
        print("|---|" + "---|" * (len(tasks) + 2))
        for card, seeds in sorted(by_card.items()):
            for seed, r in sorted(seeds.items()):
                cells = " | ".join(f"{r.task_scores.get(t, math.nan):.1f}" for t in tasks)
                print(f"| {card} s{seed} | {cells} | {r.score:.1f} | {r.total_time_s:.0f} |")
        mean = {c: np.mean([r.score for r in s.values()]) for c, s in by_card.items()}
        if {"bert-tiny", "bert-mini", "bert-2-256"} <= set(mean):
            print(
                f"orderings: mini>tiny {mean['bert-mini'] > mean['bert-tiny']}, "
                f"2-256>tiny {mean['bert-2-256'] > mean['bert-tiny']}"
            )
        for task in tasks + ["score"]:
            groups = [
                [(r.score if task == "score" else r.task_scores[task]) for r in s.values()]
                for s in by_card.values()
                if len(s) >= 2
            ]
            if len(groups) >= 3:
                allv = np.concatenate(groups)
                between = sum(len(g) * (np.mean(g) - allv.mean()) ** 2 for g in groups)
                total = ((allv - allv.mean()) ** 2).sum()
                print(f"{task}: architecture explains {between / total:.0%} of variance")
        paired = [(s[0].score, s[1].score) for s in by_card.values() if 0 in s and 1 in s]
        if len(paired) >= 5:
            rho = stats.spearmanr(*zip(*paired))[0]
            print(f"seed 0 vs seed 1 Spearman over {len(paired)} cards: {rho:.2f}")


def _seconds_per_step(call, optim, steps: int) -> float:  # noqa: ANN001
    """Process CPU seconds of one forward/backward/update, after one untimed warm-up step."""
    import time

    call().loss.backward()
    start = time.process_time()
    for _ in range(steps):
        loss = call().loss
        optim.zero_grad()
        loss.backward()
        optim.step()
    return (time.process_time() - start) / steps


def cost(args: argparse.Namespace) -> None:
    """CPU seconds (process time, 1 thread) per MLM step and per fine-tuning step of each card.

    Process time is what one evaluation costs a core; wall time on a shared machine is that
    divided by the share of the core the process gets.
    """
    import torch

    from flexibench.models import FlexiBERTForMaskedLM, FlexiBERTForSequenceClassification
    from flexibench.train.sweep import sample_cards

    torch.set_num_threads(1)
    recipe = load_recipe("nano")
    pre, fine = recipe.pretrain, recipe.finetune
    cards = sample_cards(args.sample, seed=1) if args.sample else [ModelCard.named(n) for n in args.cards.split(",")]
    for card in cards:
        mlm = FlexiBERTForMaskedLM.from_card(card, 8192, seed=0, max_len=64)
        ids = torch.randint(5, 8192, (pre.batch_size, pre.seq_len))
        labels = ids.masked_fill(torch.rand(ids.shape) > 0.15, -100)
        clf = FlexiBERTForSequenceClassification.from_encoder(mlm.encoder, 2)
        short = torch.randint(5, 8192, (fine.batch_size, 32))  # SST-2 sentences: ~25 tokens on average
        y = torch.randint(0, 2, (fine.batch_size,))
        mlm_s = _seconds_per_step(lambda: mlm(ids, labels=labels), torch.optim.AdamW(mlm.parameters()), args.steps)  # noqa: B023
        ft_s = _seconds_per_step(lambda: clf(short, labels=y), torch.optim.AdamW(clf.parameters()), args.steps)  # noqa: B023
        params = sum(p.numel() for p in mlm.parameters()) / 1e6
        print(f"| {card.short()} | {params:.2f} M | {mlm_s:.3f} | {ft_s:.3f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--data", default=None)
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    parser.add_argument("--cards", default="bert-tiny,bert-2-256,bert-mini")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--summarize", action="store_true")
    parser.add_argument("--cost", action="store_true", help="CPU seconds per MLM / fine-tuning step per card")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--sample", type=int, default=0, help="with --cost: time N random level-1 cards instead")
    args = parser.parse_args()
    if args.summarize:
        summarize(args.out)
    elif args.cost:
        cost(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
