"""One AdamW step of the harness's optimizer, per-parameter loop (today's) against ``fused=True``, one thread.

Run: ``python benchmarks/bench_optimizer.py [--steps 20] [--out benchmarks/results/optimizer.json]``.

The optimizer is the harness's own (:func:`flexibench.train.pretrain.adamw`: two parameter groups,
BERT's weight-decay convention) on each card's MLM model, stepping on fixed random gradients; CPU time
of this process per step (the machine is shared), median of ``--steps`` after 3 warm-up steps. It also
says whether the fused kernel rounds like the loop: the largest weight difference after 10 steps on
the same gradient stream (0 would mean switching changes no trajectory).
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from pathlib import Path

import torch
from bench_harness import CARDS, VOCAB, median_card

from flexibench.core import ModelCard
from flexibench.models.heads import FlexiBERTForMaskedLM
from flexibench.train.pretrain import adamw


def optimizer(model: torch.nn.Module, fused: bool) -> torch.optim.Optimizer:
    opt = adamw(model, lr=1e-3, weight_decay=0.01, betas=(0.9, 0.999), eps=1e-8)
    for group in opt.param_groups:
        group["fused"], group["foreach"] = fused, False
    return opt


def step_ms(model: torch.nn.Module, fused: bool, steps: int) -> float:
    """Median CPU milliseconds of one optimizer step."""
    for p in model.parameters():
        p.grad = torch.randn_like(p) * 1e-3
    opt = optimizer(model, fused)
    for _ in range(3):
        opt.step()
    times = []
    for _ in range(steps):
        start = time.process_time()
        opt.step()
        times.append(time.process_time() - start)
    return 1000 * statistics.median(times)


def rounding_difference(model: torch.nn.Module, steps: int = 10) -> tuple[float, float]:
    """Largest |weight difference| between loop and fused after ``steps`` equal updates, and the share that differ."""
    weights = {}
    for fused in (False, True):
        copy_ = copy.deepcopy(model)
        opt = optimizer(copy_, fused)
        gen = torch.Generator().manual_seed(0)
        for _ in range(steps):
            for p in copy_.parameters():
                p.grad = torch.randn(p.shape, generator=gen) * 1e-3
            opt.step()
        weights[fused] = torch.cat([p.detach().flatten() for p in copy_.parameters()])
    diff = (weights[False] - weights[True]).abs()
    return float(diff.max()), float((diff > 0).float().mean())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", default=",".join(CARDS), help="comma-separated names; 'median' = median level-1")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = {}
    for name in args.cards.split(","):
        card = ModelCard.from_json(median_card()) if name == "median" else ModelCard.named(name)
        model = FlexiBERTForMaskedLM.from_card(card, vocab_size=VOCAB, seed=0)
        loop, fused = step_ms(model, False, args.steps), step_ms(model, True, args.steps)
        largest, share = rounding_difference(model)
        rows[name] = {
            "params": sum(p.numel() for p in model.parameters()),
            "loop_ms": loop,
            "fused_ms": fused,
            "max_abs_difference_after_10": largest,
            "share_differing": share,
        }
        print(f"{name}: loop {loop:.1f} ms, fused {fused:.1f} ms; after 10 steps |diff| <= {largest:.1e} ({share:.1%})")
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
