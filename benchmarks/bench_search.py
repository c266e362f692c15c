"""ask() latency of every search algorithm on the 9,312-card level-1 pool after 100 observations.

Each optimizer runs its own ask/tell loop for 100 queries on the synthetic
objective (so surrogates are warm, as in a real search), then the next
``--asks`` calls of ``ask()`` are timed (wall and CPU seconds; each includes the
surrogate refit on the newest observation). Usage:

    nice -n 10 python benchmarks/bench_search.py [--asks 10] [--algos all] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

from flexibench.search import OPTIMIZERS, Observation, SyntheticObjective, make_optimizer


def bench(algo: str, objective: SyntheticObjective, warm: int, asks: int, seed: int = 0) -> dict:
    opt = make_optimizer(algo, seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(warm):
        card = opt.ask()
        opt.tell(card, Observation(objective.evaluate(card, rng).score, 1.0))
    wall, cpu = [], []
    for _ in range(asks):
        t0, c0 = time.perf_counter(), time.process_time()
        card = opt.ask()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        opt.tell(card, Observation(objective.evaluate(card, rng).score, 1.0))
    return {
        "algo": algo,
        "observations": warm,
        "pool": len(opt.encoding),
        "wall_median_s": float(np.median(wall)),
        "wall_max_s": float(np.max(wall)),
        "cpu_median_s": float(np.median(cpu)),
        "cpu_max_s": float(np.max(cpu)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algos", default="all", help="comma-separated names or 'all'")
    parser.add_argument("--warm", type=int, default=100, help="observations before timing")
    parser.add_argument("--asks", type=int, default=10, help="timed asks per algorithm")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    algos = list(OPTIMIZERS) if args.algos == "all" else args.algos.split(",")
    objective = SyntheticObjective(seed=0)
    results = []
    print(f"{'algorithm':24s} {'wall med':>9s} {'wall max':>9s} {'cpu med':>9s} {'cpu max':>9s}")
    for algo in algos:
        r = bench(algo, objective, args.warm, args.asks)
        results.append(r)
        keys = ("wall_median_s", "wall_max_s", "cpu_median_s", "cpu_max_s")
        print(f"{algo:24s} " + " ".join(f"{r[k]:9.3f}" for k in keys), flush=True)
    meta = {"threads": args.threads, "cpus": os.cpu_count(), "load_avg_1m": os.getloadavg()[0]}
    if args.out:
        with open(args.out, "w") as handle:
            json.dump({"meta": meta, "results": results}, handle, indent=1)
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
