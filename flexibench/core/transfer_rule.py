"""The weight-transfer rule of Section 3.3.3, once, for the table, the search and paper_repro (torch-free).

A query ``q`` may start from a trained card ``n``'s weights when their biased overlap
(identical encoder layers counted from the input, stopping at the first difference:
:func:`flexibench.core.card.biased_overlap`) covers at least ``tau`` of ``q``'s layers
(paper: tau = 0.8), i.e. ``ceil(tau * l_q)`` leading layers. Counting layers instead of
comparing the fraction ``overlap / l_q`` with ``tau`` keeps the rule exact (no float
rounding at the boundary, e.g. tau = 0.5 on 4 layers). The price of a transfer lives in
:mod:`flexibench.bench.cost`; the neighbour ranking in :mod:`flexibench.library.neighbours`;
the runner's fast check over every card trained so far in :mod:`flexibench.search.transfer`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from flexibench.core.card import ModelCard, biased_overlap, overlap_fraction

DEFAULT_TAU = 0.8

__all__ = ["DEFAULT_TAU", "can_transfer", "check_tau", "overlap_fraction", "required_overlap", "transfer_allowed"]


def check_tau(tau: float) -> float:
    """``tau`` itself when it is a threshold in [0, 1], else ValueError naming it."""
    if not 0.0 <= tau <= 1.0:
        raise ValueError(f"tau: {tau} is not allowed; allowed: 0 <= tau <= 1")
    return float(tau)


def required_overlap(layers: int, tau: float = DEFAULT_TAU) -> int:
    """Smallest overlap ``m`` with ``m / layers >= tau``: how many leading layers a source must share."""
    return max(0, math.ceil(check_tau(tau) * layers - 1e-9))


def transfer_allowed(query: ModelCard, neighbour: ModelCard, tau: float = DEFAULT_TAU) -> bool:
    """The rule for one pair: ``neighbour`` shares at least ``ceil(tau * l_q)`` leading layers with ``query``."""
    return biased_overlap(query, neighbour) >= required_overlap(query.l, tau)


def can_transfer(query: ModelCard, trained: Iterable[ModelCard], tau: float = DEFAULT_TAU) -> bool:
    """True when some ``trained`` card passes the rule for ``query``."""
    need = required_overlap(query.l, tau)
    return any(biased_overlap(query, card) >= need for card in trained)
