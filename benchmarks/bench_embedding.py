"""Transformer2vec fit per dimension on the level-1 table, with the kneed choice.

Usage: nice -n 10 python benchmarks/bench_embedding.py --steps 1000 --out emb.json
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from flexibench.core import DesignSpace
from flexibench.library.embedding import DIMENSIONS, choose_dimension
from flexibench.library.library import load_or_build_ged_table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    table, path = load_or_build_ged_table(1)
    n = DesignSpace.default().count(1)
    knee, reports, _ = choose_dimension(table, n, DIMENSIONS, steps=args.steps)
    result = {
        "table": str(path),
        "steps": args.steps,
        "knee": knee,
        "per_dim": [r.__dict__ for r in reports],
        "seconds": time.perf_counter() - start,
    }
    print(json.dumps(result, indent=1))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(result, fh, indent=1)


if __name__ == "__main__":
    main()
