"""Design space facts from the paper: sizes per level, enumeration, sampling, moves, crossover."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from flexibench.core import DesignSpace, ModelCard, card_hash
from flexibench.core.errors import CardError

SPACE = DesignSpace.default()


def test_level_sizes_match_the_paper() -> None:
    assert SPACE.count(1) == 96 + 96**2 == 9312
    assert SPACE.count(2) == 96**2 + 96**4 == 84_943_872
    assert SPACE.count(3) == 240**2 + 240**4 == 3_317_817_600  # the paper's "~3.32 billion"


def test_level1_enumeration_gives_9312_distinct_hashes() -> None:
    cards = list(SPACE.enumerate(1))
    assert len(cards) == 9312
    assert len(set(cards)) == 9312
    assert len({card_hash(c) for c in cards}) == 9312
    assert sum(c.is_homogeneous for c in cards) == 192  # 96 two-layer + 96 four-layer


def test_index_round_trip_and_enumeration_order() -> None:
    for level in (1, 2, 3):
        rng = random.Random(level)
        for _ in range(200):
            i = rng.randrange(SPACE.count(level))
            card = SPACE.card_at(level, i)
            assert SPACE.index_of(card, level) == i
    for i, card in enumerate(SPACE.enumerate(1)):
        if i % 997 == 0:
            assert SPACE.card_at(1, i) == card


def test_levels_are_nested_and_level_of_is_the_coarsest() -> None:
    assert SPACE.level_of(ModelCard.named("bert-tiny")) == 1
    # FlexiBERT-Mini came out of the s = 1 search, yet its layers pair up: it lies in level 1 too.
    assert SPACE.level_of(ModelCard.named("flexibert-mini")) == 1
    assert SPACE.level_of(ModelCard.named("flexibert-mini-wo-s")) == 2  # SDP then WMA
    hetero = ModelCard.from_dict({**ModelCard.named("bert-tiny").to_dict(), "f": [[512, 1024, 512], [512]]})
    assert SPACE.level_of(hetero) == 3


def test_sampling_is_uniform_over_the_level() -> None:
    rng = random.Random(0)
    layers = Counter(SPACE.sample(rng, level=1).l for _ in range(20_000))
    # P(l = 2) = 96 / 9312 = 1.03 %
    assert 0.006 < layers[2] / 20_000 < 0.015
    assert SPACE.sample(3, level=2) == SPACE.sample(3, level=2)


def test_mutations_differ_in_one_choice() -> None:
    card = ModelCard.named("bert-tiny")
    muts = SPACE.mutations(card, level=1)
    # 5 other op/param pairs + 1 hidden + 1 heads + 1 width + 1 depth + 1 layer count
    assert len(muts) == 10 and len(set(muts)) == 10
    for m in muts:
        SPACE.validate(m, 1)
        assert m != card
    mini = ModelCard.named("bert-mini")
    assert len(SPACE.mutations(mini, level=2)) == 4 * 9 + 1


def test_crossover_product_of_parent_choices() -> None:
    """Appendix B.4 / Figure 9: per depth, the product of the parents' choices; finer stacks."""
    a = ModelCard.named("bert-tiny")  # SA-SDP h128 n2 f512
    b = ModelCard.named("fnet-2-256")  # LT-DFT h256 n4 f1024
    children = SPACE.crossover(a, b, level=2)
    # per layer: 2 ops x 2 hidden x 2 heads x 2 widths = 16 choices, two free layers
    assert len(children) == 16**2
    assert a in children and b in children
    for child in children:
        SPACE.validate(child, 2)
    deep = SPACE.crossover(ModelCard.named("bert-tiny"), ModelCard.named("bert-mini"), level=2)
    assert {c.l for c in deep} == {2, 4}


def test_crossover_into_level3_mixes_feed_forward_widths() -> None:
    a = ModelCard.from_dict({**ModelCard.named("bert-tiny").to_dict(), "f": [[512] * 3, [512] * 3]})
    b = ModelCard.named("bert-tiny").to_dict()
    b["f"] = [[1024] * 3, [1024] * 3]
    children = SPACE.crossover(a, ModelCard.from_dict(b), level=3)
    assert any(len(set(c.f[0])) > 1 for c in children)
    assert len(children) == (2**3) ** 2


def test_larger_yaml_space_works_unchanged(tmp_path) -> None:
    text = """
name: bigger
layers: [2, 4, 6]
operations: {SA: [SDP, WMA], LT: [DFT, DCT], DSC: [5, 9, 13]}
heads: [2, 4, 8]
hidden: [128, 256, 512]
ff_widths: [512, 1024, 2048]
ff_depths: [1, 3]
stack: 2
"""
    path = tmp_path / "space.yaml"
    path.write_text(text)
    big = DesignSpace.from_yaml(path)
    per = 7 * 3 * 3 * 3 * 2
    assert big.count(1) == per + per**2 + per**3
    card = ModelCard.from_dict(
        {"l": 6, "o": ["DSC"] * 6, "h": [512] * 6, "n": [8] * 6, "f": [[2048]] * 6, "p": [13] * 6}
    )
    assert big.level_of(card) == 1
    assert big.index_of(card, 1) < big.count(1)
    with pytest.raises(CardError, match="allowed"):
        SPACE.validate(card)
