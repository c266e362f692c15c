"""REINFORCE (Williams, 1992) over the card's design choices, as the NAS-Bench-101 baseline.

The policy is a product of independent categorical distributions: one for the
number of layers and, for every stack position, one each for operation+parameter,
hidden size, heads, feed-forward width and feed-forward depth. After each result
the logits of the choices that made the card move along
``(reward - baseline) / scale * grad log pi``; the baseline and scale are moving
averages of the reward and of its absolute deviation, which makes the step size
independent of the score's units. Cards already asked are re-drawn (up to
``max_draws`` times, then a random unasked card).
"""

from __future__ import annotations

import numpy as np

from flexibench.search.encodings import Encoding
from flexibench.search.protocol import Observation, PoolOptimizer
from flexibench.space import DesignSpace, ModelCard


class Reinforce(PoolOptimizer):
    name = "reinforce"

    def __init__(
        self,
        space: DesignSpace,
        encoding: Encoding,
        seed: int = 0,
        *,
        lr: float = 0.1,
        momentum: float = 0.9,
        max_draws: int = 100,
    ) -> None:
        super().__init__(space, encoding, seed)
        self.level = space.level_of(encoding.cards[0])
        self.stack = space.stack_size(self.level)
        self.depths = space.depths(self.level)
        slots = max(self.depths) // self.stack
        self.options = {
            "op": list(space.op_params),
            "h": list(space.hidden),
            "n": list(space.heads),
            "w": list(space.ff_widths),
            "d": list(space.ff_depths),
        }
        self.logits: dict[tuple[str, int], np.ndarray] = {("l", 0): np.zeros(len(self.depths))}
        for slot in range(slots):
            for key, values in self.options.items():
                self.logits[(key, slot)] = np.zeros(len(values))
        self.lr, self.momentum, self.max_draws = lr, momentum, max_draws
        self.baseline: float | None = None
        self.scale = 1.0

    def _draw(self) -> tuple[ModelCard, dict[tuple[str, int], int]]:
        actions = {("l", 0): self._sample(("l", 0))}
        depth = self.depths[actions[("l", 0)]]
        stacks = []
        for slot in range(depth // self.stack):
            for key in self.options:
                actions[(key, slot)] = self._sample((key, slot))
            op, p = self.options["op"][actions[("op", slot)]]
            width = self.options["w"][actions[("w", slot)]]
            ff = (width,) * self.options["d"][actions[("d", slot)]]
            stacks.append((op, self.options["h"][actions[("h", slot)]], self.options["n"][actions[("n", slot)]], ff, p))
        layers = [c for c in stacks for _ in range(self.stack)]
        card = ModelCard(
            len(layers),
            tuple(x[0] for x in layers),
            tuple(x[1] for x in layers),
            tuple(x[2] for x in layers),
            tuple(x[3] for x in layers),
            tuple(x[4] for x in layers),
        )
        return card, actions

    def _sample(self, key: tuple[str, int]) -> int:
        return int(self.rng.choice(len(self.logits[key]), p=_softmax(self.logits[key])))

    def _actions_of(self, card: ModelCard) -> dict[tuple[str, int], int]:
        actions = {("l", 0): self.depths.index(card.l)}
        for slot, j in enumerate(range(0, card.l, self.stack)):
            o, h, n, f, p = card.layer(j)
            actions[("op", slot)] = self.options["op"].index((o, p))
            actions[("h", slot)] = self.options["h"].index(h)
            actions[("n", slot)] = self.options["n"].index(n)
            actions[("w", slot)] = self.options["w"].index(f[0])
            actions[("d", slot)] = self.options["d"].index(len(f))
        return actions

    def propose(self) -> int:
        for _ in range(self.max_draws):
            card, _ = self._draw()
            if card in self.encoding:
                index = self.encoding.index_of(card)
                if self.available[index]:
                    return index
        return self.random_available()

    def observe(self, index: int, score: float, result: Observation) -> None:
        if self.baseline is None:
            self.baseline = score
            return
        advantage = (score - self.baseline) / max(self.scale, 1e-8)
        self.scale = self.momentum * self.scale + (1 - self.momentum) * abs(score - self.baseline)
        self.baseline = self.momentum * self.baseline + (1 - self.momentum) * score
        for key, action in self._actions_of(self.encoding.cards[index]).items():
            grad = -_softmax(self.logits[key])
            grad[action] += 1.0
            self.logits[key] += self.lr * advantage * grad


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()
