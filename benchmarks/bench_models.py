"""MLM training throughput: FlexiBERT vs Hugging Face ``BertForMaskedLM`` of the same size, same run, same CPU.

One step = forward + backward + AdamW update on a batch of ``--batch`` sequences of
``--length`` tokens with 15% of positions labelled (the rest -100), no padding. The
two implementations are timed in alternating rounds so that load on the machine
affects both alike; the median round gives tokens per second (all tokens of the
batch, masked or not, count as processed tokens).

    nice -n 10 python benchmarks/bench_models.py --threads 2

FlexiBERT differs from BERT by design (learned relative positions instead of absolute
ones, no pooler); the head computes vocabulary logits only at labelled positions.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from flexibench.core import ModelCard
from flexibench.models import FlexiBERTForMaskedLM, count_parameters

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hf_twins import hf_twin  # noqa: E402


def make_batch(batch: int, length: int, vocab_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, vocab_size, (batch, length), generator=gen)
    labels = torch.full_like(ids, -100)
    chosen = torch.rand(batch, length, generator=gen) < 0.15
    labels[chosen] = ids[chosen]
    ids[chosen] = 4  # a [MASK]-like id
    return ids, labels


def make_step(model: torch.nn.Module, ids: torch.Tensor, labels: torch.Tensor):
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.train()

    def step() -> None:
        out = model(input_ids=ids, labels=labels)
        loss = out.loss if hasattr(out, "loss") else out[0]
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def time_steps(step, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return time.perf_counter() - start


def bench_card(name: str, args: argparse.Namespace) -> dict:
    card = ModelCard.named(name)
    ids, labels = make_batch(args.batch, args.length, args.vocab_size, seed=0)
    torch.manual_seed(0)
    ours = FlexiBERTForMaskedLM.from_card(card, args.vocab_size, max_len=args.length)
    theirs = hf_twin(card, args.vocab_size, args.length, dropout=0.1)  # BertConfig's default dropout
    if theirs is None or card.o[0] != "SA":
        raise ValueError(f"{name}: only homogeneous SA cards with one FF layer have a BERT twin")
    steps = {"flexibert": make_step(ours, ids, labels), "hf_bert": make_step(theirs, ids, labels)}
    for step in steps.values():  # warm-up (allocator, kernels, AdamW state)
        time_steps(step, 2)
    rounds: dict[str, list[float]] = {key: [] for key in steps}
    tokens = args.batch * args.length * args.steps
    for _ in range(args.rounds):
        for key, step in steps.items():
            rounds[key].append(tokens / time_steps(step, args.steps))
    result = {"card": name, **{f"{k}_tokens_per_s": statistics.median(v) for k, v in rounds.items()}}
    result["ratio"] = result["flexibert_tokens_per_s"] / result["hf_bert_tokens_per_s"]
    # paired per round (adjacent in time, so robust to load that changes between rounds)
    result["paired_ratio"] = statistics.median(a / b for a, b in zip(rounds["flexibert"], rounds["hf_bert"]))
    result["flexibert_params"] = count_parameters(card, args.vocab_size, max_len=args.length)
    result["hf_bert_params"] = sum(p.numel() for p in theirs.parameters())
    result["rounds"] = rounds
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", nargs="+", default=["bert-tiny", "bert-mini"])
    parser.add_argument("--vocab-size", type=int, default=8192)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=3, help="steps per timed round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print one JSON object per card")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import transformers

    print(
        f"# torch {torch.__version__}, transformers {transformers.__version__}, threads {args.threads}, "
        f"vocab {args.vocab_size}, length {args.length}, batch {args.batch}"
    )
    for name in args.cards:
        result = bench_card(name, args)
        if args.json:
            print(json.dumps(result))
        else:
            print(
                f"{name:10s} FlexiBERT {result['flexibert_tokens_per_s']:9.0f} tok/s   "
                f"HF BERT {result['hf_bert_tokens_per_s']:9.0f} tok/s   ratio {result['ratio']:.2f}x "
                f"(paired {result['paired_ratio']:.2f}x)   "
                f"params {result['flexibert_params']:,} vs {result['hf_bert_params']:,}"
            )


if __name__ == "__main__":
    main()
