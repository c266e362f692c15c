"""Weight transfer (Section 3.3.3): biased overlap and copying exactly the shared prefix."""

from __future__ import annotations

import pytest
import torch

from flexibench.core import ModelCard
from flexibench.core.errors import FlexiBenchError
from flexibench.models import (
    FlexiBERT,
    FlexiBERTForMaskedLM,
    FlexiBERTForSequenceClassification,
    biased_overlap,
    transfer_weights,
)
from flexibench.models.transfer import TransferReport, overlap_fraction

torch.set_num_threads(1)
VOCAB, MAX_LEN = 64, 32


def card(layers: list[tuple]) -> ModelCard:
    """Card from per-layer tuples (o, h, n, f, p)."""
    return ModelCard.from_dict(
        {
            "l": len(layers),
            "o": [x[0] for x in layers],
            "h": [x[1] for x in layers],
            "n": [x[2] for x in layers],
            "f": [list(x[3]) for x in layers],
            "p": [x[4] for x in layers],
        }
    )


SA = ("SA", 256, 2, (512, 512, 512), "SDP")
SA_WMA = ("SA", 256, 2, (512, 512, 512), "WMA")
LT = ("LT", 128, 4, (1024,), "DCT")
DSC = ("DSC", 128, 2, (512,), 9)
LT_256 = ("LT", 256, 4, (1024,), "DFT")


def test_biased_overlap_counts_from_the_input_and_stops_at_first_difference() -> None:
    mini = ModelCard.named("flexibert-mini")
    assert biased_overlap(mini, mini) == 4
    assert biased_overlap(mini, card([SA, SA, LT, DSC])) == 3
    assert biased_overlap(mini, card([SA_WMA, SA, LT, LT])) == 0  # later layers equal, first differs
    assert biased_overlap(mini, card([SA, SA])) == 2  # shorter neighbour
    assert biased_overlap(card([SA, SA]), mini) == 2
    assert biased_overlap(card([SA, SA_WMA, LT, LT]), mini) == 1
    assert overlap_fraction(card([SA, SA]), mini) == 1.0
    assert overlap_fraction(mini, card([SA, SA])) == 0.5


def _trained(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Stand-in for a trained model: every tensor moved away from its (partly constant) initialisation."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(torch.randn(param.shape, generator=gen))
    return model


def _check(source: torch.nn.Module, target: torch.nn.Module, expected_prefixes: list[str]) -> TransferReport:
    before = {k: v.clone() for k, v in target.state_dict().items()}
    report = transfer_weights(source, target)
    src = dict(source.named_parameters())
    src_prefix = "encoder." if not isinstance(source, FlexiBERT) else ""
    tgt_prefix = "encoder." if not isinstance(target, FlexiBERT) else ""
    names = [name for name, _ in target.named_parameters()]
    assert sorted(report.copied + report.initialised) == sorted(names)
    for name, param in target.named_parameters():
        inner = name[len(tgt_prefix) :] if name.startswith(tgt_prefix) else None
        shared = inner is not None and any(inner.startswith(p) for p in expected_prefixes)
        if shared:
            assert name in report.copied
            assert torch.equal(param, src[src_prefix + inner]), name
        else:
            assert name in report.initialised
            assert torch.equal(param, before[name]), name  # untouched: still its initialisation
            other = src.get(src_prefix + inner) if inner is not None else None
            if other is not None and other.shape == param.shape:
                assert not torch.equal(param, other), name
    return report


def test_transfer_copies_embeddings_and_prefix_layers() -> None:
    source = _trained(FlexiBERTForMaskedLM.from_card(card([SA, SA, LT, DSC]), VOCAB, max_len=MAX_LEN, seed=1), 0)
    target = FlexiBERTForMaskedLM.from_card("flexibert-mini", VOCAB, max_len=MAX_LEN, seed=2)
    expected = ["embeddings.", "layers.0.", "layers.1.", "layers.2.", "projections.0.", "projections.1."]
    report = _check(source, target, expected)
    assert report.overlap == 3 and report.target_layers == 4 and report.fraction == 0.75
    assert report.embeddings_copied
    assert "encoder.layers.3.op.qv.weight" in report.initialised
    assert "transform.weight" in report.initialised and "decoder_bias" in report.initialised


def test_transfer_into_classifier_and_from_bare_encoder() -> None:
    source = _trained(FlexiBERT.from_card("flexibert-mini", VOCAB, max_len=MAX_LEN, seed=1), 0)
    target = FlexiBERTForSequenceClassification.from_card(card([SA, SA_WMA, LT]), VOCAB, 2, max_len=MAX_LEN, seed=2)
    report = _check(source, target, ["embeddings.", "layers.0."])
    assert report.overlap == 1 and report.fraction == pytest.approx(1 / 3)
    assert "pooler.weight" in report.initialised


def test_no_overlap_and_other_first_hidden_size_copies_nothing() -> None:
    source = _trained(FlexiBERT.from_card(card([LT_256, SA]), VOCAB, max_len=MAX_LEN, seed=1), 0)
    target = FlexiBERT.from_card(card([LT, LT]), VOCAB, max_len=MAX_LEN, seed=2)
    report = _check(source, target, [])
    assert report.overlap == 0 and report.fraction == 0.0 and not report.embeddings_copied
    assert report.copied == ()


def test_other_vocabulary_keeps_embeddings_but_copies_layers() -> None:
    source = _trained(FlexiBERT.from_card("bert-tiny", VOCAB, max_len=MAX_LEN, seed=1), 0)
    target = FlexiBERT.from_card("bert-tiny", VOCAB + 8, max_len=MAX_LEN, seed=2)
    report = _check(source, target, ["layers.0.", "layers.1."])
    assert report.overlap == 2 and report.fraction == 1.0 and not report.embeddings_copied


def test_transferred_model_computes_like_the_source_on_the_shared_prefix() -> None:
    source = _trained(FlexiBERT.from_card("bert-tiny", VOCAB, max_len=MAX_LEN, seed=1), 0).eval()
    target = FlexiBERT.from_card("bert-tiny", VOCAB, max_len=MAX_LEN, seed=2).eval()
    transfer_weights(source, target)
    ids = torch.randint(1, VOCAB, (2, 10))
    assert torch.equal(source(ids), target(ids))


def test_incompatible_options_are_rejected() -> None:
    source = FlexiBERT.from_card("flexibert-mini", VOCAB, max_len=MAX_LEN)
    target = FlexiBERT.from_card("flexibert-mini", VOCAB, max_len=MAX_LEN, ff_mode="sequential")
    with pytest.raises(FlexiBenchError, match="ff_mode"):
        transfer_weights(source, target)
    with pytest.raises(FlexiBenchError, match="not a FlexiBERT"):
        transfer_weights(torch.nn.Linear(2, 2), target)
