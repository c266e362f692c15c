"""Does bf16 rank cards as fp32 does? The same cards, seed, data and masks at nano, in both precisions.

Reads the fp32 records of the table's fidelity and the records of its bf16 twin recipe (which
differs only in ``pretrain.precision``), pairs them by (card, seed) and prints, per card, both
scores and their difference; then Kendall tau and Spearman between the precisions, and the same
statistics between two fp32 seeds of the same cards, the noise any precision effect must be
measured against. Checkpoints of the held-out curve are compared too (the curve is where bf16
would first drift).

    python benchmarks/check_precision.py --fp32 data/shards/nano --bf16 data/shards/checks/nano-bf16
"""

from __future__ import annotations

import argparse
import statistics
import sys

import numpy as np
from scipy.stats import kendalltau, spearmanr

from flexibench.bench.journal import read_shards
from flexibench.core import ModelCard
from flexibench.core.tasks import mlm_score


def scores_at(record, step: int | None) -> float:  # noqa: ANN001
    """The record's held-out MLM score after ``step`` steps (None: the final score)."""
    if step is None:
        return record.score
    return mlm_score(record.heldout.at(step)[0], record.recipe["vocab_size"])


def compare(fp32: list, bf16: list, step: int | None) -> dict[str, float]:
    """Per-card pairs at seed 0 and the rank agreement of bf16 vs fp32, beside fp32 seed 0 vs seed 1."""
    by_key = {(r.card_hash, r.seed): r for r in fp32}
    pairs = [(by_key[(r.card_hash, r.seed)], r) for r in bf16 if (r.card_hash, r.seed) in by_key]
    a = np.array([scores_at(f, step) for f, _ in pairs])
    b = np.array([scores_at(g, step) for _, g in pairs])
    out = {
        "cards": len(pairs),
        "kendall_bf16_fp32": float(kendalltau(a, b).statistic),
        "spearman_bf16_fp32": float(spearmanr(a, b).statistic),
        "mean_diff": float(np.mean(b - a)),
        "mean_abs_diff": float(np.mean(np.abs(b - a))),
    }
    seed1 = [(f, by_key.get((f.card_hash, 1))) for f, _ in pairs]
    seed1 = [(f, s) for f, s in seed1 if s is not None]
    if len(seed1) >= 3:
        x = np.array([scores_at(f, step) for f, _ in seed1])
        y = np.array([scores_at(s, step) for _, s in seed1])
        out.update(
            seed_cards=len(seed1),
            kendall_seed0_seed1=float(kendalltau(x, y).statistic),
            mean_abs_seed_diff=float(np.mean(np.abs(y - x))),
        )
    out["pairs"] = pairs
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fp32", default="data/shards/nano")
    parser.add_argument("--bf16", default="data/shards/checks/nano-bf16")
    args = parser.parse_args(argv)
    fp32 = [r for r in read_shards([args.fp32]) if r.status == "ok"]
    bf16 = [r for r in read_shards([args.bf16]) if r.status == "ok"]
    if not bf16:
        sys.exit(f"no ok records in {args.bf16}")
    final = compare(fp32, bf16, None)
    print("| card | fp32 score | bf16 score | bf16 - fp32 | fp32 seed 1 - seed 0 |")
    print("|---|---:|---:|---:|---:|")
    by_key = {(r.card_hash, r.seed): r for r in fp32}
    for f, g in sorted(final["pairs"], key=lambda p: -p[0].score):
        other = by_key.get((f.card_hash, 1))
        noise = f"{other.score - f.score:+.2f}" if other else ""
        short = ModelCard.from_dict(f.card).short()
        print(f"| {short} | {f.score:.2f} | {g.score:.2f} | {g.score - f.score:+.2f} | {noise} |")
    steps = list(bf16[0].heldout.steps)
    print(
        "\n| checkpoint | cards | Kendall tau bf16 vs fp32 | mean bf16 - fp32 | mean abs diff "
        "| Kendall tau fp32 seed 0 vs 1 (cards) | mean abs seed diff |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for step in steps:
        s = compare(fp32, bf16, step)
        seed = f"{s['kendall_seed0_seed1']:.2f} ({s['seed_cards']})" if "seed_cards" in s else "n/a"
        noise = f"{s['mean_abs_seed_diff']:.2f}" if "seed_cards" in s else "n/a"
        print(
            f"| {step} | {s['cards']} | {s['kendall_bf16_fp32']:.2f} | {s['mean_diff']:+.2f} "
            f"| {s['mean_abs_diff']:.2f} | {seed} | {noise} |"
        )
    times = [(f.pretrain_time_s, g.pretrain_time_s) for f, g in final["pairs"]]
    print(
        f"\nmedian pretraining wall time per card: fp32 {statistics.median(t for t, _ in times):.0f} s, "
        f"bf16 {statistics.median(t for _, t in times):.0f} s (different sessions and loads; see bench_harness)"
    )


if __name__ == "__main__":
    main()
