"""REINFORCE (Williams, 1992) over the card's design choices, as the NAS-Bench-101 baseline.

The policy is a product of independent categorical distributions: one for the
number of layers and, for every stack position, one each for operation+parameter,
hidden size, heads, feed-forward width and feed-forward depth. After each result
the logits of the choices that made the card move along
``(reward - baseline) / scale * grad log pi``; the baseline and scale are moving
averages of the reward and of its absolute deviation, which makes the step size
independent of the score's units. The choices are those of the pool's level: one
per stack of ``s`` layers at level 1, one per layer at level 2, and one width per
feed-forward layer at level 3. Cards already asked or outside the pool are re-drawn
(up to ``max_draws`` times); after that the card is drawn from the policy
restricted to the pool's unasked cards, which is the same distribution.
"""

from __future__ import annotations

import numpy as np

from flexibench.core import ModelCard
from flexibench.search.encodings import Encoding
from flexibench.search.protocol import Observation, PoolOptimizer


class Reinforce(PoolOptimizer):
    name = "reinforce"

    def __init__(
        self,
        encoding: Encoding,
        seed: int = 0,
        *,
        lr: float = 0.1,
        momentum: float = 0.9,
        max_draws: int = 100,
    ) -> None:
        super().__init__(encoding, seed)
        space = self.space
        self.stack = space.stack_size(self.level)
        self.depths = space.depths(self.level)
        slots = max(self.depths) // self.stack
        # feed-forward widths: one per stack up to level 2, one per feed-forward layer at level 3
        self.width_keys = ["w"] if self.level < 3 else [f"w{k}" for k in range(max(space.ff_depths))]
        self.options = {"op": list(space.op_params), "h": list(space.hidden), "n": list(space.heads)}
        self.options.update({key: list(space.ff_widths) for key in self.width_keys})
        self.options["d"] = list(space.ff_depths)
        self.logits: dict[tuple[str, int], np.ndarray] = {("l", 0): np.zeros(len(self.depths))}
        for slot in range(slots):
            for key, values in self.options.items():
                self.logits[(key, slot)] = np.zeros(len(values))
        self.lr, self.momentum, self.max_draws = lr, momentum, max_draws
        self.baseline: float | None = None
        self.scale = 1.0
        self._pool_actions: dict[tuple[str, int], np.ndarray] | None = None

    def _draw(self) -> tuple[ModelCard, dict[tuple[str, int], int]]:
        actions = {("l", 0): self._sample(("l", 0))}
        for slot in range(self.depths[actions[("l", 0)]] // self.stack):
            for key in self.options:
                actions[(key, slot)] = self._sample((key, slot))
        return self.card_of(actions), actions

    def card_of(self, actions: dict[tuple[str, int], int]) -> ModelCard:
        """The card a set of policy choices makes (inverse of :meth:`actions_of`)."""
        stacks = []
        for slot in range(self.depths[actions[("l", 0)]] // self.stack):
            op, p = self.options["op"][actions[("op", slot)]]
            ff_depth = self.options["d"][actions[("d", slot)]]
            keys = [self.width_keys[min(k, len(self.width_keys) - 1)] for k in range(ff_depth)]
            ff = tuple(self.options[key][actions[(key, slot)]] for key in keys)
            stacks.append((op, self.options["h"][actions[("h", slot)]], self.options["n"][actions[("n", slot)]], ff, p))
        layers = [c for c in stacks for _ in range(self.stack)]
        return ModelCard(
            len(layers),
            tuple(x[0] for x in layers),
            tuple(x[1] for x in layers),
            tuple(x[2] for x in layers),
            tuple(x[3] for x in layers),
            tuple(x[4] for x in layers),
        )

    def _sample(self, key: tuple[str, int]) -> int:
        return int(self.rng.choice(len(self.logits[key]), p=_softmax(self.logits[key])))

    def actions_of(self, card: ModelCard) -> dict[tuple[str, int], int]:
        """The policy choices that make ``card`` (one per stack of the pool's level)."""
        actions = {("l", 0): self.depths.index(card.l)}
        for slot, j in enumerate(range(0, card.l, self.stack)):
            o, h, n, f, p = card.layer(j)
            actions[("op", slot)] = self.options["op"].index((o, p))
            actions[("h", slot)] = self.options["h"].index(h)
            actions[("n", slot)] = self.options["n"].index(n)
            actions[("d", slot)] = self.options["d"].index(len(f))
            for k, key in enumerate(self.width_keys[: len(f)]):
                actions[(key, slot)] = self.options[key].index(f[k])
        return actions

    def _policy_over_pool(self) -> np.ndarray:
        """Log-probability of every pool card under the current policy (unused choices add nothing)."""
        if self._pool_actions is None:
            table = {key: np.full(len(self.encoding), -1, dtype=np.int64) for key in self.logits}
            for row, card in enumerate(self.encoding.cards):
                for key, action in self.actions_of(card).items():
                    table[key][row] = action
            self._pool_actions = table
        total = np.zeros(len(self.encoding))
        for key, actions in self._pool_actions.items():
            used = actions >= 0
            total[used] += _log_softmax(self.logits[key])[actions[used]]
        return total

    def propose(self) -> int:
        for _ in range(self.max_draws):
            card, _ = self._draw()
            if card in self.encoding:
                index = self.encoding.index_of(card)
                if self.available[index]:
                    return index
        # a pool much smaller than its level (or mostly asked): draw from the policy restricted to the pool
        free = np.flatnonzero(self.available)
        return int(free[self.rng.choice(len(free), p=_softmax(self._policy_over_pool()[free]))])

    def observe(self, index: int, score: float, result: Observation) -> None:
        if self.baseline is None:
            self.baseline = score
            return
        advantage = (score - self.baseline) / max(self.scale, 1e-8)
        self.scale = self.momentum * self.scale + (1 - self.momentum) * abs(score - self.baseline)
        self.baseline = self.momentum * self.baseline + (1 - self.momentum) * score
        for key, action in self.actions_of(self.encoding.cards[index]).items():
            grad = -_softmax(self.logits[key])
            grad[action] += 1.0
            self.logits[key] += self.lr * advantage * grad


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def _log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max()
    return shifted - np.log(np.exp(shifted).sum())
