"""The operation of one encoder layer, all its heads at once (Section 3.1.1, Appendix A.1, B.1).

A layer of hidden size ``h`` with ``n`` heads splits ``h`` into ``n`` parts of
``d = h / n``; every head of a layer shares operation type and parameter, so the
heads are computed as one batched tensor op (shape ``(B, n, T, d)``) rather than a
Python loop. Each operation maps ``(B, T, h) -> (B, T, h)`` and ends with the
output projection ``W^o`` of Eq. 9 that mixes the concatenated heads; the layer
adds the residual and normalises.

* :class:`SelfAttention` - SDP (``q.k / sqrt(d)``) or WMA (``q^T W_a k`` with one
  trainable ``W_a`` per head), on the fused SDPA kernel with a learned relative bias.
* :class:`LinearTransform` - FNet-style DFT (real part of the 2-D FFT over sequence
  and head dimension) or DCT-II, plus Eq. 2's relative attention.
* :class:`DynamicSpanConv` - ConvBERT's span-based dynamic convolution with kernel
  size ``k``, plus Eq. 3's relative attention.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from flexibench.core.errors import CardError
from flexibench.models.relative import RelativeAttention, RelativePositionBias


class PaddingMask(NamedTuple):
    """Padding information shared by all layers of one forward pass.

    ``additive``: ``(B, 1, 1, T)`` with 0 for tokens and a large negative value for
    padding (added to attention logits); ``keep``: ``(B, T, 1)`` with 1 for tokens and
    0 for padding (zeroes padding before sequence-mixing transforms).
    """

    additive: Tensor
    keep: Tensor


def _split_heads(x: Tensor, heads: int) -> Tensor:
    batch, length, hidden = x.shape
    return x.view(batch, length, heads, hidden // heads).transpose(1, 2)


def _merge_heads(x: Tensor) -> Tensor:
    batch, heads, length, dim = x.shape
    return x.transpose(1, 2).reshape(batch, length, heads * dim)


class SelfAttention(nn.Module):
    """Multi-head self-attention with SDP or WMA scores and a learned relative-position bias.

    WMA's score ``q^T W_a k`` is the dot product of ``q' = q W_a`` (row vectors) with
    ``k``, so both variants run on
    :func:`torch.nn.functional.scaled_dot_product_attention`. ``W_a`` starts at the
    identity (plus noise), so a fresh WMA head starts close to SDP. Scores keep the
    ``1 / sqrt(d)`` factor for both, as in the authors' code; ``W_a`` absorbs any scale.
    """

    def __init__(self, hidden: int, heads: int, kind: str, max_distance: int, dropout: float) -> None:
        super().__init__()
        if kind not in ("SDP", "WMA"):
            raise CardError("p", kind, ["SDP", "WMA"])
        self.heads, self.kind, self.dropout = heads, kind, dropout
        head_dim = hidden // heads
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)
        self.bias = RelativePositionBias(heads, max_distance)
        if kind == "WMA":
            self.w_a = nn.Parameter(torch.eye(head_dim).repeat(heads, 1, 1))

    def reset_own_parameters(self) -> None:
        """``W_a`` starts at the identity plus N(0, 0.02) noise: a fresh WMA head is close to SDP."""
        if self.kind == "WMA":
            with torch.no_grad():
                eye = torch.eye(self.w_a.shape[-1], device=self.w_a.device, dtype=self.w_a.dtype)
                self.w_a.copy_(eye + 0.02 * torch.randn_like(self.w_a))

    def forward(self, x: Tensor, mask: PaddingMask | None = None) -> Tensor:
        q, k, v = (_split_heads(part, self.heads) for part in self.qkv(x).chunk(3, dim=-1))
        if self.kind == "WMA":
            q = torch.matmul(q, self.w_a.to(q.dtype))  # (B, n, T, d) @ (n, d, d)
        attn_mask = self.bias(x.shape[1]).to(q.dtype).unsqueeze(0)
        if mask is not None:
            attn_mask = attn_mask + mask.additive.to(q.dtype)
        context = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, dropout_p=self.dropout if self.training else 0.0
        )
        return self.out(_merge_heads(context))


@lru_cache(maxsize=32)
def _dct_matrix_cpu(size: int) -> Tensor:
    """Orthonormal DCT-II matrix ``C`` (``y = C x``), float64 on CPU; cached per size."""
    n = torch.arange(size, dtype=torch.float64)
    matrix = torch.cos(math.pi / size * (n[None, :] + 0.5) * n[:, None]) * math.sqrt(2.0 / size)
    matrix[0] /= math.sqrt(2.0)
    return matrix


_DCT_DEVICE_CACHE: dict[tuple[int, str], Tensor] = {}


def dct_matrix(size: int, device: torch.device) -> Tensor:
    """Orthonormal DCT-II matrix in float32 on ``device`` (cached, so each size is built once)."""
    key = (size, str(device))
    if key not in _DCT_DEVICE_CACHE:
        _DCT_DEVICE_CACHE[key] = _dct_matrix_cpu(size).to(device=device, dtype=torch.float32)
    return _DCT_DEVICE_CACHE[key]


def fourier_mix(x: Tensor, heads: int) -> Tensor:
    """Per head: real part of the orthonormal 2-D DFT over sequence and head dimension. ``(B, T, h)``."""
    batch, length, hidden = x.shape
    grid = x.view(batch, length, heads, hidden // heads)
    return torch.fft.fftn(grid, dim=(1, 3), norm="ortho").real.reshape(batch, length, hidden)


def cosine_mix(x: Tensor, heads: int) -> Tensor:
    """Per head: orthonormal 2-D DCT-II over sequence and head dimension (two matmuls). ``(B, T, h)``."""
    batch, length, hidden = x.shape
    head_dim = hidden // heads
    grid = x.view(batch, length, heads, head_dim)
    grid = torch.matmul(grid, dct_matrix(head_dim, x.device).to(x.dtype).T)  # along the head dimension
    sequence = dct_matrix(length, x.device).to(x.dtype)
    return torch.matmul(sequence, grid.reshape(batch, length, hidden))  # along the sequence


class LinearTransform(nn.Module):
    """FNet-style token mixing by a fixed DFT or DCT, plus Eq. 2's relative attention.

    ``Z = LT(X) + RelativeAttention(X)``; the transform has no weights, the relative
    attention brings query/value projections and the relative table. The DFT runs in
    float32 with autocast off (FFTs are not defined for bfloat16); the DCT is two matrix
    products, which autocast runs in bfloat16 with float32 accumulation like every linear
    layer (in float32 it was the slowest part of a bf16 step of an LT-DCT card).
    Both use orthonormal scaling so the mixed signal is on the scale of the input
    (FNet's unnormalised FFT grows with ``sqrt(T d)``).
    """

    def __init__(self, hidden: int, heads: int, kind: str, max_distance: int, dropout: float) -> None:
        super().__init__()
        if kind not in ("DFT", "DCT"):
            raise CardError("p", kind, ["DFT", "DCT"])
        self.heads, self.kind, self.dropout = heads, kind, dropout
        self.qv = nn.Linear(hidden, 2 * hidden)
        self.relative = RelativeAttention(hidden // heads, max_distance)
        self.out = nn.Linear(hidden, hidden)

    def forward(self, x: Tensor, mask: PaddingMask | None = None) -> Tensor:
        source = x if mask is None else x * mask.keep.to(x.dtype)
        if self.kind == "DFT":
            with torch.autocast(device_type=x.device.type, enabled=False):  # no bfloat16 FFT
                mixed = fourier_mix(source.float(), self.heads)
        else:
            mixed = cosine_mix(source, self.heads)  # two matmuls: autocast runs them like any linear layer
        q, v = (_split_heads(part, self.heads) for part in self.qv(x).chunk(2, dim=-1))
        additive = None if mask is None else mask.additive
        relative = self.relative(q, v, additive, self.dropout if self.training else 0.0)
        return self.out(mixed.to(relative.dtype) + _merge_heads(relative))


class SeparableConv1d(nn.Module):
    """Depthwise (kernel ``k``, per channel) then pointwise convolution, as in ConvBERT's span-aware keys."""

    def __init__(self, channels: int, kernel: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv1d(channels, channels, kernel, padding=kernel // 2, groups=channels, bias=False)
        self.pointwise = nn.Conv1d(channels, channels, 1, bias=False)
        self.bias = nn.Parameter(torch.zeros(channels))

    def reset_own_parameters(self) -> None:
        nn.init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, T, C) -> (B, T, C)``."""
        y = self.pointwise(self.depthwise(x.transpose(1, 2))).transpose(1, 2)
        return y + self.bias


class DynamicSpanConv(nn.Module):
    """ConvBERT's dynamic span-based convolution (all heads convolutional), plus Eq. 3's relative attention.

    Per position and head, a kernel of ``k`` weights is generated from the product of the
    query and a span-aware key (a separable convolution of the input), softmax-normalised,
    and applied to a ``k``-wide window of projected values. Padding positions are zeroed
    before both convolutions, so right-padding a sequence leaves its outputs unchanged.
    """

    def __init__(self, hidden: int, heads: int, kernel: int, max_distance: int, dropout: float) -> None:
        super().__init__()
        if not isinstance(kernel, int) or kernel < 1 or kernel % 2 == 0:
            raise CardError("p", kernel, "an odd positive kernel size such as 5 or 9")
        self.heads, self.kernel, self.dropout = heads, kernel, dropout
        self.qv = nn.Linear(hidden, 2 * hidden)
        self.key_conv = SeparableConv1d(hidden, kernel)
        self.kernel_proj = nn.Linear(hidden, heads * kernel)
        self.conv_value = nn.Linear(hidden, hidden)
        self.relative = RelativeAttention(hidden // heads, max_distance)
        self.out = nn.Linear(hidden, hidden)

    def forward(self, x: Tensor, mask: PaddingMask | None = None) -> Tensor:
        batch, length, hidden = x.shape
        q_flat, v_flat = self.qv(x).chunk(2, dim=-1)
        source = x if mask is None else x * mask.keep.to(x.dtype)  # padding must not leak into the windows
        weights = self.kernel_proj(q_flat * self.key_conv(source))  # (B, T, n * k)
        weights = torch.softmax(weights.view(batch, length, self.heads, self.kernel), dim=-1)
        values = self.conv_value(x)
        if mask is not None:
            values = values * mask.keep.to(values.dtype)
        conv = span_convolution(values, weights)
        q, v = _split_heads(q_flat, self.heads), _split_heads(v_flat, self.heads)
        additive = None if mask is None else mask.additive
        relative = self.relative(q, v, additive, self.dropout if self.training else 0.0)
        return self.out(conv + _merge_heads(relative))


def span_convolution(values: Tensor, weights: Tensor) -> Tensor:
    """``out[b, t, head] = sum_j weights[b, t, head, j] * values[b, t + j - k // 2, head]`` (zero outside).

    ``values`` is ``(B, T, h)``, ``weights`` ``(B, T, n, k)``. Summing ``k`` shifted slices costs
    ``k`` multiply-adds over ``(B, T, h)`` and no window copy: the ``unfold`` + ``einsum`` form it
    replaces gave the same numbers at twice the forward-and-backward time (``unfold``'s backward
    dominated the DSC layer; ``benchmarks/bench_harness.py``).
    """
    batch, length, hidden = values.shape
    heads, kernel = weights.shape[-2], weights.shape[-1]
    half = kernel // 2
    padded = F.pad(values, (0, 0, half, half)).view(batch, length + 2 * half, heads, hidden // heads)
    out = padded[:, :length] * weights[..., :1]
    for j in range(1, kernel):
        out = out + padded[:, j : j + length] * weights[..., j : j + 1]
    return out.reshape(batch, length, hidden)


def build_operation(op: str, hidden: int, heads: int, param: str | int, max_distance: int, dropout: float) -> nn.Module:
    """The module for one layer's operation ``o`` with parameter ``p`` (SA/SDP, LT/DCT, DSC/9 ...)."""
    if op == "SA":
        return SelfAttention(hidden, heads, str(param), max_distance, dropout)
    if op == "LT":
        return LinearTransform(hidden, heads, str(param), max_distance, dropout)
    if op == "DSC":
        return DynamicSpanConv(hidden, heads, param, max_distance, dropout)  # type: ignore[arg-type]
    raise CardError("o", op, ["SA", "LT", "DSC"])
