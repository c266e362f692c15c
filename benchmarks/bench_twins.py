"""Does each operation family learn like its reference implementation? Held-out MLM curves, ours vs Hugging Face.

For a homogeneous card of one family (SA-SDP, LT-DFT or DSC), trains our model and its
``transformers`` twin of the same size (``BertForMaskedLM``, ``FNetForMaskedLM``,
``ConvBertForMaskedLM``; absolute positions, Hugging Face's own head and loss) under one
recipe: the same token blocks in the same order, the same dynamic masks, the same AdamW
(no decay on biases and norms), schedule, clipping and precision. Both are scored every
``--every`` steps on the recipe's held-out blocks under the harness's one fixed masking, by
the same code (cross-entropy over the masked positions), so the curves differ only by the
model. Where ours learns slower, that is a finding to chase before a recipe spends days on it.

    python benchmarks/bench_twins.py --cards fnet-mini,convbert-mini --recipe nano --steps 800 \\
        --data $FLEXIBENCH_DATA --out benchmarks/results/twins.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
from torch import nn

from flexibench.core import ModelCard
from flexibench.core.recipes import load_recipe
from flexibench.train import pretrain as harness
from flexibench.train.tokenizer import MASK, SPECIAL_TOKENS, get_tokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_harness import hf_twin  # noqa: E402


@torch.no_grad()
def heldout_loss(model: nn.Module, blocks: torch.Tensor, tokenizer, config, ours: bool) -> float:  # noqa: ANN001
    """Mean cross-entropy over the held-out masked positions (the harness's fixed masking), fp32, eval mode."""
    generator = torch.Generator().manual_seed(harness.HELDOUT_MASK_SEED)
    special = torch.tensor([tokenizer.token_to_id(t) for t in SPECIAL_TOKENS])
    mask_id, vocab = tokenizer.token_to_id(MASK), tokenizer.get_vocab_size()
    model.eval()
    total, count = 0.0, 0
    for start in range(0, len(blocks), 64):
        inputs, labels = harness.mask_tokens(
            blocks[start : start + 64], mask_id, vocab, special, generator, config.mask_prob, config.mask_split
        )
        selected = labels != harness.IGNORE_INDEX
        if ours:
            logits = model(inputs, labels=labels).logits  # already only at the labelled positions
        else:
            logits = model(input_ids=inputs).logits[selected]
        total += float(nn.functional.cross_entropy(logits.float(), labels[selected], reduction="sum"))
        count += int(selected.sum())
    model.train()
    return total / max(1, count)


def train_curve(model: nn.Module, ours: bool, recipe, tokenizer, corpus: Path, steps: int, every: int) -> dict:  # noqa: ANN001
    """Train ``model`` for ``steps`` steps of the recipe's pretraining; held-out loss every ``every`` steps."""
    config = recipe.pretrain
    blocks, heldout = harness.split_heldout(
        harness.token_blocks(corpus, tokenizer, config.seq_len, config.corpus_chars), config.heldout_blocks
    )
    generator = torch.Generator().manual_seed(0)
    special = torch.tensor([tokenizer.token_to_id(t) for t in SPECIAL_TOKENS])
    mask_id, vocab = tokenizer.token_to_id(MASK), tokenizer.get_vocab_size()
    optimizer = harness.adamw(model, config.lr, config.weight_decay, config.betas, config.eps)
    scheduler = harness.linear_schedule(optimizer, config.warmup_steps, steps, decay=config.schedule == "linear")
    order, cursor, curve = torch.randperm(len(blocks), generator=generator), 0, {}
    started = time.perf_counter()
    model.train()
    for step in range(steps):
        if cursor + config.batch_size > len(order):
            order, cursor = torch.randperm(len(blocks), generator=generator), 0
        batch = blocks[order[cursor : cursor + config.batch_size]]
        cursor += config.batch_size
        inputs, labels = harness.mask_tokens(
            batch, mask_id, vocab, special, generator, config.mask_prob, config.mask_split
        )
        with harness.forward_precision(torch.device("cpu"), config.precision):
            loss = model(input_ids=inputs, labels=labels).loss
        harness.optimizer_step(model, loss, optimizer, scheduler, config.grad_clip)
        if (step + 1) % every == 0 or step + 1 == steps:
            curve[step + 1] = heldout_loss(model, heldout, tokenizer, config, ours)
            print(f"  step {step + 1}: held-out loss {curve[step + 1]:.3f}", flush=True)
    return {"curve": curve, "time_s": time.perf_counter() - started}


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
                model = hf_twin(card, recipe.pretrain.seq_len)
                if model is None:
                    continue
            print(f"{name} ({who}): {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters", flush=True)
            rows[who] = train_curve(model, who == "ours", recipe, tokenizer, corpus, args.steps, args.every)
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
