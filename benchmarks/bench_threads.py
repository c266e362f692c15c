"""Wall seconds per pretraining step with 1 and 2 torch threads: is one run on both cores faster than two runs?

A long-fidelity card must finish inside one session (a machine's training states do not outlive it),
so the sweep's choice is between two runs at a time on one thread each and one run on two threads.
This times the harness's own step (forward and loss under the precision, backward, clipping, AdamW;
batch 32 x 128, the `small` recipe's shape; ``--precision fp32`` on a CPU without native bfloat16)
on an otherwise idle machine (pause any sweep first), each configuration in its own subprocess, and
reports the speed-up of two threads over one: two runs at a time win unless it is near 2. It ends
with the one-thread GEMM rate in bf16 and fp32 (``bench_harness.worker_gemm``), which says whether
this CPU has native bfloat16 (AMX/AVX-512: bf16 several times fp32; AVX2 only: bf16 emulated, far below).

    python benchmarks/bench_threads.py --out benchmarks/results/threads.json [--precision fp32]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from flexibench.models.hardware import cpu_model

HERE = Path(__file__).resolve().parent
CARDS = ("bert-mini", "convbert-mini", "fnet-mini", "bert-tiny")


def worker(card: str, threads: int, steps: int, precision: str) -> dict:
    """Median wall seconds per step of the harness's step on ``card`` with ``threads`` torch threads."""
    import torch
    from bench_harness import VOCAB, _batches  # beside this script: the same masked batches

    from flexibench.models import FlexiBERTForMaskedLM
    from flexibench.train import pretrain as harness

    torch.set_num_threads(threads)
    model = FlexiBERTForMaskedLM.from_card(card, VOCAB, seed=0, dropout=0.0, max_len=512).train()
    optimizer = harness.adamw(model, 1e-3, 0.01, (0.9, 0.98), 1e-6)
    scheduler = harness.linear_schedule(optimizer, 30, 10_000, decay=False)
    context = harness.forward_precision(torch.device("cpu"), precision)
    times = []
    for i, (inputs, labels) in enumerate(_batches(32, 128, steps + 3)):
        t0 = time.perf_counter()
        with context:
            loss = model(inputs, labels=labels).loss
        harness.optimizer_step(model, loss, optimizer, scheduler, 1.0)
        if i >= 3:  # warm-up steps are not timed
            times.append(time.perf_counter() - t0)
    return {"wall_s_per_step": statistics.median(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--cards", default=",".join(CARDS))
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--precision", choices=["bf16", "fp32"], default="bf16", help="fp32 where bf16 is emulated")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(*json.loads(args.worker))))
        return
    rows = []
    for card in args.cards.split(","):
        row = {"card": card}
        for threads in (1, 2):
            env = {**os.environ, "PYTHONPATH": f"{HERE}:{HERE.parent}", "OMP_NUM_THREADS": str(threads)}
            cmd = [sys.executable, __file__, "--worker", json.dumps([card, threads, args.steps, args.precision])]
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tempfile.gettempdir(), check=True)
            row[f"{threads}t"] = json.loads(done.stdout.splitlines()[-1])["wall_s_per_step"]
        row["speedup"] = row["1t"] / row["2t"]
        rows.append(row)
        print(
            f"{card:14s} 1 thread {row['1t'] * 1e3:6.0f} ms  2 threads {row['2t'] * 1e3:6.0f} ms  "
            f"speed-up {row['speedup']:.2f}x",
            flush=True,
        )
    sys.path.insert(0, str(HERE))
    from bench_harness import worker_gemm  # the harness benchmark's ceiling: is bf16 native on this CPU?

    gemm = worker_gemm(2048, 256, 10)
    print(f"GEMM 2048 x 256 x 1024, one thread: bf16 {gemm['bf16']:.1f} GFLOP/s, fp32 {gemm['fp32']:.1f} GFLOP/s")
    if args.out:
        machine = {"cpu": cpu_model(), "precision": args.precision, "steps": args.steps, "gemm_gflops": gemm}
        args.out.write_text(json.dumps({"machine": machine, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
