"""The weight-transfer rule of Section 3.3.3, as the runner's cost clock needs it.

A query ``q`` may skip pretraining when some already-trained card ``n`` has a
biased overlap fraction ``O_f(q, n) = overlap / l_q >= tau`` (paper: tau = 0.8),
where the biased overlap counts identical encoder layers from the input and stops
at the first difference (:func:`flexibench.core.card.biased_overlap`).
:class:`TransferIndex` makes the check O(layers) per query by indexing every
prefix of every trained card.
"""

from __future__ import annotations

import math

from flexibench.core.card import ModelCard, biased_overlap  # noqa: F401 - re-exported


def required_overlap(layers: int, tau: float) -> int:
    """Smallest overlap ``m`` with ``m / layers >= tau``."""
    return max(0, math.ceil(tau * layers - 1e-9))


class TransferIndex:
    """Trained cards, indexed by their layer prefixes, to answer "can ``q`` transfer weights?"."""

    def __init__(self, tau: float = 0.8) -> None:
        if not 0.0 <= tau <= 1.0:
            raise ValueError(f"tau: {tau} is not allowed; allowed: 0 <= tau <= 1")
        self.tau = tau
        self._prefixes: set[tuple] = set()

    def add(self, card: ModelCard) -> None:
        layers = card.layers
        for m in range(1, card.l + 1):
            self._prefixes.add(tuple(layers[:m]))

    def can_transfer(self, query: ModelCard) -> bool:
        """True when a trained card shares at least ``ceil(tau * l_q)`` leading layers with ``query``."""
        m = required_overlap(query.l, self.tau)
        if m == 0:
            return bool(self._prefixes)
        return tuple(query.layers[:m]) in self._prefixes
