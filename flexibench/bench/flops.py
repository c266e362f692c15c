"""Analytic forward-pass FLOPs of a card's encoder, for cost-aware search and tables.

Computed in closed form (no torch, microseconds per card) so the table can carry a
FLOPs column for all 9,312 library cards. Convention, as torch's ``FlopCounterMode``
and fvcore: FLOPs = 2 x multiply-accumulates of the matrix products and
convolutions of one forward pass over one sequence of ``seq_len`` tokens; softmax,
norms, activations, biases, gathers, the embedding lookup and task heads are not
counted. The blocks follow :mod:`flexibench.models` (for a homogeneous SA-SDP card
the count equals Hugging Face ``BertModel``'s encoder). Per layer with hidden h,
n heads of width e = h/n, T tokens:

* SA: Q, K, V projections 3·T·h²; scores and context 2·T²·h; output T·h²;
  WMA adds the per-head W_a on the queries, T·h·e (Appendix A, eq. 7).
* LT: query/value projections 2·T·h²; the 2-D transform over sequence and head
  width counted as two dense matrix products (DCT-II as implemented; DFT counted
  the same, an upper bound on its FFT), T²·h + T·h·e; relative attention (Eq. 1)
  against the 2T-1 distance embeddings T·(2T-1)·h plus context T²·h; output T·h².
* DSC-k (ConvBERT span-based dynamic convolution): query/value 2·T·h²; span-aware
  key as separable convolution T·h·k + T·h²; kernel generator T·h·n·k; convolution
  values T·h²; the dynamic convolution T·h·k; relative attention as for LT; output T·h².
* Projection between layers of different hidden size (Appendix A, W_p): T·h_{j-1}·h_j.
* Feed-forward: each layer of the stack maps h -> w -> h with a residual, 2·T·h·w.
"""

from __future__ import annotations

from flexibench.core.card import ModelCard

DEFAULT_SEQ_LEN = 128


def operation_macs(op: str, param: str | int, hidden: int, heads: int, seq_len: int) -> int:
    """Multiply-accumulates of one layer's token-mixing operation (all heads and the output projection)."""
    t, h, e = seq_len, hidden, hidden // heads
    output = t * h * h
    relative = t * (2 * t - 1) * h + t * t * h
    if op == "SA":
        return 3 * t * h * h + 2 * t * t * h + (t * h * e if param == "WMA" else 0) + output
    if op == "LT":
        return 2 * t * h * h + (t * t * h + t * h * e) + relative + output
    if op == "DSC":
        k = int(param)
        span_key = t * h * k + t * h * h
        return 2 * t * h * h + span_key + t * h * heads * k + t * h * h + t * h * k + relative + output
    raise ValueError(f"unknown operation {op!r}; allowed: SA, LT, DSC")


def card_flops(card: ModelCard, seq_len: int = DEFAULT_SEQ_LEN) -> int:
    """Forward FLOPs of the encoder of ``card`` for one sequence of ``seq_len`` tokens."""
    macs = 0
    previous = card.h[0]
    for op, hidden, heads, stack, param in card.layers:
        if hidden != previous:
            macs += seq_len * previous * hidden
        macs += operation_macs(op, param, hidden, heads, seq_len)
        macs += sum(2 * seq_len * hidden * width for width in stack)
        previous = hidden
    return 2 * macs
