"""Parameter counts of a card without allocating weights (modules are built on the meta device).

What counts (see ``docs/models.md`` for the comparison with the paper's Table 3):
token and token-type embeddings, every encoder layer (operation incl. relative-position
tables, add & norm, feed-forward stack), the projections between layers, and the head:
``"mlm"`` adds the transform and the decoder bias (the decoder weight is tied to the
token embeddings, so it is counted once); ``"cls"`` adds pooler and classifier;
``"encoder"`` counts the encoder alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from flexibench.core import ModelCard
from flexibench.core.errors import CardError
from flexibench.models.heads import FlexiBERTForMaskedLM, FlexiBERTForSequenceClassification
from flexibench.models.model import FlexiBERT

HEADS = ("mlm", "cls", "encoder")


def build_on_meta(
    card: ModelCard | str, vocab_size: int, head: str = "mlm", num_labels: int = 2, **kw: Any
) -> nn.Module:
    """The model for ``card`` with ``head`` on the meta device: shapes only, no memory, no initialisation cost."""
    if head not in HEADS:
        raise CardError("head", head, list(HEADS))
    with torch.device("meta"):
        if head == "mlm":
            return FlexiBERTForMaskedLM.from_card(card, vocab_size, **kw)
        if head == "cls":
            return FlexiBERTForSequenceClassification.from_card(card, vocab_size, num_labels, **kw)
        return FlexiBERT.from_card(card, vocab_size, **kw)


def _numel(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())  # parameters() yields shared tensors once


def count_parameters(card: ModelCard | str, vocab_size: int, head: str = "mlm", **kw: Any) -> int:
    """Trainable parameters of ``card`` with ``head`` (``mlm``, ``cls`` or ``encoder``) at ``vocab_size``.

    Extra keywords go to the model builder (``num_labels``, ``ff_mode``, ``max_len``, ``type_vocab_size``).
    """
    return _numel(build_on_meta(card, vocab_size, head, **kw))


@dataclass(frozen=True)
class SummaryRow:
    """One block of a model: where it sits, what it is, how many parameters it has."""

    name: str
    description: str
    params: int


def parameter_summary(card: ModelCard | str, vocab_size: int, head: str = "mlm", **kw: Any) -> list[SummaryRow]:
    """Per-block parameter counts: embeddings, each layer (then its projection), the head."""
    model = build_on_meta(card, vocab_size, head, **kw)
    encoder: FlexiBERT = model if isinstance(model, FlexiBERT) else model.encoder  # type: ignore[assignment]
    parsed = encoder.card
    rows = [SummaryRow("embeddings", f"vocab {vocab_size} x h {parsed.h[0]}", _numel(encoder.embeddings))]
    for j, layer in enumerate(encoder.layers):
        o, h, n, f, p = parsed.layer(j)
        param = f"k{p}" if o == "DSC" else p
        ff = "/".join(str(w) for w in f)
        rows.append(SummaryRow(f"layers.{j}", f"{o}-{param} h{h} n{n} ff[{ff}]", _numel(layer)))
        if j < len(encoder.projections) and _numel(encoder.projections[j]):
            rows.append(SummaryRow(f"projections.{j}", f"{h} -> {parsed.h[j + 1]}", _numel(encoder.projections[j])))
    if model is not encoder:
        head_params = _numel(model) - _numel(encoder)
        rows.append(SummaryRow("head", head, head_params))
    return rows
