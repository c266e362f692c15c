"""``Benchmark.query_many`` over every level-1 card against the per-card ``query`` loop, same process.

Run: ``python benchmarks/bench_query_many.py [--table FILE] [--repeats 20]`` (default: the
packaged table). After ``load``, the first batch at a fidelity builds its whole-table arrays
once ("first batch"); later batches are numpy indexing. The loop reference asks
``bench.query(card)`` for the same cards, first cold (each unmeasured card answered for the
first time) then warm (every answer cached). Medians over ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

import flexibench


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default=None)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    start = time.perf_counter()
    bench = flexibench.load(args.table)
    load_s = time.perf_counter() - start
    space = bench.space
    level1 = np.flatnonzero(bench._arch("level") == 1)
    cards = [bench._card_at_row(int(i)) for i in level1]
    start = time.perf_counter()
    first = bench.query_many(level1)
    first_s = time.perf_counter() - start
    rows_s = timed(lambda: bench.query_many(level1), args.repeats)
    cards_s = timed(lambda: bench.query_many(cards), args.repeats)
    copies = [flexibench.ModelCard.from_json(c.to_json()) for c in cards]  # equal cards, other objects
    copies_s = timed(lambda: bench.query_many(copies), args.repeats)
    frame_s = timed(lambda: bench.query_many(level1, frame=True), args.repeats)
    budget = bench.budgets()[0][0] if bench.budgets()[0] else None
    budget_s = timed(lambda: bench.query_many(level1, budget=budget), args.repeats) if budget else []
    start = time.perf_counter()
    loop = np.array([bench.query(c).score for c in cards])
    cold_loop_s = time.perf_counter() - start
    warm_loop_s = timed(lambda: [bench.query(c).score for c in cards], max(3, args.repeats // 4))
    assert np.array_equal(loop, first["score"], equal_nan=True), "query_many disagrees with the loop"
    figures = {
        "table": str(bench.path),
        "cards": len(cards),
        "level": 1,
        "space_count": space.count(1),
        "load_s": load_s,
        "first_batch_s": first_s,
        "rows_median_s": statistics.median(rows_s),
        "cards_median_s": statistics.median(cards_s),
        "copies_median_s": statistics.median(copies_s),
        "frame_median_s": statistics.median(frame_s),
        "budget": budget,
        "budget_median_s": statistics.median(budget_s) if budget_s else None,
        "loop_cold_s": cold_loop_s,
        "loop_warm_median_s": statistics.median(warm_loop_s),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    ms = 1e3
    print(f"{figures['cards']} level-1 cards of {figures['table']} (load {load_s * ms:.0f} ms)")
    print("| what | median |")
    print("|---|---:|")
    print(f"| `query_many(rows)`, first batch (builds the arrays) | {first_s * ms:.2f} ms |")
    print(f"| `query_many(rows)` | {figures['rows_median_s'] * ms:.2f} ms |")
    print(f"| `query_many(cards)`, ModelCards of `bench.cards()` | {figures['cards_median_s'] * ms:.2f} ms |")
    print(f"| `query_many(cards)`, equal ModelCards built elsewhere | {figures['copies_median_s'] * ms:.2f} ms |")
    print(f"| `query_many(rows, frame=True)` | {figures['frame_median_s'] * ms:.2f} ms |")
    if budget:
        print(f"| `query_many(rows, budget={budget})` | {figures['budget_median_s'] * ms:.2f} ms |")
    print(f"| loop `[query(c) for c in cards]`, cold | {cold_loop_s * ms:.0f} ms |")
    print(f"| loop, warm (every answer cached) | {figures['loop_warm_median_s'] * ms:.1f} ms |")
    warm, cold = (figures["loop_warm_median_s"], cold_loop_s)
    print(f"query_many(cards) vs the loop: {warm / figures['cards_median_s']:.1f}x (warm), ", end="")
    print(f"{cold / figures['cards_median_s']:.0f}x (cold)")


if __name__ == "__main__":
    main()
