"""``Benchmark.query_many`` over every level-1 card against the per-card ``query`` loop, same process.

Run: ``python benchmarks/bench_query_many.py [--table FILE] [--repeats 20]`` (default: the
packaged table). After ``load``, the first batch at a fidelity builds its whole-table arrays
once ("first batch"); later batches are numpy indexing. The loop reference asks
``bench.query(card)`` for the same cards, first cold (each unmeasured card answered for the
first time) then warm (every answer cached). Medians over ``--repeats`` runs, of wall time and,
because the machine is shared, of process CPU time too (``*_cpu_*``: the time this process
computed, not the time others held the core).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

import flexibench

CPU: dict[int, list[float]] = {}  # id(wall list) -> the CPU times of the same calls


def timed(fn, repeats: int) -> list[float]:
    """Wall times of ``repeats`` calls; their CPU times are kept in :data:`CPU` (see :func:`cpu_median`)."""
    out, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        out.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    CPU[id(out)] = cpu
    return out


def cpu_median(wall: list[float]) -> float:
    return statistics.median(CPU[id(wall)])


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
    start = time.process_time()
    first_copies = bench.query_many(copies)  # the first call with them: nothing about them is cached
    first_copies_cpu_s = time.process_time() - start
    copies_s = timed(lambda: bench.query_many(copies), args.repeats)
    frame_s = timed(lambda: bench.query_many(level1, frame=True), args.repeats)
    budget = bench.budgets()[0][0] if bench.budgets()[0] else None
    budget_s = timed(lambda: bench.query_many(level1, budget=budget), args.repeats) if budget else []
    start = time.perf_counter()
    loop = np.array([bench.query(c).score for c in cards])
    cold_loop_s = time.perf_counter() - start
    warm_loop_s = timed(lambda: [bench.query(c).score for c in cards], max(3, args.repeats // 4))
    loop_copies_s = timed(lambda: [bench.query(c) for c in copies], max(3, args.repeats // 4))
    assert np.array_equal(loop, first["score"], equal_nan=True), "query_many disagrees with the loop"
    assert np.array_equal(first_copies["row"], first["row"] * 0 + level1), "copies found other rows"
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
        "cards_cpu_median_s": cpu_median(cards_s),
        "copies_first_cpu_s": first_copies_cpu_s,
        "copies_cpu_median_s": cpu_median(copies_s),
        "loop_copies_warm_cpu_median_s": cpu_median(loop_copies_s),
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
    print(f"| CPU: `query_many(cards)`, the table's ModelCards | {figures['cards_cpu_median_s'] * ms:.2f} ms |")
    print(f"| CPU: `query_many(cards)`, ModelCards built elsewhere | {figures['copies_cpu_median_s'] * ms:.2f} ms |")
    print(f"| CPU: the same, first call with them | {first_copies_cpu_s * ms:.2f} ms |")
    print(f"| CPU: loop `[query(c) for c in copies]`, warm | {figures['loop_copies_warm_cpu_median_s'] * ms:.2f} ms |")
    warm, cold = (figures["loop_warm_median_s"], cold_loop_s)
    print(f"query_many(cards) vs the loop: {warm / figures['cards_median_s']:.1f}x (warm), ", end="")
    print(f"{cold / figures['cards_median_s']:.0f}x (cold)")


if __name__ == "__main__":
    main()
