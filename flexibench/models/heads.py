"""Task heads on the FlexiBERT encoder: masked language modelling and sequence classification/regression.

MLM decoder tying: the decoder reuses the token-embedding matrix (``V x h_first``).
The head's transform maps the last hidden size to the first (``Linear(h_last,
h_first)``, GELU, LayerNorm), so the tie works for every card: when ``h_last ==
h_first`` this is exactly BERT's head, otherwise the transform doubles as the
projection back to the embedding width. Only a bias of size ``V`` is added.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from flexibench.core import ModelCard
from flexibench.core.errors import CardError
from flexibench.models.layers import LAYER_NORM_EPS
from flexibench.models.model import FlexiBERT, init_weights, seeded

IGNORE_INDEX = -100


def _device_of(encoder: FlexiBERT) -> torch.device:
    return encoder.embeddings.tokens.weight.device


class MaskedLMOutput(NamedTuple):
    """``loss``: mean cross-entropy over positions whose label is not -100 (None without labels).

    ``logits``: ``(num_masked, V)`` in label order (row-major over batch and position)
    when labels are given; ``(B, T, V)`` for every position otherwise.
    """

    loss: Tensor | None
    logits: Tensor


class SequenceClassifierOutput(NamedTuple):
    """``loss``: cross-entropy (``num_labels > 1``) or MSE (``num_labels == 1``), None without labels."""

    loss: Tensor | None
    logits: Tensor


class FlexiBERTForMaskedLM(nn.Module):
    """Encoder + MLM head; logits are computed only where a label is given (the costly ``V``-wide matmul)."""

    def __init__(self, encoder: FlexiBERT) -> None:
        super().__init__()
        self.encoder = encoder
        first, last = encoder.hidden_sizes
        self.transform = nn.Linear(last, first)
        self.transform_norm = nn.LayerNorm(first, eps=LAYER_NORM_EPS)
        self.decoder_bias = nn.Parameter(torch.zeros(encoder.vocab_size))

    def reset_own_parameters(self) -> None:
        nn.init.zeros_(self.decoder_bias)

    @classmethod
    def from_card(
        cls, card: ModelCard | str, vocab_size: int, *, seed: int | None = None, **kw: Any
    ) -> FlexiBERTForMaskedLM:
        """Build encoder and head for ``card``; ``kw`` are :meth:`FlexiBERT.from_card` options."""
        with seeded(seed):
            return cls.from_encoder(FlexiBERT.from_card(card, vocab_size, **kw))

    @classmethod
    def from_encoder(cls, encoder: FlexiBERT) -> FlexiBERTForMaskedLM:
        """Put a freshly initialised MLM head on an existing (e.g. transferred) encoder."""
        with torch.device(_device_of(encoder)):
            model = cls(encoder)
        init_weights(model.transform)
        init_weights(model.transform_norm)
        model.reset_own_parameters()
        return model

    @property
    def card(self) -> ModelCard:
        return self.encoder.card

    def predict(self, hidden: Tensor) -> Tensor:
        """Vocabulary logits for hidden states ``(..., h_last) -> (..., V)``, decoder tied to the embeddings."""
        hidden = self.transform_norm(F.gelu(self.transform(hidden)))
        return F.linear(hidden, self.encoder.embeddings.tokens.weight, self.decoder_bias)

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        labels: Tensor | None = None,
        token_type_ids: Tensor | None = None,
    ) -> MaskedLMOutput:
        hidden = self.encoder(input_ids, attention_mask, token_type_ids)
        if labels is None:
            return MaskedLMOutput(None, self.predict(hidden))
        if labels.shape != input_ids.shape:
            raise CardError("labels", tuple(labels.shape), f"the shape of input_ids {tuple(input_ids.shape)}")
        selected = labels != IGNORE_INDEX
        logits = self.predict(hidden[selected])
        targets = labels[selected]
        if targets.numel() == 0:  # nothing masked: a zero loss that still belongs to the graph
            return MaskedLMOutput(logits.sum() * 0.0, logits)
        return MaskedLMOutput(F.cross_entropy(logits.float(), targets), logits)


class FlexiBERTForSequenceClassification(nn.Module):
    """Encoder + BERT pooler (first token, dense, tanh) + dropout + linear classifier.

    ``num_labels == 1`` is regression (e.g. STS-B) trained with MSE.
    """

    def __init__(self, encoder: FlexiBERT, num_labels: int) -> None:
        super().__init__()
        if not isinstance(num_labels, int) or num_labels < 1:
            raise CardError("num_labels", num_labels, "a positive integer (1 means regression)")
        self.encoder = encoder
        self.num_labels = num_labels
        last = encoder.hidden_sizes[1]
        self.pooler = nn.Linear(last, last)
        self.dropout = nn.Dropout(encoder.options.dropout)
        self.classifier = nn.Linear(last, num_labels)

    @classmethod
    def from_card(
        cls, card: ModelCard | str, vocab_size: int, num_labels: int, *, seed: int | None = None, **kw: Any
    ) -> FlexiBERTForSequenceClassification:
        """Build encoder and head for ``card``; ``kw`` are :meth:`FlexiBERT.from_card` options."""
        with seeded(seed):
            return cls.from_encoder(FlexiBERT.from_card(card, vocab_size, **kw), num_labels)

    @classmethod
    def from_encoder(cls, encoder: FlexiBERT, num_labels: int) -> FlexiBERTForSequenceClassification:
        """Fine-tune an existing (pretrained) encoder: only the pooler and classifier are new."""
        with torch.device(_device_of(encoder)):
            model = cls(encoder, num_labels)
        init_weights(model.pooler)
        init_weights(model.classifier)
        return model

    @property
    def card(self) -> ModelCard:
        return self.encoder.card

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        labels: Tensor | None = None,
    ) -> SequenceClassifierOutput:
        hidden = self.encoder(input_ids, attention_mask, token_type_ids)
        pooled = torch.tanh(self.pooler(hidden[:, 0]))
        logits = self.classifier(self.dropout(pooled))
        if labels is None:
            return SequenceClassifierOutput(None, logits)
        if self.num_labels == 1:
            loss = F.mse_loss(logits.squeeze(-1).float(), labels.to(torch.float32).view(-1))
        else:
            loss = F.cross_entropy(logits.float(), labels.long().view(-1))
        return SequenceClassifierOutput(loss, logits)
