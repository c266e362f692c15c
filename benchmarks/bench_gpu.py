"""Pretraining throughput and peak memory of the harness on one GPU, at ``micro``'s shape, bf16 against fp32.

One step is the harness's own (:func:`flexibench.train.pretrain.optimizer_step` after the
forward pass and loss under :func:`~flexibench.train.pretrain.forward_precision`), on batches
masked by its dynamic masking. Timed with CUDA synchronisation around ``--steps`` steps after
``--warmup``; peak memory is ``torch.cuda.max_memory_allocated`` over the timed steps of a
fresh model. References in the same run: the card in fp32 (the ratio bf16 / fp32), Hugging
Face's twin of the card where ``transformers`` has one, and the bf16 GEMM rate at the step's
typical shape (tokens x h x 4h), the ceiling a step cannot beat.

    python benchmarks/bench_gpu.py --out $OUT/gpu_throughput.json   # on a CUDA machine

``--device cpu --steps 2 --batch 4`` runs the same code on a CPU, to check the script.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_harness import VOCAB, _batches, hf_step, step_flops  # noqa: E402  (beside this script)
from hf_twins import hf_twin  # noqa: E402

from flexibench.core import ModelCard  # noqa: E402
from flexibench.core.named import NAMED_CARDS  # noqa: E402
from flexibench.models import FlexiBERTForMaskedLM  # noqa: E402
from flexibench.train import pretrain as harness  # noqa: E402

CARDS = ("bert-mini", "convbert-mini", "fnet-mini", "flexibert-mini")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(step, device: torch.device, batch: int, seq_len: int, warmup: int, steps: int) -> dict:  # noqa: ANN001
    """Seconds per step (wall, synchronised) and peak memory over the timed steps."""
    batches = [(i.to(device), label.to(device)) for i, label in _batches(batch, seq_len, warmup + steps)]
    for inputs, labels in batches[:warmup]:
        step(inputs, labels)
    _sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    started = time.perf_counter()
    for inputs, labels in batches[warmup:]:
        step(inputs, labels)
    _sync(device)
    seconds = (time.perf_counter() - started) / steps
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return {"s_per_step": seconds, "tokens_per_s": batch * seq_len / seconds, "peak_mib": peak}


def ours(card: ModelCard, precision: str, device: torch.device, batch: int, seq_len: int, warmup: int, steps: int):  # noqa: ANN201
    with device:
        model = FlexiBERTForMaskedLM.from_card(card, VOCAB, seed=0, dropout=0.0, max_len=512).train()
    optimizer = harness.adamw(model, 5e-4, 0.01, (0.9, 0.98), 1e-6)
    scheduler = harness.linear_schedule(optimizer, 500, 5000, decay=False)
    context = harness.forward_precision(device, precision)

    def step(inputs, labels) -> None:  # noqa: ANN001
        with context:
            loss = model(inputs, labels=labels).loss
        harness.optimizer_step(model, loss, optimizer, scheduler, 1.0)

    return _timed(step, device, batch, seq_len, warmup, steps)


def twin(card: ModelCard, precision: str, device: torch.device, batch: int, seq_len: int, warmup: int, steps: int):  # noqa: ANN201
    model = hf_twin(card, VOCAB, seq_len)
    if model is None:
        return {"error": "no Hugging Face twin"}
    step = hf_step(model.to(device).train(), precision, device.type, lr=5e-4)
    try:
        return _timed(step, device, batch, seq_len, warmup, steps)
    except RuntimeError as exc:  # e.g. an FFT that bfloat16 does not support
        return {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"}


def gemm_rate(device: torch.device, tokens: int, hidden: int, dtype: torch.dtype, steps: int = 20) -> float:
    """FLOP/s of a (tokens x h) @ (h x 4h) product, the shape of a feed-forward layer."""
    a = torch.randn(tokens, hidden, device=device, dtype=dtype)
    b = torch.randn(hidden, 4 * hidden, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    _sync(device)
    started = time.perf_counter()
    for _ in range(steps):
        a @ b
    _sync(device)
    return 2.0 * tokens * hidden * 4 * hidden * steps / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", default=",".join(CARDS))
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--batch", type=int, default=128, help="micro's batch (default 128)")
    parser.add_argument("--seq-len", type=int, default=128, help="micro's sequence length (default 128)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    shape = (device, args.batch, args.seq_len, args.warmup, args.steps)
    tokens = args.batch * args.seq_len
    result = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "batch": args.batch,
        "seq_len": args.seq_len,
        "steps": args.steps,
        "gemm_bf16_tflops": gemm_rate(device, tokens, 256, torch.bfloat16) / 1e12,
        "gemm_fp32_tflops": gemm_rate(device, tokens, 256, torch.float32) / 1e12,
        "cards": {},
    }
    for name in args.cards.split(","):
        card = ModelCard.named(name) if name in NAMED_CARDS else ModelCard.parse(name)
        row = {precision: ours(card, precision, *shape) for precision in ("fp32", "bf16")}
        row.update({f"hf {precision}": twin(card, precision, *shape) for precision in ("fp32", "bf16")})
        row["step_tflop"] = step_flops(card, args.batch, args.seq_len) / 1e12
        row["bf16_share_of_gemm"] = row["step_tflop"] / row["bf16"]["s_per_step"] / result["gemm_bf16_tflops"]
        result["cards"][name] = row
        peak = row["bf16"]["peak_mib"]
        print(
            f"{name}: bf16 {row['bf16']['tokens_per_s']:,.0f} tokens/s "
            f"({row['bf16']['tokens_per_s'] / row['fp32']['tokens_per_s']:.2f}x fp32, "
            f"{100 * row['bf16_share_of_gemm']:.1f}% of the bf16 GEMM rate), peak "
            + (f"{peak:,.0f} MiB" if peak is not None else "n/a"),
            flush=True,
        )
    text = json.dumps(result, indent=1)
    if args.out:
        args.out.write_text(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
