"""Pretraining throughput of the harness on one CPU thread: precision, shapes, compilation, the previous version.

One step is what :func:`flexibench.train.pretrain.pretrain` does per batch: dynamic masking,
forward pass and loss (under the recipe's precision), backward, gradient clipping, AdamW and
the schedule. Every configuration of every card runs in its own subprocess (one thread, a
fresh model) so thread settings, compile caches and allocator state never leak between them,
and the configurations of a card run back to back so that load on the machine touches them
alike. Reported: tokens per CPU-second of the one-thread process (every token of the batch
counts; CPU time, so that other load on a shared machine does not stretch it) and ratios against
``fp32 @32x64 (previous)``, the harness before this change (a checkout of ``--baseline``), in
the same run.

References in the same run:
* the Hugging Face twin of the card where ``transformers`` has one (``BertForMaskedLM`` for
  homogeneous SA-SDP cards, ``FNetForMaskedLM`` for LT-DFT, ``ConvBertForMaskedLM`` for DSC),
  with absolute positions and Hugging Face's own head and loss;
* the bf16 and fp32 GEMM rate at the harness's typical shape (tokens x h x 4h), the ceiling
  a step cannot beat, and each step's share of it (3 x forward FLOPs of encoder and head).

    python benchmarks/bench_harness.py --baseline f555434 --out benchmarks/results/harness.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VOCAB = 8192
CARDS = ("bert-tiny", "bert-mini", "convbert-mini", "fnet-mini", "flexibert-mini", "median")
# (label, precision, batch, seq_len, compile, code): code "current" or "previous" (the --baseline checkout)
CONFIGS = (
    ("fp32 @32x64 (previous)", "fp32", 32, 64, False, "previous"),
    ("fp32 @32x64", "fp32", 32, 64, False, "current"),
    ("bf16 @32x64", "bf16", 32, 64, False, "current"),
    ("bf16 @32x128", "bf16", 32, 128, False, "current"),
    ("bf16 @32x128 compiled", "bf16", 32, 128, True, "current"),
)
HF_CONFIGS = (("HF fp32 @32x64", "fp32", 32, 64), ("HF bf16 @32x64", "bf16", 32, 64))


def median_card() -> str:
    """The level-1 card nearest the median in both parameter count and FLOPs (rank distance, first by index)."""
    import numpy as np
    from scipy.stats import rankdata

    from flexibench.bench.flops import card_flops
    from flexibench.bench.param_counts import counter_for
    from flexibench.core import DesignSpace

    space = DesignSpace.default()
    cards = list(space.enumerate(level=1))
    counter = counter_for(VOCAB)
    params = np.array([counter(card) for card in cards], dtype=float)
    flops = np.array([card_flops(card) for card in cards], dtype=float)
    distance = np.abs(rankdata(params) / len(cards) - 0.5) + np.abs(rankdata(flops) / len(cards) - 0.5)
    return cards[int(np.argmin(distance))].to_json()


def step_flops(card, batch: int, seq_len: int) -> float:  # noqa: ANN001
    """3 x forward FLOPs of one batch: encoder (analytic) plus the MLM head at the 15% labelled positions."""
    from flexibench.bench.flops import card_flops

    masked = 0.15 * batch * seq_len
    head = 2 * masked * (card.h[-1] * card.h[0] + card.h[0] * VOCAB)
    return 3.0 * (batch * card_flops(card, seq_len) + head)


# ----------------------------------------------------------------------------- workers (one per subprocess)


def _batches(batch: int, seq_len: int, steps: int):  # noqa: ANN202
    """Random token blocks masked by the harness's own dynamic masking (ids 0-4 are the special tokens)."""
    import torch

    from flexibench.train.pretrain import mask_tokens

    gen = torch.Generator().manual_seed(0)
    special = torch.arange(5)
    for _ in range(steps):
        ids = torch.randint(5, VOCAB, (batch, seq_len), generator=gen)
        ids[:, 0], ids[:, -1] = 2, 3
        yield mask_tokens(ids, 4, VOCAB, special, gen)


def _time_steps(step, batch: int, seq_len: int, warmup: int, steps: int) -> tuple[float, float]:  # noqa: ANN001
    """(median CPU seconds per step, wall seconds of warm-up) over ``steps`` timed steps after ``warmup``.

    CPU time of this one-thread process, not wall time: on a shared machine other processes
    stretch wall time but not the CPU time a step needs (on an idle machine the two agree).
    """
    started = time.perf_counter()
    for inputs, labels in _batches(batch, seq_len, warmup):
        step(inputs, labels)
    warm = time.perf_counter() - started
    times = []
    for inputs, labels in _batches(batch, seq_len, steps):
        t0 = time.process_time()
        step(inputs, labels)
        times.append(time.process_time() - t0)
    return statistics.median(times), warm


def worker_flexibert(card_text: str, precision: str, batch: int, seq_len: int, compiled: bool, steps: int) -> dict:
    """Time the harness's own step functions on ``card_text`` (works against the previous version too)."""
    import torch

    from flexibench.models import FlexiBERTForMaskedLM
    from flexibench.train import pretrain as harness

    torch.set_num_threads(1)
    model = FlexiBERTForMaskedLM.from_card(card_text, VOCAB, seed=0, dropout=0.0, max_len=512).train()
    optimizer = harness.adamw(model, 1e-3, 0.01, (0.9, 0.98), 1e-6)
    scheduler = harness.linear_schedule(optimizer, 30, 10_000, decay=False)
    if hasattr(harness, "forward_precision"):
        context = harness.forward_precision(torch.device("cpu"), precision)
    elif precision == "fp32":
        context = contextlib.nullcontext()
    else:
        return {"error": "this version has no precision setting"}
    if compiled:  # the encoder only: its shapes are fixed, the head's masked count changes every step
        model.encoder.compile(dynamic=False)

    def step(inputs, labels) -> None:  # noqa: ANN001
        with context:
            loss = model(inputs, labels=labels).loss
        harness.optimizer_step(model, loss, optimizer, scheduler, 1.0)

    seconds, warm = _time_steps(step, batch, seq_len, warmup=3, steps=steps)
    return {"s_per_step": seconds, "warmup_s": warm}


def hf_step(model, precision: str, device_type: str, lr: float):  # noqa: ANN001, ANN201
    """One training step of a Hugging Face twin: its own loss under the precision, AdamW, clipping at 1.0."""
    import torch

    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)

    def step(inputs, labels) -> None:  # noqa: ANN001
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = model(input_ids=inputs, labels=labels).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    return step


def worker_hf(card_text: str, precision: str, batch: int, seq_len: int, steps: int) -> dict:
    """The Hugging Face twin of the card, its own loss, the same masking, optimizer and clipping."""
    import torch
    from hf_twins import hf_twin  # beside this script: the one builder of the twins

    from flexibench.core import ModelCard

    torch.set_num_threads(1)
    model = hf_twin(ModelCard.parse(card_text), VOCAB, seq_len)
    if model is None:
        return {"error": "no Hugging Face twin"}
    step = hf_step(model.train(), precision, "cpu", lr=1e-3)
    try:
        seconds, warm = _time_steps(step, batch, seq_len, warmup=3, steps=steps)
    except RuntimeError as exc:  # e.g. an FFT that bfloat16 does not support
        return {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"}
    return {"s_per_step": seconds, "warmup_s": warm}


def worker_gemm(tokens: int, hidden: int, steps: int) -> dict:
    """GFLOP/s of ``(tokens x hidden) @ (hidden x 4 hidden)`` in bf16 and fp32, one thread."""
    import torch

    torch.set_num_threads(1)
    out = {}
    for name, dtype in (("bf16", torch.bfloat16), ("fp32", torch.float32)):
        a, b = torch.randn(tokens, hidden, dtype=dtype), torch.randn(hidden, 4 * hidden, dtype=dtype)
        for _ in range(5):
            a @ b
        times = []
        for _ in range(steps):
            t0 = time.process_time()
            a @ b
            times.append(time.process_time() - t0)
        out[name] = 2 * tokens * hidden * 4 * hidden / statistics.median(times) / 1e9
    return out


# ----------------------------------------------------------------------------- driver


def run_worker(args: list[str], pythonpath: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(pythonpath), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(args)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tempfile.gettempdir())
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1][:200]}
    return json.loads(lines[-1])


@contextlib.contextmanager
def checkout(rev: str):
    """A temporary detached worktree of ``rev`` (the previous version's code), removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="flexibench-baseline-"))
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(folder), rev], check=True, capture_output=True
    )
    try:
        yield folder
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--cards", default=",".join(CARDS), help="comma-separated names; 'median' = median level-1")
    parser.add_argument("--baseline", default=None, help="git revision of the previous version (omit to skip)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per configuration and round")
    parser.add_argument("--rounds", type=int, default=3, help="round-robin repeats; the median round is reported")
    parser.add_argument("--no-compile", action="store_true", help="skip the compiled configuration (slow to build)")
    parser.add_argument("--out", default=None, help="write every measurement as JSON here")
    args = parser.parse_args()
    if args.worker:
        kind, *rest = json.loads(args.worker)
        fn = {"flexibert": worker_flexibert, "hf": worker_hf, "gemm": worker_gemm}[kind]
        print(json.dumps(fn(*rest)), flush=True)
        return

    from flexibench.core import ModelCard

    names = args.cards.split(",")
    configs = [c for c in CONFIGS if not (args.no_compile and c[4])]
    if not args.baseline:
        configs = [c for c in configs if c[5] != "previous"]
    results: dict = {"command": " ".join(sys.argv), "cards": {}, "gemm": run_worker(["gemm", 2048, 256, 20], ROOT)}
    ceiling = results["gemm"]["bf16"] * 1e9
    print(
        f"GEMM 2048x256x1024, one thread: bf16 {results['gemm']['bf16']:.0f} GFLOP/s, "
        f"fp32 {results['gemm']['fp32']:.0f} GFLOP/s",
        flush=True,
    )
    with checkout(args.baseline) if args.baseline else contextlib.nullcontext(None) as previous:
        for name in names:
            text = median_card() if name == "median" else ModelCard.named(name).to_json()
            card = ModelCard.parse(text)
            jobs = [
                (
                    label,
                    ["flexibert", text, precision, batch, seq_len, compiled, args.steps],
                    previous if code == "previous" else ROOT,
                    batch,
                    seq_len,
                )
                for label, precision, batch, seq_len, compiled, code in configs
            ] + [
                (label, ["hf", text, precision, batch, seq_len, args.steps], ROOT, batch, seq_len)
                for label, precision, batch, seq_len in HF_CONFIGS
            ]
            rounds: dict[str, list[dict]] = {label: [] for label, *_ in jobs}
            for _ in range(args.rounds):  # round-robin, so drifting load touches every configuration alike
                for label, worker_args, path, _, _ in jobs:
                    rounds[label].append(run_worker(worker_args, path))
            rows = {}
            for label, _, _, batch, seq_len in jobs:
                ok = [r for r in rounds[label] if "s_per_step" in r]
                rows[label] = (
                    {
                        "s_per_step": statistics.median(r["s_per_step"] for r in ok),
                        "warmup_s": statistics.median(r["warmup_s"] for r in ok),
                        "rounds": len(ok),
                    }
                    if ok
                    else rounds[label][-1]
                )
                rows[label].update(batch=batch, seq_len=seq_len, flops=step_flops(card, batch, seq_len))
            reference = rows.get(configs[0][0], {})
            for label, row in rows.items():
                if "s_per_step" in row:
                    row["tokens_per_s"] = row["batch"] * row["seq_len"] / row["s_per_step"]
                    row["ceiling_share"] = row["flops"] / row["s_per_step"] / ceiling
                if "tokens_per_s" in row and "s_per_step" in reference:
                    row["ratio"] = row["tokens_per_s"] / (
                        reference["batch"] * reference["seq_len"] / reference["s_per_step"]
                    )
                shown = (
                    f"{row['tokens_per_s']:8.0f} tok/s  x{row.get('ratio', float('nan')):.2f}  "
                    f"{100 * row['ceiling_share']:4.1f}% of bf16 GEMM"
                    if "tokens_per_s" in row
                    else row["error"]
                )
                print(f"{name:15s} {label:26s} {shown}", flush=True)
            results["cards"][name] = {"card": text, "short": card.short(), "rows": rows}
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
