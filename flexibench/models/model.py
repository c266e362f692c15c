"""The FlexiBERT encoder: embeddings, heterogeneous encoder layers, projections between them.

A model is built from a :class:`~flexibench.core.ModelCard`; the card is kept on the
module (``model.card``) so that weight transfer, saving and parameter summaries can
reason about layers by their design choices.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

from flexibench.core import ModelCard
from flexibench.core.errors import CardError
from flexibench.models.layers import FF_MODES, LAYER_NORM_EPS, Embeddings, EncoderLayer
from flexibench.models.ops import PaddingMask

INIT_STD = 0.02


@dataclass(frozen=True)
class ModelOptions:
    """Everything besides the card and vocabulary that shapes a model (saved in ``config.json``).

    ``max_len`` sizes the relative-position tables: distances up to ``max_len - 1`` get
    their own learned entry, longer ones share the clipped one (so longer inputs still run).
    """

    dropout: float = 0.1
    max_len: int = 512
    type_vocab_size: int = 2
    pad_token_id: int = 0
    ff_mode: str = "residual"

    def __post_init__(self) -> None:
        if not 0.0 <= self.dropout < 1.0:
            raise CardError("dropout", self.dropout, "a probability in [0, 1)")
        if self.max_len < 1:
            raise CardError("max_len", self.max_len, "a positive integer")
        if self.type_vocab_size < 0:
            raise CardError("type_vocab_size", self.type_vocab_size, "0 (no token types) or more")
        if self.ff_mode not in FF_MODES:
            raise CardError("ff_mode", self.ff_mode, list(FF_MODES))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def init_weights(module: nn.Module) -> None:
    """BERT initialisation: N(0, 0.02) weights, zero biases, unit LayerNorm.

    Modules with parameters of their own (relative tables, ``W_a``, conv bias, decoder
    bias) initialise them in ``reset_own_parameters``. Together this covers every tensor,
    so models may be built on the meta device and materialised with ``to_empty``.
    """
    for sub in module.modules():
        if isinstance(sub, (nn.Linear, nn.Conv1d)):
            nn.init.normal_(sub.weight, std=INIT_STD)
            if sub.bias is not None:
                nn.init.zeros_(sub.bias)
        elif isinstance(sub, nn.Embedding):
            nn.init.normal_(sub.weight, std=INIT_STD)
            if sub.padding_idx is not None:
                with torch.no_grad():
                    sub.weight[sub.padding_idx].zero_()
        elif isinstance(sub, nn.LayerNorm):
            nn.init.ones_(sub.weight)
            nn.init.zeros_(sub.bias)
        reset = getattr(sub, "reset_own_parameters", None)
        if callable(reset):
            reset()


@contextlib.contextmanager
def seeded(seed: int | None):
    """Fork the global torch RNG and seed it, so building with a seed leaves other randomness untouched."""
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=None if torch.cuda.is_available() else []):  # CUDA RNGs restored too
        torch.manual_seed(seed)
        yield


def padding_mask(attention_mask: Tensor | None, dtype: torch.dtype) -> PaddingMask | None:
    """Turn a ``(B, T)`` 1/0 mask into a :class:`PaddingMask`; None when there is no padding (fast path)."""
    if attention_mask is None:
        return None
    if attention_mask.dim() != 2:
        raise CardError("attention_mask", tuple(attention_mask.shape), "a (batch, length) tensor of 1/0")
    keep = attention_mask.to(torch.bool)
    if bool(keep.all()):
        return None
    additive = torch.zeros(keep.shape, dtype=dtype, device=keep.device)
    additive = additive.masked_fill(~keep, torch.finfo(dtype).min)
    return PaddingMask(additive=additive[:, None, None, :], keep=keep[:, :, None].to(dtype))


class FlexiBERT(nn.Module):
    """Encoder for one model card: ``forward(input_ids, attention_mask, token_type_ids) -> (B, T, h_last)``.

    Build with :meth:`from_card`. Layers of different hidden size are joined by learned
    affine projections (``projections[j]`` maps layer ``j``'s output to layer ``j + 1``'s
    size; identity when equal).
    """

    def __init__(self, card: ModelCard, vocab_size: int, options: ModelOptions | None = None) -> None:
        super().__init__()
        if not isinstance(card, ModelCard):
            raise CardError("card", card, "a ModelCard (use ModelCard.parse)")
        if vocab_size < 1:
            raise CardError("vocab_size", vocab_size, "a positive integer")
        options = options or ModelOptions()
        if not 0 <= options.pad_token_id < vocab_size:
            raise CardError("pad_token_id", options.pad_token_id, f"a token id in [0, {vocab_size})")
        self.card, self.vocab_size, self.options = card, vocab_size, options
        self.embeddings = Embeddings(
            vocab_size, card.h[0], options.type_vocab_size, options.pad_token_id, options.dropout
        )
        self.layers = nn.ModuleList(
            EncoderLayer(
                o, h, n, f, p, max_distance=options.max_len - 1, dropout=options.dropout, ff_mode=options.ff_mode
            )
            for (o, h, n, f, p) in card.layers
        )
        self.projections = nn.ModuleList(
            nn.Identity() if a == b else nn.Linear(a, b) for a, b in zip(card.h[:-1], card.h[1:])
        )

    @classmethod
    def from_card(
        cls,
        card: ModelCard | str,
        vocab_size: int,
        *,
        dropout: float = 0.1,
        max_len: int = 512,
        type_vocab_size: int = 2,
        pad_token_id: int = 0,
        ff_mode: str = "residual",
        seed: int | None = None,
    ) -> FlexiBERT:
        """Build and initialise the encoder for ``card`` (a card or anything ``ModelCard.parse`` accepts)."""
        options = ModelOptions(dropout, max_len, type_vocab_size, pad_token_id, ff_mode)
        device = torch.get_default_device()
        with torch.device("meta"):  # shapes only: skip PyTorch's default init, which init_weights replaces
            model = cls(ModelCard.parse(card), vocab_size, options)
        if device.type == "meta":
            return model
        model = model.to_empty(device=device)
        with seeded(seed):
            init_weights(model)
        return model

    @property
    def hidden_sizes(self) -> tuple[int, int]:
        """(first, last) hidden size: the embedding width and the output width."""
        return self.card.h[0], self.card.h[-1]

    def forward(
        self, input_ids: Tensor, attention_mask: Tensor | None = None, token_type_ids: Tensor | None = None
    ) -> Tensor:
        if input_ids.dim() != 2:
            raise CardError("input_ids", tuple(input_ids.shape), "a (batch, length) tensor of token ids")
        x = self.embeddings(input_ids, token_type_ids)
        dtype = torch.get_autocast_dtype(x.device.type) if torch.is_autocast_enabled(x.device.type) else x.dtype
        mask = padding_mask(attention_mask, dtype)
        for j, layer in enumerate(self.layers):
            if j:
                x = self.projections[j - 1](x)
            x = layer(x, mask)
        return x


def compile_model(model: nn.Module, **kwargs: Any) -> nn.Module:
    """``torch.compile`` with dynamic shapes; helps on GPU (fuses the many small per-layer ops).

    Optional: eager mode is the tested path. Extra keyword arguments go to ``torch.compile``.
    """
    kwargs.setdefault("dynamic", True)
    return torch.compile(model, **kwargs)


__all__ = ["FlexiBERT", "ModelOptions", "LAYER_NORM_EPS", "compile_model", "init_weights", "padding_mask", "seeded"]
