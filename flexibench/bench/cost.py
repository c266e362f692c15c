"""What evaluating a card costs: the one transfer price (torch-free), on the one transfer rule.

The rule (Section 3.3.3) is :mod:`flexibench.core.transfer_rule` (re-exported here): a query
``q`` may start from a trained card's weights when their biased overlap covers at least
``ceil(tau * l_q)`` leading layers. The price of a transferred card is its fine-tuning plus ``share`` of its
pretraining: the paper fine-tunes such cards directly (share 0); a recipe with no
fine-tuning task (nano: held-out MLM after pretraining) has nothing left to run after a
transfer, so it is charged the shortest pretraining it scores, ``heldout_every / steps``.

``Benchmark.training_cost``, the search objective (``flexibench.search.objective``) and
``paper_repro`` all price cards here, so they agree to the second.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flexibench.core.transfer_rule import DEFAULT_TAU, can_transfer, required_overlap, transfer_allowed

__all__ = [
    "DEFAULT_TAU",
    "can_transfer",
    "evaluation_cost_s",
    "required_overlap",
    "transfer_allowed",
    "transfer_cost_s",
    "transfer_share",
]


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
