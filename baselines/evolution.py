"""Regularized evolution with aging (Real et al., 2019).

A population of the ``population`` most recent evaluated cards; each step draws
``sample`` members at random, mutates the best of them in one design choice
(:meth:`DesignSpace.mutations`) and the child replaces the *oldest* member when
its result arrives (aging, not the worst). Mutations are taken at the pool's level
(a level-2 pool mutates single layers). Until the population is full, cards
are random. Children already asked are skipped; if every mutation of the parent
was asked, a random card is used instead.
"""

from __future__ import annotations

from collections import deque

from flexibench.search.encodings import Encoding
from flexibench.search.protocol import Observation, PoolOptimizer


class RegularizedEvolution(PoolOptimizer):
    name = "re"

    def __init__(self, encoding: Encoding, seed: int = 0, *, population: int = 20, sample: int = 5) -> None:
        super().__init__(encoding, seed)
        if not 1 <= sample <= population:
            raise ValueError(f"sample: {sample} is not allowed; allowed: 1 <= sample <= population ({population})")
        self.population_size, self.sample_size = population, sample
        self.population: deque[tuple[int, float]] = deque(maxlen=population)

    def propose(self) -> int:
        if len(self.population) < self.population_size:
            return self.random_available()
        members = [self.population[i] for i in self.rng.choice(len(self.population), self.sample_size, replace=False)]
        parent = self.encoding.cards[max(members, key=lambda m: m[1])[0]]
        children = [c for c in self.space.mutations(parent, self.level) if c in self.encoding]
        order = self.rng.permutation(len(children))
        for k in order:
            index = self.encoding.index_of(children[k])
            if self.available[index]:
                return index
        return self.random_available()

    def observe(self, index: int, score: float, result: Observation) -> None:
        self.population.append((index, score))  # deque(maxlen) drops the oldest: aging
