"""GED bounds vs the exact MILP on random level-1 pairs (networkx checks: bench_ged_networkx.py).

Usage (one core, niced):
    OMP_NUM_THREADS=1 nice -n 19 python benchmarks/bench_ged.py bound --pairs 182 --seed 1 --out ged_bound.jsonl
    OMP_NUM_THREADS=1 nice -n 19 python benchmarks/bench_ged.py certify ged_bound.jsonl --out ged_cert.jsonl
    python benchmarks/bench_ged.py summary ged_bound.jsonl ged_cert.jsonl

``bound``: random level-1 pairs (``DesignSpace.sample``), exact MILP vs the closed-form
lower bound of the all-pairs table. ``certify``: for the pairs of a ``bound`` file (their
exact values are reused), the alignment upper bound of :mod:`flexibench.library.bounds`
with and without its swap descent; a pair is certified when the upper bound equals the
lower bound. Times are CPU seconds of this process.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter

import numpy as np

from flexibench.core import DesignSpace, ModelCard
from flexibench.library.bounds import alignment_upper_bound_x10
from flexibench.library.ged import edit_path_cost_x10, ged_lower_bound_x10, ged_x10


def bound_record(a: ModelCard, b: ModelCard) -> dict:
    t0 = time.process_time()
    exact = ged_x10(a, b)
    t1 = time.process_time()
    bound = ged_lower_bound_x10(a, b)
    t2 = time.process_time()
    return {
        "a": a.to_json(),
        "b": b.to_json(),
        "exact_x10": exact,
        "bound_x10": bound,
        "exact_s": t1 - t0,
        "bound_s": t2 - t1,
    }


def certify_record(row: dict) -> dict:
    a, b = ModelCard.from_json(row["a"]), ModelCard.from_json(row["b"])
    t0 = time.process_time()
    plain, _ = alignment_upper_bound_x10(a, b, descent=False)
    t1 = time.process_time()
    upper, mapping = alignment_upper_bound_x10(a, b)
    t2 = time.process_time()
    if edit_path_cost_x10(a, b, mapping) != upper:
        raise AssertionError(f"upper bound mapping does not re-price to {upper}")
    return {
        **row,
        "alignment_x10": plain,
        "upper_x10": upper,
        "alignment_s": t1 - t0,
        "upper_s": t2 - t1,
        "certified": upper == row["bound_x10"],
    }


def _line(values: np.ndarray) -> str:
    return f"mean {values.mean():.2f}, median {np.median(values):.2f}, max {values.max():.2f}"


def summarise(rows: list[dict]) -> None:
    if not rows:
        return
    ex = np.array([r["exact_x10"] for r in rows])
    lb = np.array([r["bound_x10"] for r in rows])
    gap = ex - lb
    print(f"pairs {len(rows)}: bound <= exact in {(gap >= 0).sum()}, equal in {(gap == 0).sum()}")
    print(f"gap exact - bound (x10): {_line(gap)}; relative mean {np.mean(gap / np.maximum(ex, 1)):.3%}")
    print(f"exact mean {ex.mean() / 10:.1f} GED; MILP CPU s/pair: {_line(np.array([r['exact_s'] for r in rows]))}")
    if "upper_x10" not in rows[0]:
        return
    ub = np.array([r["upper_x10"] for r in rows])
    plain = np.array([r["alignment_x10"] for r in rows])
    cert = np.array([r["certified"] for r in rows])
    lo, hi = _wilson(int(cert.sum()), len(rows))
    print(
        f"certified exact (upper == lower bound): {cert.sum()} / {len(rows)} = {cert.mean():.1%} "
        f"(95% Wilson interval {lo:.1%}-{hi:.1%})"
    )
    print(f"upper == exact: {(ub == ex).sum()} with descent, {(plain == ex).sum()} alignment only")
    print(f"upper - exact (x10) with descent: {sorted(Counter((ub - ex).tolist()).items())}")
    print(f"exact - lower (x10): {sorted(Counter(gap.tolist()).items())}")
    for key in ("alignment_s", "upper_s"):
        print(f"{key} CPU per pair: {_line(np.array([r[key] for r in rows]))}")


def _wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["bound", "certify", "summary"])
    parser.add_argument("files", nargs="*")
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if args.mode == "summary":
        for name in args.files:
            summarise([json.loads(line) for line in open(name)])
        return
    with open(args.out, "w") as out:
        if args.mode == "bound":
            space, rng = DesignSpace.default(), random.Random(args.seed)
            for _ in range(args.pairs):
                a, b = space.sample(rng, 1), space.sample(rng, 1)
                out.write(json.dumps(bound_record(a, b)) + "\n")
                out.flush()
        else:
            for name in args.files:
                for line in open(name):
                    out.write(json.dumps(certify_record(json.loads(line))) + "\n")
                    out.flush()


if __name__ == "__main__":
    main()
