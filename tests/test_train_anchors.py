"""The anchor set's rule: the fixed cards first, then picks spread over nano tertiles and families."""

from __future__ import annotations

import collections
import random

from flexibench.core import INITIAL_MODELS, DesignSpace, ModelCard, card_hash
from flexibench.train.anchors import ABLATIONS, FAMILIES, TERTILES, anchor_set, family, queue_lines


def _scored(per_family: int = 30) -> list[tuple[ModelCard, float]]:
    """``per_family`` level-1 cards of each family, ranked by a seeded shuffle (ranks 0..n-1 as scores)."""
    by_family = collections.defaultdict(list)
    for card in DesignSpace.default().enumerate(1):
        if len(by_family[family(card)]) < per_family:
            by_family[family(card)].append(card)
    cards = [card for f in FAMILIES for card in by_family[f]]
    random.Random(0).shuffle(cards)
    return [(card, float(i)) for i, card in enumerate(cards)]


def test_anchor_set_starts_with_the_initial_models_and_ablations():
    cards = anchor_set(_scored(), n_more=24)
    names = queue_lines(cards)
    assert names[:12] == list(INITIAL_MODELS)
    assert names[12:15] == list(ABLATIONS)
    assert len(cards) == 39 and len({card_hash(c) for c in cards}) == 39


def test_anchor_set_spreads_picks_over_tertiles_and_families():
    scored = _scored()
    rank = {card_hash(card): i for i, (card, _) in enumerate(scored)}
    picks = anchor_set(scored, n_more=24)[15:]
    strata = collections.Counter((TERTILES[min(2, 3 * rank[card_hash(c)] // len(scored))], family(c)) for c in picks)
    available = collections.Counter(
        (TERTILES[min(2, 3 * i // len(scored))], family(c)) for i, (c, _) in enumerate(scored)
    )
    assert len(available) == 12 and min(available.values()) >= 2
    assert strata == {stratum: 2 for stratum in available}  # 24 picks over 12 strata: 2 each


def test_anchor_set_passes_an_empty_stratum_share_to_the_others():
    no_lt = [(card, score) for card, score in _scored() if family(card) != "LT"]
    picks = anchor_set(no_lt, n_more=24)[15:]
    assert len(picks) == 24 and "LT" not in {family(c) for c in picks}


def test_anchor_set_is_deterministic_and_seeded():
    scored = _scored()
    same = [card_hash(c) for c in anchor_set(scored, n_more=24, seed=1)]
    assert same == [card_hash(c) for c in anchor_set(list(reversed(scored)), n_more=24, seed=1)]
    assert same != [card_hash(c) for c in anchor_set(scored, n_more=24, seed=2)]
