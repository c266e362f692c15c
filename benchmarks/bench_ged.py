"""GED checks and timings: exact MILP vs networkx, and the table's lower bound vs exact.

Usage:
    nice -n 10 python benchmarks/bench_ged.py networkx --pairs 300 --timeout 10 --out ged_nx.jsonl
    nice -n 10 python benchmarks/bench_ged.py bound --pairs 300 --out ged_bound.jsonl
    python benchmarks/bench_ged.py summary ged_nx.jsonl ged_bound.jsonl

``networkx``: random pairs of two-layer level-2 cards (layers differ), each solved by
``networkx.graph_edit_distance`` (with ``timeout``) and by our exact MILP, in 2 worker
processes; a pair that times out in networkx is recorded with networkx's best value.
``bound``: random level-1 pairs; exact MILP vs the closed-form table bound.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import time

import numpy as np

from flexibench.library.ged import ged_lower_bound_x10, ged_x10
from flexibench.library.reference import networkx_ged
from flexibench.space import DesignSpace, ModelCard, card_graph


def _shape(card: ModelCard) -> tuple:
    return tuple((card.n[j], len(card.f[j])) for j in range(card.l))


def _nx_job(args: tuple[dict, dict, float]) -> dict:
    a, b = ModelCard.from_dict(args[0]), ModelCard.from_dict(args[1])
    t0 = time.perf_counter()
    ours = ged_x10(a, b)
    t1 = time.perf_counter()
    theirs = networkx_ged(a, b, timeout=args[2])
    t2 = time.perf_counter()
    return {
        "a": a.to_json(),
        "b": b.to_json(),
        "same_shape": _shape(a) == _shape(b),
        "nodes": [len(card_graph(a).labels), len(card_graph(b).labels)],
        "ours_x10": ours,
        "networkx_x10": None if theirs is None else int(round(theirs * 10)),
        "networkx_timed_out": (t2 - t1) >= args[2] * 0.98,
        "ours_s": t1 - t0,
        "networkx_s": t2 - t1,
    }


def _bound_job(args: tuple[dict, dict]) -> dict:
    a, b = ModelCard.from_dict(args[0]), ModelCard.from_dict(args[1])
    t0 = time.perf_counter()
    exact = ged_x10(a, b)
    t1 = time.perf_counter()
    bound = ged_lower_bound_x10(a, b)
    t2 = time.perf_counter()
    return {
        "a": a.to_json(),
        "b": b.to_json(),
        "exact_x10": exact,
        "bound_x10": bound,
        "exact_s": t1 - t0,
        "bound_s": t2 - t1,
    }


def networkx_pairs(count: int, seed: int, min_differing: int) -> list[tuple[dict, dict]]:
    """Two-layer level-2 pairs; at least ``min_differing`` differ in heads or FF depth."""
    space = DesignSpace.default()
    rng = random.Random(seed)
    n_two = len(space.layer_choices(2)) ** 2  # two-layer cards come first in level-2 index order
    two = [space.card_at(2, rng.randrange(n_two)) for _ in range(20 * count)]
    same, diff = [], []
    while len(same) + len(diff) < count:
        a, b = rng.choice(two), rng.choice(two)
        if _shape(a) == _shape(b):
            if len(same) < count - min_differing:
                same.append((a.to_dict(), b.to_dict()))
        else:
            if len(diff) < max(min_differing, count - len(same)):
                diff.append((a.to_dict(), b.to_dict()))
    return same + diff


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["networkx", "bound", "summary"])
    parser.add_argument("files", nargs="*")
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--min-differing", type=int, default=60)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if args.mode == "summary":
        for name in args.files:
            summarise([json.loads(line) for line in open(name)])
        return
    if args.mode == "networkx":
        jobs = [(a, b, args.timeout) for a, b in networkx_pairs(args.pairs, args.seed, args.min_differing)]
        fn = _nx_job
    else:
        space, rng = DesignSpace.default(), random.Random(args.seed)
        jobs = [(space.sample(rng, 1).to_dict(), space.sample(rng, 1).to_dict()) for _ in range(args.pairs)]
        fn = _bound_job
    with open(args.out, "w") as out, mp.get_context("spawn").Pool(2) as pool:
        for record in pool.imap_unordered(fn, jobs):
            out.write(json.dumps(record) + "\n")
            out.flush()


def summarise(rows: list[dict]) -> None:
    if rows and "networkx_x10" in rows[0]:
        done = [r for r in rows if not r["networkx_timed_out"]]
        timed = [r for r in rows if r["networkx_timed_out"]]
        eq = sum(r["ours_x10"] == r["networkx_x10"] for r in done)
        print(f"pairs {len(rows)} (differing shape {sum(not r['same_shape'] for r in rows)})")
        print(
            f"networkx finished {len(done)}: equal {eq}, differing-shape finished "
            f"{sum(not r['same_shape'] for r in done)}"
        )
        print(
            f"networkx timed out {len(timed)}: ours <= networkx best in "
            f"{sum(r['networkx_x10'] is None or r['ours_x10'] <= r['networkx_x10'] for r in timed)}"
        )
        for key in ("ours_s", "networkx_s"):
            v = np.array([r[key] for r in rows])
            print(f"{key}: mean {v.mean():.3f} median {np.median(v):.3f} max {v.max():.2f}")
    else:
        gap = np.array([r["exact_x10"] - r["bound_x10"] for r in rows])
        ex = np.array([r["exact_x10"] for r in rows])
        print(f"pairs {len(rows)}: bound <= exact in {(gap >= 0).sum()}, equal in {(gap == 0).sum()}")
        print(
            f"gap x10: mean {gap.mean():.1f} median {np.median(gap):.0f} max {gap.max()}; "
            f"relative mean {np.mean(gap / np.maximum(ex, 1)):.3%}"
        )
        print(f"exact mean {ex.mean() / 10:.1f} GED; MILP s/pair mean {np.mean([r['exact_s'] for r in rows]):.3f}")


if __name__ == "__main__":
    main()
