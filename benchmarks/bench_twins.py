"""Does each operation family learn like its reference implementation? Held-out MLM curves, ours vs Hugging Face.

For a homogeneous card of one family (SA-SDP, LT-DFT or DSC), trains our model and its
``transformers`` twin of the same size (``BertForMaskedLM``, ``FNetForMaskedLM``,
``ConvBertForMaskedLM``; absolute positions, Hugging Face's own head and loss) with the
harness's own pretraining loop (:func:`flexibench.train.pretrain.pretrain`, the twin wrapped
so it answers like our MLM model): the same token blocks in the same order, the same dynamic
masks, the same AdamW (no decay on biases and norms), schedule, clipping and precision. Both
are scored every ``--every`` steps on the recipe's held-out blocks under the harness's one
fixed masking, by the same code (cross-entropy over the masked positions), so the curves
differ only by the model. Where ours learns slower, that is a finding to chase before a recipe spends days on it.

    python benchmarks/bench_twins.py --cards fnet-mini,convbert-mini --recipe nano --steps 800 \\
        --data $FLEXIBENCH_DATA --out benchmarks/results/twins.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import sys
from pathlib import Path

import torch
from torch import nn

from flexibench.core import ModelCard
from flexibench.core.recipes import load_recipe
from flexibench.train import pretrain as harness
from flexibench.train.tokenizer import get_tokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hf_twins import MaskedPositions, hf_twin  # noqa: E402


def train_curve(model: nn.Module, recipe, tokenizer, corpus: Path, steps: int, every: int) -> dict:  # noqa: ANN001
    """The harness's own pretraining (:func:`~flexibench.train.pretrain.pretrain`, seed 0) of ``steps`` steps.

    Held-out loss every ``every`` steps and at the end, scored by the harness's held-out code.
    """
    config = dataclasses.replace(recipe.pretrain, steps=steps)
    checkpoints = tuple(range(every, steps, every))
    result = harness.pretrain(model, tokenizer, corpus, config, seed=0, device="cpu", checkpoints=checkpoints)
    return {"curve": {k: v["loss"] for k, v in sorted(result.heldout_curve.items())}, "time_s": result.time_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", default="bert-mini,fnet-mini,convbert-mini")
    parser.add_argument("--recipe", default="nano")
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--every", type=int, default=200)
    parser.add_argument("--data", required=True, help="data folder with corpus/ (or $FLEXIBENCH_DATA)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.basicConfig(level="INFO", format="  %(message)s")  # the harness logs each held-out checkpoint
    recipe = load_recipe(args.recipe)
    corpus = Path(args.data) / "corpus"
    tokenizer = get_tokenizer(recipe.vocab_size, corpus_dir=corpus)
    from flexibench.models import FlexiBERTForMaskedLM

    results = {"command": " ".join(sys.argv), "recipe": recipe.to_dict(), "cards": {}}
    for name in args.cards.split(","):
        card = ModelCard.named(name)
        rows = {}
        for who in ("ours", "hf"):
            torch.manual_seed(0)
            if who == "ours":
                model = FlexiBERTForMaskedLM.from_card(
                    card, tokenizer.get_vocab_size(), seed=0, dropout=recipe.pretrain.dropout, max_len=512
                )
            else:
                twin = hf_twin(card, tokenizer.get_vocab_size(), recipe.pretrain.seq_len)
                if twin is None:
                    continue
                model = MaskedPositions(twin)
            print(f"{name} ({who}): {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters", flush=True)
            rows[who] = train_curve(model, recipe, tokenizer, corpus, args.steps, args.every)
        results["cards"][name] = rows
    print("\n| card | model | " + " | ".join(f"step {k}" for k in next(iter(rows.values()))["curve"]) + " | wall s |")
    print("|---|---|" + "---:|" * (len(next(iter(rows.values()))["curve"]) + 1))
    for name, rows in results["cards"].items():
        for who, row in rows.items():
            cells = " | ".join(f"{v:.2f}" if math.isfinite(v) else "nan" for v in row["curve"].values())
            print(f"| {name} | {'FlexiBench' if who == 'ours' else 'Hugging Face'} | {cells} | {row['time_s']:.0f} |")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
