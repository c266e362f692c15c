"""Building blocks around the operations: embeddings, feed-forward stacks, encoder layers.

Feed-forward stacks come in two modes (see ``docs/models.md``):

* ``"residual"`` (default) - every width ``f_k`` of the stack is its own block
  ``LayerNorm(x + W2 GELU(W1 x))`` with ``W1: h -> f_k``, ``W2: f_k -> h``. This is the
  block graph of :func:`flexibench.core.card_graph` (each ``f`` node has its own
  add & norm), so graph, hash and model describe the same network.
* ``"sequential"`` - the authors' released code: one MLP ``h -> f_1 -> ... -> f_K -> h``
  with GELU between and a single add & norm. Only this mode reproduces the paper's
  20M parameters for FlexiBERT-Mini without the heteroscedastic model (Table 3).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from flexibench.core.errors import CardError
from flexibench.models.ops import PaddingMask, build_operation

FF_MODES = ("residual", "sequential")
LAYER_NORM_EPS = 1e-12


class Embeddings(nn.Module):
    """Token (+ optional token-type) embeddings at the first layer's hidden size, then LayerNorm and dropout.

    No absolute position embeddings: every layer learns relative positions instead.
    """

    def __init__(self, vocab_size: int, hidden: int, type_vocab_size: int, pad_token_id: int, dropout: float) -> None:
        super().__init__()
        self.tokens = nn.Embedding(vocab_size, hidden, padding_idx=pad_token_id)
        self.token_types = nn.Embedding(type_vocab_size, hidden) if type_vocab_size > 0 else None
        self.norm = nn.LayerNorm(hidden, eps=LAYER_NORM_EPS)
        self.dropout = nn.Dropout(dropout)

    def forward(self, input_ids: Tensor, token_type_ids: Tensor | None = None) -> Tensor:
        x = self.tokens(input_ids)
        if self.token_types is not None:
            if token_type_ids is None:
                x = x + self.token_types.weight[0]  # all segment A, without building a zero index tensor
            else:
                x = x + self.token_types(token_type_ids)
        return self.dropout(self.norm(x))


class FeedForward(nn.Module):
    """``LayerNorm(x + dropout(W_out GELU(... GELU(W_in x))))`` through the given widths."""

    def __init__(self, hidden: int, widths: Sequence[int], dropout: float) -> None:
        super().__init__()
        dims = [hidden, *widths]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.output = nn.Linear(dims[-1], hidden)
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(hidden, eps=LAYER_NORM_EPS)

    def forward(self, x: Tensor) -> Tensor:
        y = x
        for linear in self.hidden:
            y = F.gelu(linear(y))
        return self.norm(x + self.dropout(self.output(y)))


def feed_forward_stack(hidden: int, widths: Sequence[int], mode: str, dropout: float) -> nn.ModuleList:
    """The blocks of one layer's feed-forward stack in ``mode`` (``residual`` or ``sequential``)."""
    if mode == "residual":
        return nn.ModuleList(FeedForward(hidden, [width], dropout) for width in widths)
    if mode == "sequential":
        return nn.ModuleList([FeedForward(hidden, list(widths), dropout)])
    raise CardError("ff_mode", mode, list(FF_MODES))


class EncoderLayer(nn.Module):
    """One encoder layer: operation (all heads) -> add & norm -> feed-forward stack."""

    def __init__(
        self,
        op: str,
        hidden: int,
        heads: int,
        widths: Sequence[int],
        param: str | int,
        *,
        max_distance: int,
        dropout: float,
        ff_mode: str = "residual",
    ) -> None:
        super().__init__()
        self.op = build_operation(op, hidden, heads, param, max_distance, dropout)
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(hidden, eps=LAYER_NORM_EPS)
        self.ff = feed_forward_stack(hidden, widths, ff_mode, dropout)

    def forward(self, x: Tensor, mask: PaddingMask | None = None) -> Tensor:
        x = self.norm(x + self.dropout(self.op(x, mask)))
        for block in self.ff:
            x = block(x)
        return x
