"""Analytic FLOPs and memoised parameter counts against independent references."""

from __future__ import annotations

import random

import pytest

from flexibench.bench.flops import card_flops
from flexibench.core import DesignSpace, ModelCard

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

SEQ = 32


def _counted(module, *inputs) -> int:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(*inputs)
    return counter.get_total_flops()


@pytest.mark.parametrize("name", ["bert-tiny", "bert-mini", "bert-2-256"])
def test_sa_sdp_cards_match_hugging_face_bert(name):
    """Homogeneous SA-SDP = BERT: the encoder's FLOPs equal transformers' BertEncoder under torch's counter."""
    transformers = pytest.importorskip("transformers")
    torch.set_num_threads(1)
    card = ModelCard.named(name)
    config = transformers.BertConfig(
        hidden_size=card.h[0],
        num_hidden_layers=card.l,
        num_attention_heads=card.n[0],
        intermediate_size=card.f[0][0],
        attn_implementation="eager",  # explicit matmuls, which the counter sees
    )
    encoder = transformers.models.bert.modeling_bert.BertEncoder(config).eval()
    hidden = torch.zeros(1, SEQ, card.h[0])
    assert card_flops(card, SEQ) == _counted(encoder, hidden)


CARDS = [
    '{"l":2,"o":["LT","LT"],"h":[128,128],"n":[2,2],"f":[[512],[512]],"p":["DCT","DCT"]}',
    '{"l":2,"o":["DSC","DSC"],"h":[256,256],"n":[4,4],"f":[[1024],[1024]],"p":[9,9]}',
    '{"l":2,"o":["LT","DSC"],"h":[128,256],"n":[4,2],"f":[[1024],[512,512,512]],"p":["DCT",5]}',
]


@pytest.mark.parametrize("text", CARDS)
def test_dct_and_dsc_cards_match_the_model_code(text):
    """The model's counted FLOPs (DCT as matmuls, convolutions) plus DSC's span convolution equal the formula.

    The span convolution runs as ``k`` elementwise multiply-adds (``ops.span_convolution``),
    which torch's counter does not see; the formula counts its ``T·h·k`` MACs as the
    convolution it is, so the check adds them to what the counter sees.
    """
    from flexibench.models.model import FlexiBERT

    torch.set_num_threads(1)
    card = ModelCard.parse(text)
    model = FlexiBERT.from_card(card, 100, dropout=0.0).eval()
    span = sum(2 * SEQ * h * int(p) for o, h, p in zip(card.o, card.h, card.p) if o == "DSC")
    assert card_flops(card, SEQ) == _counted(model, torch.zeros(1, SEQ, dtype=torch.long)) + span


def test_flops_grow_with_every_dimension():
    tiny = ModelCard.named("bert-tiny")
    assert card_flops(tiny, 256) > card_flops(tiny, 128)
    wma = ModelCard.parse(tiny.to_json().replace("SDP", "WMA"))
    assert card_flops(wma) > card_flops(tiny)


def test_parameter_counter_equals_count_parameters():
    from flexibench.bench.param_counts import ParameterCounter
    from flexibench.models import count_parameters

    counter = ParameterCounter(50_265)
    space = DesignSpace.default()
    rng = random.Random(0)
    cards = [ModelCard.named(n) for n in ("bert-mini", "flexibert-mini", "flexibert-mini-wo-h")]
    cards += [space.sample(rng, level) for level in (1, 1, 2, 3)]
    for card in cards + cards:  # second pass answers from the memo
        assert counter(card) == count_parameters(card, 50_265), card.short()
    assert counter.model_builds <= len(cards)
