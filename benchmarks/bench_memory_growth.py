"""Resident memory of one pretraining run, step by step: does a training process grow, and how fast?

Run: ``python benchmarks/bench_memory_growth.py --card bert-tiny --steps 600 --data $FLEXIBENCH_DATA``, and
again under ``MALLOC_MMAP_THRESHOLD_=65536 MALLOC_TRIM_THRESHOLD_=0`` to see what glibc's keeping of freed
memory accounts for (docs/harness.md, "Running beside other work"). The recipe's pretraining settings
(default: the long fidelity's pilot), one thread, held-out scoring every 50 steps; prints the resident set
(from ``/proc/self/statm``) every ``--every`` optimizer steps.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import torch

from flexibench.core import ModelCard
from flexibench.core.recipes import load_recipe
from flexibench.models import FlexiBERTForMaskedLM
from flexibench.train import pretrain as training
from flexibench.train.evaluate import corpus_and_tokenizer, resolve_data_dir

RECIPE = Path(__file__).resolve().parents[1] / "data" / "sweeps" / "v2_small" / "small-pilot.yaml"


def resident_mib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--card", default="bert-tiny")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--recipe", type=Path, default=RECIPE)
    parser.add_argument("--data", default=None, help="data folder (default $FLEXIBENCH_DATA)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    recipe = load_recipe(args.recipe)
    corpus, tokenizer = corpus_and_tokenizer(resolve_data_dir(args.data), recipe)
    config = dataclasses.replace(recipe.pretrain, steps=args.steps)
    model = FlexiBERTForMaskedLM.from_card(ModelCard.named(args.card), tokenizer.get_vocab_size(), seed=0)
    print(f"before training: {resident_mib():.0f} MiB", flush=True)
    step_once, done = training.optimizer_step, [0]

    def counted(*a, **kw) -> None:  # noqa: ANN002, ANN003
        step_once(*a, **kw)
        done[0] += 1
        if done[0] % args.every == 0:
            print(f"step {done[0]}: {resident_mib():.0f} MiB", flush=True)

    training.optimizer_step = counted  # pretrain looks the function up at call time
    training.pretrain(model, tokenizer, corpus, config, 0, "cpu", checkpoints=tuple(range(50, args.steps, 50)))
    print(f"after training: {resident_mib():.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
