"""Learned relative positional encodings (Section 3.1.2, Eq. 1-3).

FlexiBERT drops absolute position embeddings because a learned projection between
layers of different hidden size need not carry them faithfully; instead every
layer learns its own relative encoding.

* :class:`RelativePositionBias` serves self-attention (SA) layers: one learned
  scalar per head and clipped relative distance ``j - i``, added to the attention
  logits. It is passed to :func:`torch.nn.functional.scaled_dot_product_attention`
  as an additive ``attn_mask``, so SA keeps the fused kernel (Shaw et al.'s
  ``q . r_{j-i}`` term would need the full score matrix to be materialised).
* :class:`RelativeAttention` is Eq. 1 for LT and DSC layers:
  ``softmax(Q R^T / sqrt(d)) V`` where row ``(i, j)`` of ``Q R^T`` is
  ``q_i . r_{clip(j - i)}`` with ``R`` a learned table of relative-position
  embeddings (one row per clipped distance, shared by the heads of the layer).

Distances are clipped to ``+-max_distance`` so any sequence length works.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def relative_distances(length: int, max_distance: int, device: torch.device | None = None) -> Tensor:
    """``(length, length)`` table of ``clip(j - i) + max_distance``: row index into a relative table."""
    positions = torch.arange(length, device=device)
    distance = positions[None, :] - positions[:, None]
    return distance.clamp(-max_distance, max_distance) + max_distance


class RelativePositionBias(nn.Module):
    """Per-head learned bias ``b[head, clip(j - i)]`` for self-attention logits.

    Starts at zero, so a fresh SA layer behaves like position-free attention until
    training moves the biases; costs ``heads * (2 * max_distance + 1)`` parameters.
    """

    def __init__(self, heads: int, max_distance: int) -> None:
        super().__init__()
        self.max_distance = max_distance
        self.table = nn.Parameter(torch.zeros(heads, 2 * max_distance + 1))

    def reset_own_parameters(self) -> None:
        nn.init.zeros_(self.table)

    def forward(self, length: int) -> Tensor:
        """Bias of shape ``(heads, length, length)`` to add to the attention logits."""
        index = relative_distances(length, self.max_distance, self.table.device)
        return self.table[:, index]


class RelativeAttention(nn.Module):
    """Eq. 1: ``softmax(Q R^T / sqrt(d)) V`` with learned relative-position embeddings ``R``.

    The module owns only ``R``; the caller supplies the per-head queries and values
    (LT adds its own query/value projections, DSC reuses ConvBERT's), so the heads of
    a layer are handled as one batched tensor op.
    """

    def __init__(self, head_dim: int, max_distance: int) -> None:
        super().__init__()
        self.max_distance = max_distance
        self.embeddings = nn.Parameter(torch.empty(2 * max_distance + 1, head_dim))
        self.reset_own_parameters()

    def reset_own_parameters(self) -> None:
        nn.init.normal_(self.embeddings, std=0.02)

    def forward(self, q: Tensor, v: Tensor, key_mask: Tensor | None = None, dropout: float = 0.0) -> Tensor:
        """Relative attention of ``q, v`` (``(B, heads, T, d)``), ``key_mask`` additive ``(B, 1, 1, T)`` or None.

        Computes ``q @ E^T`` once against the ``2T - 1`` distinct (clipped) distances and
        gathers the ``(T, T)`` score matrix from it, instead of materialising ``T x T x d``.
        """
        length = q.shape[-2]
        span = torch.arange(-(length - 1), length, device=q.device).clamp(-self.max_distance, self.max_distance)
        table = self.embeddings[span + self.max_distance].to(q.dtype)  # (2T-1, d): distances -(T-1)..T-1
        scores = torch.matmul(q, table.transpose(0, 1))  # (B, H, T, 2T-1)
        positions = torch.arange(length, device=q.device)
        index = positions[None, :] - positions[:, None] + (length - 1)  # (T, T): j - i shifted to >= 0
        scores = scores.gather(-1, index.expand(*scores.shape[:-1], length)) / math.sqrt(q.shape[-1])
        if key_mask is not None:
            scores = scores + key_mask.to(scores.dtype)
        probs = torch.softmax(scores, dim=-1)
        if dropout > 0.0:
            probs = nn.functional.dropout(probs, p=dropout, training=True)
        return torch.matmul(probs, v)
