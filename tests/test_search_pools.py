"""Restricted and finer-level search pools (flexibench.search.pools) and the runner accepting them."""

from __future__ import annotations

import numpy as np
import pytest

from flexibench.core import DesignSpace, ModelCard
from flexibench.library import build_library
from flexibench.search import SearchError, SyntheticObjective, make_encoding, run_search
from flexibench.search.pools import homogeneous, library_encoding, restrict


def test_homogeneous_pool_is_the_192_traditional_cards_with_unchanged_vectors() -> None:
    full = make_encoding("naive")
    pool = homogeneous(full)
    assert len(pool) == 96 + 96  # 2-layer cards are one stack; 4-layer ones repeat it
    assert all(card.is_homogeneous for card in pool.cards)
    assert ModelCard.named("bert-mini") in pool and ModelCard.named("flexibert-mini") not in pool
    rows = [full.index_of(card) for card in pool.cards]
    assert rows == sorted(rows)  # the full pool's order is kept
    np.testing.assert_array_equal(pool.X, full.X[rows])


def test_restrict_by_cards_and_an_empty_restriction_is_an_error() -> None:
    full = make_encoding("naive")
    named = [ModelCard.named(n) for n in ("bert-tiny", "fnet-mini")]
    pool = restrict(full, named)
    assert set(pool.cards) == set(named) and pool.name == "naive"
    with pytest.raises(SearchError, match="keeps none"):
        restrict(full, lambda card: False)


def test_runner_searches_only_the_given_pool_and_records_its_size() -> None:
    pool = homogeneous(make_encoding("naive"))
    result = run_search("re", SyntheticObjective(seed=0), budget=30, seed=0, encoding=pool)
    assert result.records[0]["pool"] == 192 and result.records[0]["encoding"] == "naive"
    cards = [ModelCard.from_dict(q["card"]) for q in result.queries]
    assert len(cards) == 30 and all(card in pool for card in cards)


def test_library_encoding_is_a_search_pool_for_a_finer_level() -> None:
    space = DesignSpace.default()
    rng = np.random.default_rng(0)
    cards = [space.card_at(2, int(i)) for i in rng.choice(space.count(2), size=40, replace=False)]
    library = build_library(cards, level=2, dim=4, k=10, steps=50)
    pool = library_encoding(library)
    assert pool.cards == tuple(library.cards) and pool.dim == 4
    np.testing.assert_allclose(pool.X.mean(axis=0), 0.0, atol=1e-5)
    result = run_search("rs", SyntheticObjective(seed=0), budget=10, seed=1, encoding=pool)
    assert all(ModelCard.from_dict(q["card"]) in pool for q in result.queries)
