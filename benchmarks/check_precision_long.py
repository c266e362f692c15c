"""Could fp32 records stand in for bf16 ones at the long fidelity? The same cards, seed, data and masks.

The long fidelity's recipes train in bf16, which some CPUs we are given emulate (AVX2 only: tens of
times slower). This pairs each fp32 record of a check recipe (``small-pilot-8k-fp32.yaml``: the pilot
in fp32) with the bf16 pilot record of the same card and seed, and prints per checkpoint the loss
difference (fp32 - bf16, nats), against the scale that matters for a ranking: the median gap between
neighbouring cards of the bf16 pilot at that checkpoint, and the card's rank among the pilot's cards
when its bf16 curve is replaced by its fp32 one.

    python benchmarks/check_precision_long.py --fp32 data/shards/checks/small-pilot-8k-fp32 \
        --bf16 data/shards/small-pilot-14k [--every 1000]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from flexibench.bench.journal import expand_shard_paths, read_shards
from flexibench.core import ModelCard


def curves(folder: str) -> tuple[dict[tuple[str, int], dict[int, float]], dict[tuple[str, int], str]]:
    """(card hash, seed) -> held-out loss by step, and -> the card's short form, of the ``ok`` records in ``folder``."""
    records = [r for r in read_shards(expand_shard_paths([folder])) if r.status == "ok"]
    keys = [(r.card_hash, r.seed) for r in records]
    losses = {k: dict(zip(r.heldout.steps, r.heldout.loss)) for k, r in zip(keys, records)}
    return losses, {k: ModelCard.from_dict(r.card).short() for k, r in zip(keys, records)}


def rank_among(field: dict[tuple[str, int], dict[int, float]], key: tuple[str, int], loss: float, step: int) -> int:
    """1-based rank (lowest loss first) that ``loss`` takes among the other cards of ``field`` at ``step``."""
    others = [c[step] for k, c in field.items() if k != key and step in c]
    return 1 + sum(other < loss for other in others)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fp32", default="data/shards/checks/small-pilot-8k-fp32")
    parser.add_argument("--bf16", default="data/shards/small-pilot-14k")
    parser.add_argument("--every", type=int, default=1000, help="checkpoints shown (steps)")
    args = parser.parse_args(argv)
    (fp32, names), (bf16, _) = curves(args.fp32), curves(args.bf16)
    keys = [k for k in fp32 if k in bf16]
    if not keys:
        sys.exit(f"no (card, seed) of {args.fp32} has a record in {args.bf16}")
    steps = sorted(s for s in set.intersection(*(set(fp32[k]) & set(bf16[k]) for k in keys)) if s % args.every == 0)
    print(f"fp32 ({args.fp32}) against bf16 ({args.bf16}): held-out loss, nats; rank among {len(bf16)} bf16 cards")
    print()
    print("| step | median gap between neighbouring bf16 cards | " + " | ".join(names[k] for k in keys) + " |")
    print("|---:|---:|" + "---|" * len(keys))
    for step in steps:
        losses = np.sort([c[step] for c in bf16.values() if step in c])
        gap = float(np.median(np.diff(losses)))
        cells = []
        for key in keys:
            diff = fp32[key][step] - bf16[key][step]
            ranks = (rank_among(bf16, key, bf16[key][step], step), rank_among(bf16, key, fp32[key][step], step))
            cells.append(f"{diff:+.3f} (rank {ranks[0]} -> {ranks[1]})")
        print(f"| {step} | {gap:.3f} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
