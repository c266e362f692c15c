"""Exact GED (our MILP) checked by networkx on random pairs, with CPU-time budgets.

Usage (one core, niced; output files are appended to, so an interrupted run resumes):
    OMP_NUM_THREADS=1 nice -n 19 python benchmarks/bench_ged_networkx.py pairs \
        --pairs 300 --min-differing 60 --cpu 30 --path-cpu 5 --out ged_nx_pairs.jsonl [--limit N]
    OMP_NUM_THREADS=1 nice -n 19 python benchmarks/bench_ged_networkx.py larger \
        --pairs 20 --cpu 60 --out ged_nx_larger.jsonl
    python benchmarks/bench_ged_networkx.py summary ged_nx_pairs.jsonl ged_nx_larger.jsonl

``pairs``: random two-layer level-2 cards (the two layers may differ), drawn as in the
original check, at least ``--min-differing`` pairs differing in head count or FF depth,
processed in a seeded random order (so ``--limit N`` is a uniform part of the full run).
``--shard I/N`` runs every N-th pair (one process per core, each with its own ``--out``;
files given after ``pairs`` are read as already done), and ``summary --merge`` combines shards.
For each pair: our exact MILP value and optimal mapping (CPU seconds), the mapping re-priced
independently, then :func:`flexibench.library.reference.networkx_check`: networkx proves
that no edit path is cheaper (``graph_edit_distance`` with ``upper_bound`` = ours - 0.05
returns None) and finds a path of exactly our cost (first path within ours + 0.05); each
search gets ``--cpu`` (proof) or ``--path-cpu`` (path) CPU seconds; a pair counts as
proved optimal when networkx proves that nothing is cheaper and our mapping re-prices to
our value, and as certified by networkx alone when networkx also finds the path.
``same``: ``--pairs`` further random two-layer pairs of equal shape (a separate stratum,
which networkx settles at once; the ``pairs`` sample is mostly of differing shape).
``larger``: random four-layer level-1 pairs; our value vs
the best value networkx's anytime search (``optimize_graph_edit_distance``) reaches within
``--cpu`` CPU seconds. All times are CPU seconds of this process (``time.process_time``),
which stay meaningful on a machine shared with other jobs.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np

from flexibench.core import DesignSpace, ModelCard, card_graph
from flexibench.library.ged import edit_path_cost_x10, ged_exact_mapping, ged_lower_bound_x10
from flexibench.library.reference import networkx_best_within, networkx_check


def shape(card: ModelCard) -> tuple:
    """Per layer (heads, FF depth): pairs of equal shape have isomorphic unlabelled graphs."""
    return tuple((card.n[j], len(card.f[j])) for j in range(card.l))


def two_layer_cards(rng: random.Random, size: int) -> list[ModelCard]:
    """``size`` random two-layer level-2 cards (with repeats)."""
    space = DesignSpace.default()
    n_two = len(space.layer_choices(2)) ** 2  # two-layer cards come first in level-2 index order
    return [space.card_at(2, rng.randrange(n_two)) for _ in range(size)]


def two_layer_pairs(count: int, seed: int, min_differing: int) -> list[tuple[ModelCard, ModelCard]]:
    """Random two-layer level-2 pairs, at least ``min_differing`` of differing shape, in seeded random order."""
    rng = random.Random(seed)
    pool = two_layer_cards(rng, 20 * count)
    same: list[tuple[ModelCard, ModelCard]] = []
    diff: list[tuple[ModelCard, ModelCard]] = []
    while len(same) + len(diff) < count:
        a, b = rng.choice(pool), rng.choice(pool)
        if shape(a) == shape(b):
            if len(same) < count - min_differing:
                same.append((a, b))
        elif len(diff) < max(min_differing, count - len(same)):
            diff.append((a, b))
    pairs = same + diff
    random.Random(seed + 1).shuffle(pairs)
    return pairs


def same_shape_pairs(count: int, seed: int) -> list[tuple[ModelCard, ModelCard]]:
    """Random distinct two-layer level-2 pairs of equal shape (the stratum networkx settles at once)."""
    rng = random.Random(seed + 1000)  # a stream apart from ``two_layer_pairs``
    by_shape: dict[tuple, list[ModelCard]] = {}
    for card in two_layer_cards(rng, 50 * count):
        by_shape.setdefault(shape(card), []).append(card)
    shapes = [k for k, cards in by_shape.items() if len(set(cards)) > 1]
    pairs: list[tuple[ModelCard, ModelCard]] = []
    while len(pairs) < count:
        a, b = rng.sample(by_shape[rng.choice(shapes)], 2)
        if a != b:
            pairs.append((a, b))
    return pairs


def four_layer_pairs(count: int, seed: int) -> list[tuple[ModelCard, ModelCard]]:
    """Random pairs of four-layer level-1 cards (up to 46 nodes each)."""
    space, rng = DesignSpace.default(), random.Random(seed)
    pairs: list[tuple[ModelCard, ModelCard]] = []
    while len(pairs) < count:
        a, b = space.sample(rng, 1), space.sample(rng, 1)
        if a.l == 4 and b.l == 4 and a != b:
            pairs.append((a, b))
    return pairs


def ours(a: ModelCard, b: ModelCard) -> tuple[int, dict[int, int], float]:
    """Our exact value x10, the optimal mapping and the MILP's CPU seconds."""
    t0 = time.process_time()
    value, mapping = ged_exact_mapping(a, b)
    return value, mapping, time.process_time() - t0


def check_two_layer_pair(a: ModelCard, b: ModelCard, cpu_seconds: float, path_cpu_seconds: float) -> dict:
    """One record of the ``pairs`` mode (also used by the slow test)."""
    value, mapping, ours_s = ours(a, b)
    repriced = edit_path_cost_x10(a, b, mapping)
    check = networkx_check(a, b, value, cpu_seconds, mapping=mapping, path_cpu_seconds=path_cpu_seconds)
    return {
        "a": a.to_json(),
        "b": b.to_json(),
        "same_shape": shape(a) == shape(b),
        "nodes": [len(card_graph(a).labels), len(card_graph(b).labels)],
        "ours_x10": value,
        "lower_bound_x10": ged_lower_bound_x10(a, b),
        "mapping_repriced_x10": repriced,
        "ours_cpu_s": ours_s,
        "nx_none_cheaper": check.none_cheaper,
        "nx_cheaper_x10": check.cheaper_x10,
        "nx_path_x10": check.path_x10,
        "nx_path_done": check.path_done,
        "nx_proof_cpu_s": check.proof_cpu_s,
        "nx_path_cpu_s": check.path_cpu_s,
        "certified": check.certified,
        "optimal_proved": check.none_cheaper is True and repriced == value,
        "contradicted": check.contradicted,
        "cpu_budget_s": cpu_seconds,
        "path_cpu_budget_s": path_cpu_seconds,
    }


def check_larger_pair(a: ModelCard, b: ModelCard, cpu_seconds: float) -> dict:
    """One record of the ``larger`` mode: ours vs networkx's best within the budget."""
    value, mapping, ours_s = ours(a, b)
    t0 = time.process_time()
    best, finished = networkx_best_within(a, b, cpu_seconds)
    return {
        "a": a.to_json(),
        "b": b.to_json(),
        "nodes": [len(card_graph(a).labels), len(card_graph(b).labels)],
        "ours_x10": value,
        "lower_bound_x10": ged_lower_bound_x10(a, b),
        "mapping_repriced_x10": edit_path_cost_x10(a, b, mapping),
        "ours_cpu_s": ours_s,
        "nx_best_x10": None if best is None else round(best * 10),
        "nx_finished": finished,
        "nx_cpu_s": time.process_time() - t0,
        "cpu_budget_s": cpu_seconds,
    }


def run(mode: str, args: argparse.Namespace) -> None:
    out = Path(args.out)
    done = set()
    for earlier in [out, *map(Path, args.files)]:  # this run's file and any files of other shards
        if earlier.exists():
            done |= {(r["a"], r["b"]) for r in map(json.loads, earlier.read_text().splitlines())}
    if mode == "pairs":
        pairs = two_layer_pairs(args.pairs, args.seed, args.min_differing)
    elif mode == "same":
        pairs = same_shape_pairs(args.pairs, args.seed)
    else:
        pairs = four_layer_pairs(args.pairs, args.seed)
    if args.limit is not None:
        pairs = pairs[: args.limit]
    shard, shards = (int(x) for x in args.shard.split("/"))
    pairs = pairs[shard::shards]
    with out.open("a") as handle:
        for a, b in pairs:
            if (a.to_json(), b.to_json()) in done:
                continue
            if mode in ("pairs", "same"):
                record = check_two_layer_pair(a, b, args.cpu, args.path_cpu)
            else:
                record = check_larger_pair(a, b, args.cpu)
            handle.write(json.dumps(record) + "\n")
            handle.flush()


def _stats(values: list[float]) -> str:
    v = np.asarray(values, dtype=float)
    if not len(v):
        return "-"
    return f"median {np.median(v):.3g}, mean {v.mean():.3g}, max {v.max():.3g} (n={len(v)})"


def summarise(rows: list[dict]) -> None:
    if not rows:
        return
    if "nx_best_x10" in rows[0]:
        not_above = sum(r["nx_best_x10"] is None or r["ours_x10"] <= r["nx_best_x10"] for r in rows)
        lower = sum(r["nx_best_x10"] is not None and r["ours_x10"] < r["nx_best_x10"] for r in rows)
        print(f"four-layer pairs {len(rows)}, networkx budget {rows[0]['cpu_budget_s']} CPU s")
        print(
            f"  ours <= networkx best: {not_above}; strictly lower: {lower}; networkx finished: "
            f"{sum(r['nx_finished'] for r in rows)}; no networkx path: {sum(r['nx_best_x10'] is None for r in rows)}"
        )
        gap = [r["nx_best_x10"] - r["ours_x10"] for r in rows if r["nx_best_x10"] is not None]
        print(f"  networkx best - ours (x10): {_stats(gap)}")
        print(f"  ours CPU s: {_stats([r['ours_cpu_s'] for r in rows])}")
        print(f"  mapping re-priced == ours: {sum(r['mapping_repriced_x10'] == r['ours_x10'] for r in rows)}")
        return
    for label, part in (
        ("all", rows),
        ("same shape", [r for r in rows if r["same_shape"]]),
        ("differing shape", [r for r in rows if not r["same_shape"]]),
    ):
        if not part:
            continue
        cert = [r for r in part if r["certified"]]
        proved = [r for r in part if r["optimal_proved"]]
        print(
            f"{label}: {len(part)} pairs, networkx budget {part[0]['cpu_budget_s']} CPU s (proof) + "
            f"{part[0]['path_cpu_budget_s']} CPU s (path)"
        )
        print(
            f"  networkx proved no cheaper path: {len(proved)}; also found a path of our cost: {len(cert)}; "
            f"contradicted: {sum(r['contradicted'] for r in part)}; "
            f"proof budget ran out: {sum(r['nx_none_cheaper'] is None for r in part)}"
        )
        print(
            "  gap ours - lower bound (x10): proved "
            f"{_stats([r['ours_x10'] - r['lower_bound_x10'] for r in proved])}; not proved "
            f"{_stats([r['ours_x10'] - r['lower_bound_x10'] for r in part if not r['optimal_proved']])}"
        )
        print(f"  ours CPU s: {_stats([r['ours_cpu_s'] for r in part])}")
        print(f"  networkx proof CPU s where proved: {_stats([r['nx_proof_cpu_s'] for r in proved])}")
        print(f"  networkx path CPU s where found: {_stats([r['nx_path_cpu_s'] for r in cert])}")
        print(
            "  ratio networkx proof / ours where proved: "
            f"{_stats([r['nx_proof_cpu_s'] / r['ours_cpu_s'] for r in proved])}"
        )
        print(f"  mapping re-priced == ours: {sum(r['mapping_repriced_x10'] == r['ours_x10'] for r in part)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["pairs", "same", "larger", "summary"])
    parser.add_argument("files", nargs="*")
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--min-differing", type=int, default=60)
    parser.add_argument("--cpu", type=float, default=30.0, help="CPU seconds per networkx search")
    parser.add_argument("--path-cpu", type=float, default=5.0, help="CPU seconds for networkx's path search")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="only the first N pairs of the seeded order")
    parser.add_argument("--out", default="ged_nx.jsonl")
    parser.add_argument(
        "--shard", default="0/1", help="I/N: run every N-th pair from the I-th (one process per core; default 0/1)"
    )
    parser.add_argument("--merge", action="store_true", help="summary: one summary over all files (shards of a run)")
    args = parser.parse_args()
    if args.mode == "summary":
        groups = [args.files] if args.merge else [[name] for name in args.files]
        for names in groups:
            summarise([json.loads(line) for name in names for line in open(name)])
    else:
        run(args.mode, args)


if __name__ == "__main__":
    main()
