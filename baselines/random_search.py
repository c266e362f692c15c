"""Random search: uniform sampling of the pool without replacement (the reference every method must beat)."""

from __future__ import annotations

from flexibench.search.protocol import PoolOptimizer


class RandomSearch(PoolOptimizer):
    name = "rs"

    def propose(self) -> int:
        return self.random_available()
