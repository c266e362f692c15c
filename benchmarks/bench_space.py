"""Enumerate the level-1 space and hash every graph; compare with networkx's WL hash.

Run: ``python benchmarks/bench_space.py``. The reference in the same run is
``networkx.weisfeiler_lehman_graph_hash`` over the same graphs (a general-purpose
isomorphism-invariant hash), so the ratio is machine-independent-ish.
"""

from __future__ import annotations

import time

import networkx as nx

from flexibench.core import DesignSpace, card_graph, card_hash


def main() -> None:
    space = DesignSpace.default()
    t0 = time.perf_counter()
    cards = list(space.enumerate(1))
    t1 = time.perf_counter()
    hashes = {card_hash(c) for c in cards}
    t2 = time.perf_counter()
    sample = cards[:: max(1, len(cards) // 1000)]
    t3 = time.perf_counter()
    for card in sample:
        nx.weisfeiler_lehman_graph_hash(card_graph(card).to_networkx(), node_attr="label", iterations=5)
    t4 = time.perf_counter()
    ours_per = (t2 - t1) / len(cards)
    nx_per = (t4 - t3) / len(sample)
    print(f"level-1 cards: {len(cards)}  distinct hashes: {len(hashes)}")
    print(f"enumerate: {t1 - t0:.3f} s   graph + SHA-256 hash of all: {t2 - t1:.2f} s ({ours_per * 1e6:.0f} us/card)")
    print(f"networkx WL hash (5 iterations) on {len(sample)} cards: {nx_per * 1e6:.0f} us/card")
    print(f"ours is {nx_per / ours_per:.1f}x faster")


if __name__ == "__main__":
    main()
