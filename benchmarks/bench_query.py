"""How fast is ``flexibench.load()`` and ``Benchmark.query``? Reference: a plain dict lookup, same run.

Run: ``python benchmarks/bench_query.py`` (builds a full-size table first: every
level-1 card, 1,000 measured cards x 3 seeds) or ``--table FILE`` for an existing one.

The built table has real shapes and synthetic numbers (``flexibench.bench.testing``:
fixture embeddings, made-up scores): it measures speed only, and is written to a
temporary folder, never to ``data/``. Load and query are timed in fresh Python
processes so import costs count: "load" is ``flexibench.load(path)`` after
``import flexibench`` (it imports h5py and reads ``/meta``). Each query is timed on
its own with ``perf_counter_ns``; the reference is ``dict[card]`` on a dict of the
same results with the same cards, timed the same way.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path

PROBE = textwrap.dedent(
    """
    import json, sys, time
    t0 = time.perf_counter()
    import flexibench
    t1 = time.perf_counter()
    bench = flexibench.load(sys.argv[1])
    t2 = time.perf_counter()
    if sys.argv[2] == "load":
        print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1}))
        raise SystemExit
    import random
    fid = bench.default_fidelity
    t3 = time.perf_counter()
    measured = bench.cards(fid)
    t4 = time.perf_counter()
    rows = len(bench)
    everything = [bench._card_at_row(i) for i in range(rows)]
    unmeasured = [c for c in everything if c not in set(measured)]
    rng = random.Random(0)
    sample_m = rng.sample(measured, min(1000, len(measured)))
    sample_u = rng.sample(unmeasured, min(1000, len(unmeasured)))
    ns = time.perf_counter_ns

    def timed(fn, cards):
        out = []
        for card in cards:
            a = ns(); fn(card); out.append(ns() - a)
        return out

    cold_u = timed(bench.query, sample_u)  # first time each unmeasured card is asked: surrogate row lookup
    cards = sample_m + sample_u
    warm, ref = [], []
    table = {card: bench.query(card) for card in cards}
    for _ in range(5):
        rng.shuffle(cards)
        warm += timed(bench.query, cards)
        ref += timed(table.__getitem__, cards)
    measured_only = []
    for _ in range(5):
        measured_only += timed(bench.query, sample_m)
    names = timed(bench.query, ["bert-tiny"] * 1000)
    # level-2 cards have no row: the stored ensemble answers from inputs built on the spot
    outside = [bench.space.sample(rng, level=2) for _ in range(100)]
    outside_ns = timed(bench.query, outside)
    embed_ns = timed(bench.embedding, outside[:20]) if sys.argv[3] == "embed" else []
    print(json.dumps({
        "import_s": t1 - t0, "load_s": t2 - t1, "first_fidelity_read_s": t4 - t3, "rows": rows,
        "measured_cards": len(measured), "queries": len(warm),
        "cold_unmeasured_ns": cold_u, "warm_ns": warm, "dict_ns": ref, "warm_measured_ns": measured_only,
        "name_ns": names, "outside_ns": outside_ns, "embed_ns": embed_ns,
    }))
    """
)


def build_table(directory: Path, measured: int, seeds: int) -> Path:
    """Pack a full-size synthetic table (all level-1 cards) into ``directory``; returns its path."""
    from flexibench.bench.pack import pack
    from flexibench.bench.testing import FixtureLibrary, synthetic_record, write_shard
    from flexibench.core import DesignSpace

    cards = list(DesignSpace.default().enumerate(1))
    library = FixtureLibrary(cards, dim=16, k=10)
    picked = cards[:: max(1, len(cards) // measured)][:measured]
    shard = write_shard(directory / "shard.jsonl", (synthetic_record(c, s) for c in picked for s in range(seeds)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pack([shard], directory / "bench.h5", library=library)
    return directory / "bench.h5"


def probe(table: Path, what: str, embed: bool = False) -> dict:
    argv = [sys.executable, "-c", PROBE, str(table), what, "embed" if embed else "-"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default=None, help="existing table (default: build a synthetic full-size one)")
    parser.add_argument("--measured", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--loads", type=int, default=7, help="fresh processes for the load timing")
    parser.add_argument("--keep", default=None, help="folder to keep (and reuse) the built table in")
    parser.add_argument(
        "--embed",
        action="store_true",
        help="also time Transformer2vec embedding of the level-2 cards (what the query cost when the "
        "surrogate read embeddings; needs the level-1 graph library, built or cached)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        kept = Path(args.keep) / "bench.h5" if args.keep else None
        if args.table or (kept and kept.exists()):
            table = Path(args.table) if args.table else kept
        else:
            t = time.perf_counter()
            folder = Path(args.keep) if args.keep else Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            table = build_table(folder, args.measured, args.seeds)
            print(f"built {table.stat().st_size / 1e6:.1f} MB synthetic table in {time.perf_counter() - t:.0f} s")
        loads = [probe(table, "load") for _ in range(args.loads)]
        q = probe(table, "query", args.embed)
    load_s = statistics.median(x["load_s"] for x in loads)
    import_s = statistics.median(x["import_s"] for x in loads)

    def us(values: list[int], pct: float = 50) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))] / 1000

    print(f"table: {q['rows']} cards, {q['measured_cards']} measured; {q['queries']} timed queries")
    print("| what | median | p99 |")
    print("|---|---|---|")
    print(f"| `import flexibench` | {import_s * 1000:.0f} ms | |")
    print(f"| `flexibench.load(path)` (after import; {args.loads} fresh processes) | {load_s * 1000:.0f} ms | |")
    print(f"| first query at a fidelity (reads its columns) | {q['first_fidelity_read_s'] * 1000:.0f} ms | |")
    print(
        f"| `query(card)`, first time for an unmeasured card | {us(q['cold_unmeasured_ns']):.1f} us "
        f"| {us(q['cold_unmeasured_ns'], 99):.1f} us |"
    )
    print(
        f"| `query(card)`, measured cards | {us(q['warm_measured_ns']):.2f} us "
        f"| {us(q['warm_measured_ns'], 99):.2f} us |"
    )
    print(f"| `query(card)`, measured + unmeasured mix | {us(q['warm_ns']):.2f} us | {us(q['warm_ns'], 99):.2f} us |")
    print(f'| `query("bert-tiny")` (a name) | {us(q["name_ns"]):.2f} us | {us(q["name_ns"], 99):.2f} us |')
    print(f"| reference: `dict[card]`, same cards | {us(q['dict_ns']):.2f} us | {us(q['dict_ns'], 99):.2f} us |")
    out = q["outside_ns"]
    print(f"| `query(card)`, level-2 card (no row: surrogate answers) | {us(out):.0f} us | {us(out, 99):.0f} us |")
    if q["embed_ns"]:
        emb = q["embed_ns"]
        print(f"| reference: Transformer2vec embedding of a level-2 card | {us(emb):.0f} us | {us(emb, 99):.0f} us |")


if __name__ == "__main__":
    main()
