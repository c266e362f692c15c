"""Hugging Face twins of homogeneous cards: the ``transformers`` model of the same family and size.

The speed, harness and learning-curve benchmarks compare FlexiBench's models with these
references (``BertForMaskedLM`` for SA-SDP cards, ``FNetForMaskedLM`` for LT-DFT,
``ConvBertForMaskedLM`` for DSC; absolute positions, Hugging Face's own head and loss), so
there is one builder of them. :class:`MaskedPositions` lets the harness's own pretraining
loop and held-out scoring (:func:`flexibench.train.pretrain.pretrain`) train and score a twin
unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:  # bench_harness.py's workers import this module beside older checkouts too
    from flexibench.core import ModelCard

IGNORE_INDEX = -100


def hf_twin(card: ModelCard, vocab_size: int, seq_len: int, dropout: float = 0.0) -> nn.Module | None:
    """The card's ``transformers`` twin with ``dropout`` everywhere it has one, or None where it has none.

    Only homogeneous cards with one feed-forward layer per block have a twin.
    """
    import transformers as tf

    if not card.is_homogeneous or len(card.f[0]) != 1:
        return None
    size = dict(
        vocab_size=vocab_size,
        hidden_size=card.h[0],
        num_hidden_layers=card.l,
        intermediate_size=card.f[0][0],
        max_position_embeddings=max(512, seq_len),
        hidden_dropout_prob=dropout,
    )
    op, param = card.o[0], card.p[0]
    if op == "SA" and param == "SDP":
        return tf.BertForMaskedLM(
            tf.BertConfig(num_attention_heads=card.n[0], attention_probs_dropout_prob=dropout, **size)
        )
    if op == "LT" and param == "DFT":
        return tf.FNetForMaskedLM(tf.FNetConfig(use_tpu_fourier_optimizations=False, **size))
    if op == "DSC":
        config = tf.ConvBertConfig(
            num_attention_heads=card.n[0], conv_kernel_size=int(param), attention_probs_dropout_prob=dropout, **size
        )
        return tf.ConvBertForMaskedLM(config)
    return None


class MaskedPositions(nn.Module):
    """A twin that answers like ``FlexiBERTForMaskedLM``: its own loss, logits only at the labelled positions.

    The harness's held-out scoring takes ``model(inputs, labels=labels).logits`` as one row per
    masked token; a Hugging Face model returns every position. Nothing else changes: the loss
    is the twin's own cross-entropy over the labelled positions.
    """

    def __init__(self, twin: nn.Module) -> None:
        from flexibench.models import MaskedLMOutput

        super().__init__()
        self.twin = twin
        self._output = MaskedLMOutput

    def forward(self, input_ids: torch.Tensor, labels: torch.Tensor | None = None, **kw: Any) -> tuple:
        out = self.twin(input_ids=input_ids, labels=labels, **kw)
        logits = out.logits if labels is None else out.logits[labels != IGNORE_INDEX]
        return self._output(out.loss, logits)
