"""The weight-transfer rule of Section 3.3.3 (:mod:`flexibench.core.transfer_rule`), as the runner checks it.

A query ``q`` may skip pretraining when some already-trained card shares at least
``ceil(tau * l_q)`` leading layers with it (paper: tau = 0.8). :class:`TransferIndex`
answers exactly what :func:`~flexibench.core.transfer_rule.can_transfer` answers over
every card trained so far, in O(layers) per query, by indexing every prefix of every
trained card.
"""

from __future__ import annotations

from flexibench.core.card import ModelCard, biased_overlap  # noqa: F401 - re-exported
from flexibench.core.transfer_rule import DEFAULT_TAU, check_tau, required_overlap  # noqa: F401 - re-exported


class TransferIndex:
    """Trained cards, indexed by their layer prefixes, to answer "can ``q`` transfer weights?"."""

    def __init__(self, tau: float = DEFAULT_TAU) -> None:
        self.tau = check_tau(tau)
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
