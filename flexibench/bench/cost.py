"""What evaluating a card costs: the one weight-transfer rule and the one transfer price (torch-free).

The rule (Section 3.3.3): a query ``q`` may start from a trained card ``n``'s weights when
their biased overlap (identical encoder layers from the input, stopping at the first
difference) covers at least ``tau`` of ``q``'s layers, i.e. ``ceil(tau * l_q)`` leading
layers. The price of a transferred card is its fine-tuning plus ``share`` of its
pretraining: the paper fine-tunes such cards directly (share 0); a recipe with no
fine-tuning task (nano: held-out MLM after pretraining) has nothing left to run after a
transfer, so it is charged the shortest pretraining it scores, ``heldout_every / steps``.

``Benchmark.training_cost``, the search objective (``flexibench.search.objective``) and
``paper_repro`` all price cards here, so they agree to the second.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from flexibench.core import ModelCard, biased_overlap

DEFAULT_TAU = 0.8


def required_overlap(layers: int, tau: float = DEFAULT_TAU) -> int:
    """Smallest overlap ``m`` with ``m / layers >= tau``."""
    if not 0.0 <= tau <= 1.0:
        raise ValueError(f"tau: {tau} is not allowed; allowed: 0 <= tau <= 1")
    return max(0, math.ceil(tau * layers - 1e-9))


def can_transfer(query: ModelCard, trained: Iterable[ModelCard], tau: float = DEFAULT_TAU) -> bool:
    """True when some ``trained`` card shares at least ``ceil(tau * l_q)`` leading layers with ``query``."""
    need = required_overlap(query.l, tau)
    return any(biased_overlap(query, card) >= need for card in trained)


def transfer_share(recipe: Mapping[str, Any]) -> float:
    """Share of pretraining a transferred card is charged under ``recipe`` (a recipe as the table stores it).

    0 when the recipe fine-tunes (the paper: transfer, then fine-tune directly); for a
    recipe with no fine-tuning task, the first held-out checkpoint's share of the steps
    (1 when it scores only the last step).
    """
    if recipe.get("tasks"):
        return 0.0
    pretrain = recipe.get("pretrain") or {}
    steps, every = int(pretrain.get("steps") or 0), int(pretrain.get("heldout_every") or 0)
    if steps <= 0:
        return 0.0
    return min(1.0, every / steps) if every > 0 else 1.0


def transfer_cost_s(pretrain_s: float, finetune_s: float, share: float) -> float:
    """Seconds a card costs after weight transfer: its fine-tuning plus ``share`` of its pretraining."""
    return finetune_s + share * pretrain_s


def evaluation_cost_s(pretrain_s: float, finetune_s: float, transferred: bool, share: float) -> float:
    """Seconds an evaluation costs: the transfer price when ``transferred``, else pretraining plus fine-tuning."""
    return transfer_cost_s(pretrain_s, finetune_s, share) if transferred else pretrain_s + finetune_s
