"""Design the ``nano`` recipe from measurements: cost and ranking signal of candidate CPU recipes.

``--summarize`` reads the journal shards of the superseded nano (v0: 100 MLM steps, then
SST-2 scored) and of the current one, and prints one row per candidate recipe: median
seconds per card, seed noise, between-card spread, the share of variance architecture
explains (beside what noise alone would give), the seed 0 vs seed 1 Spearman across cards
and whether the Turc et al. (2019) orderings hold (bert-mini and bert-2-256 above
bert-tiny). The current nano keeps its learning rate constant after warm-up and scores
held-out text every 50 steps, so each checkpoint is itself a candidate (k-step recipe).
``--cost`` times one MLM and one fine-tuning step per card (process CPU seconds).

    python benchmarks/bench_recipes.py --summarize [--v0 DIR] [--v1 DIR]
    python benchmarks/bench_recipes.py --cost --sample 20
"""

from __future__ import annotations

import argparse
import math
import statistics
from collections import defaultdict

import numpy as np

from flexibench.bench.journal import read_shards
from flexibench.core import ModelCard, card_hash
from flexibench.core.recipes import load_recipe


def _rows(records: list, value) -> list[tuple[str, int, float]]:  # noqa: ANN001
    return [(r.card_hash, r.seed, value(r)) for r in records]


def _orderings(records: list, value) -> str:  # noqa: ANN001
    """Do bert-mini and bert-2-256 beat bert-tiny (seed means)? The Turc et al. (2019) orderings."""
    names = {card_hash(ModelCard.named(n)): n for n in ("bert-tiny", "bert-2-256", "bert-mini")}
    by_name: dict[str, list[float]] = defaultdict(list)
    for r in records:
        if r.card_hash in names:
            by_name[names[r.card_hash]].append(value(r))
    if len(by_name) < 3:
        return "n/a"
    mean = {n: np.mean(v) for n, v in by_name.items()}
    return "yes" if mean["bert-mini"] > mean["bert-tiny"] and mean["bert-2-256"] > mean["bert-tiny"] else "no"


def candidates(records_v0: list, records_v1: list) -> list[tuple[str, float, list, object]]:
    """(candidate, median cost in s, records, value function) for every recipe the shards can score.

    The current nano holds its learning rate constant after warm-up, so its held-out loss
    after k steps is exactly what a k-step recipe would score: each checkpoint is a
    candidate whose cost is the pretraining time up to k (no fine-tuning needed).
    """
    out: list[tuple[str, float, list, object]] = []
    if records_v0:
        cost = statistics.median(r.total_time_s for r in records_v0)
        out.append(("v0: 100 MLM steps + SST-2 (4,000 ex, 3 epochs); score SST-2", cost, records_v0, lambda r: r.score))
    if records_v1:
        steps = records_v1[0].recipe["pretrain"]["steps"]
        vocab = records_v1[0].recipe["vocab_size"]
        checkpoints = list(records_v1[0].heldout.steps) if records_v1[0].heldout else []
        for k in checkpoints:
            cost = statistics.median(r.pretrain_time_s * k / steps for r in records_v1)
            out.append((f"{k} MLM steps; held-out MLM score", cost, records_v1, _mlm_at(k, vocab)))
            out.append((f"{k} MLM steps; held-out masked-token accuracy", cost, records_v1, _accuracy_at(k)))
        cost = statistics.median(r.total_time_s for r in records_v1)
        out.append((f"{steps} MLM steps + SST-2 (2,000 ex, 1 epoch); SST-2 accuracy", cost, records_v1, _sst2))
    return out


def _sst2(record) -> float:  # noqa: ANN001
    return record.task_scores.get("SST-2", math.nan)


def _mlm_at(k: int, vocab: int):  # noqa: ANN202
    from flexibench.core.tasks import mlm_score

    return lambda r: mlm_score(r.heldout.at(k)[0], vocab)


def _accuracy_at(k: int):  # noqa: ANN202
    return lambda r: r.heldout.at(k)[1]


def summarize(v0: str, v1: str) -> None:
    """The cost/signal table of docs/harness.md and BENCHMARKS.md from the shards of both nano versions."""
    from flexibench.bench.noise import seed_statistics

    load = [r for r in read_shards([v0]) if r.status == "ok"] if v0 else []
    new = [r for r in read_shards([v1]) if r.status == "ok"] if v1 else []
    print(
        "| candidate | median s / card | cards (2 seeds) | seed noise | between-card std "
        "| architecture share (noise alone) | Spearman seed 0 vs 1 | mini, 2-256 > tiny |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for name, cost, records, value in candidates(load, new):
        s = seed_statistics(_rows(records, value))
        if not s["cards"]:
            continue
        rho = f"{s['spearman_seed0_seed1']:.2f}" if "spearman_seed0_seed1" in s else "n/a"
        print(
            f"| {name} | {cost:.0f} | {s['cards']} | {s['seed_noise_std']:.2f} | {s['between_card_std']:.2f} "
            f"| {s['architecture_share']:.2f} ({s['null_share']:.2f}) | {rho} | {_orderings(records, value)} |"
        )


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
    parser.add_argument("--cards", default="bert-tiny,bert-2-256,bert-mini")
    parser.add_argument("--summarize", action="store_true", help="print the cost/signal table from --v0 and --v1")
    parser.add_argument("--v0", default="data/shards/archive/nano-v0", help="shards of the superseded nano")
    parser.add_argument("--v1", default="data/shards/nano", help="shards of the current nano")
    parser.add_argument("--cost", action="store_true", help="CPU seconds per MLM / fine-tuning step per card")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--sample", type=int, default=0, help="with --cost: time N random level-1 cards instead")
    args = parser.parse_args()
    if args.cost:
        cost(args)
    else:
        summarize(args.v0, args.v1)


if __name__ == "__main__":
    main()
