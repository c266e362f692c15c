"""Weight transfer between neighbouring models (Section 3.3.3).

The biased overlap of two cards counts identical encoder layers from the input and
stops at the first difference. A query model ``q`` may start from a trained neighbour
``n``: the shared prefix (and the token embeddings, when the first hidden sizes agree)
is copied, everything else keeps its fresh initialisation. ``biased_overlap`` lives
in :mod:`flexibench.core.card` (torch-free) and is re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flexibench.core.card import ModelCard, biased_overlap  # noqa: F401 - re-exported
from flexibench.core.errors import FlexiBenchError
from flexibench.core.transfer_rule import overlap_fraction  # noqa: F401 - re-exported

if TYPE_CHECKING:  # keep this module importable without torch
    from torch import nn


@dataclass(frozen=True)
class TransferReport:
    """What :func:`transfer_weights` did: parameter names of the target (``model.named_parameters``)."""

    overlap: int
    target_layers: int
    embeddings_copied: bool
    copied: tuple[str, ...]
    initialised: tuple[str, ...]

    @property
    def fraction(self) -> float:
        """Biased overlap fraction ``overlap / target_layers``."""
        return self.overlap / self.target_layers


def _encoder_and_prefix(model: nn.Module) -> tuple[nn.Module, str]:
    from flexibench.models.model import FlexiBERT

    if isinstance(model, FlexiBERT):
        return model, ""
    encoder = getattr(model, "encoder", None)
    if isinstance(encoder, FlexiBERT):
        return encoder, "encoder."
    raise FlexiBenchError(f"transfer_weights: {type(model).__name__} is not a FlexiBERT model or head")


def _shared_groups(source: nn.Module, target: nn.Module, overlap: int) -> tuple[list[str], bool]:
    """Encoder-relative name prefixes to copy: embeddings (if compatible), prefix layers, inner projections."""
    groups = [f"layers.{j}." for j in range(overlap)]
    groups += [f"projections.{j}." for j in range(overlap - 1)]  # projections between two copied layers
    same_embeddings = all(
        a.shape == b.shape for a, b in zip(source.embeddings.parameters(), target.embeddings.parameters())
    ) and len(list(source.embeddings.parameters())) == len(list(target.embeddings.parameters()))
    if same_embeddings:
        groups.append("embeddings.")
    return groups, same_embeddings


def transfer_weights(source_model: nn.Module, target_model: nn.Module) -> TransferReport:
    """Copy the biased-overlap prefix of ``source_model`` into ``target_model`` in place.

    Copies the token(-type) embeddings when their shapes agree (same first hidden size,
    vocabulary and token types), the tensors of the first ``biased_overlap`` layers, and
    the projections between copied layers. Heads and all other tensors are left as they
    are (their initialisation). Both models may be bare encoders or task heads.
    """
    import torch

    source, _ = _encoder_and_prefix(source_model)
    target, prefix = _encoder_and_prefix(target_model)
    for option in ("ff_mode", "max_len"):
        if getattr(source.options, option) != getattr(target.options, option):
            raise FlexiBenchError(
                f"transfer_weights: source and target differ in {option} ({getattr(source.options, option)!r} "
                f"vs {getattr(target.options, option)!r}); their layers are not comparable"
            )
    overlap = biased_overlap(source.card, target.card)
    groups, embeddings_copied = _shared_groups(source, target, overlap)
    source_params = dict(source.named_parameters())
    copied, initialised = [], []
    seen: set[int] = set()
    with torch.no_grad():
        for name, param in target_model.named_parameters():
            if id(param) in seen:
                continue
            seen.add(id(param))
            inner = name[len(prefix) :] if name.startswith(prefix) else None
            if inner is not None and any(inner.startswith(group) for group in groups):
                param.copy_(source_params[inner].to(device=param.device, dtype=param.dtype))
                copied.append(name)
            else:
                initialised.append(name)
    return TransferReport(overlap, target.card.l, embeddings_copied, tuple(copied), tuple(initialised))
