"""Neighbour lists (overlap desc, embedding distance asc), the transfer rule, Library I/O, level building."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from flexibench.core import DesignSpace, ModelCard
from flexibench.core.errors import CardError, DataError
from flexibench.library import Library, build_level_library, build_library, transfer_allowed
from flexibench.library.neighbours import biased_overlap, neighbour_lists

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def small_library() -> Library:
    cards = list(DesignSpace.default().enumerate(1))[::31][:300]
    return build_library(cards, level=1, dim=4, k=20, steps=100)


def brute_force(cards: list[ModelCard], coords: np.ndarray, i: int, k: int) -> list[int]:
    dist = np.sqrt(((coords - coords[i]) ** 2).sum(axis=1))
    others = [j for j in range(len(cards)) if j != i]
    return sorted(others, key=lambda j: (-biased_overlap(cards[i], cards[j]), dist[j], j))[:k]


def test_overlap_and_transfer_rule():
    tiny = ModelCard.named("bert-tiny")
    mini = ModelCard.named("flexibert-mini")
    assert biased_overlap(tiny, tiny) == 2
    swapped = ModelCard.from_dict({**mini.to_dict(), "o": ["SA", "SA", "LT", "SA"], "p": ["SDP", "SDP", "DCT", "SDP"]})
    assert biased_overlap(mini, swapped) == 3
    assert not transfer_allowed(mini, swapped)  # 3/4 < 0.8
    assert transfer_allowed(mini, swapped, tau=0.75)
    with pytest.raises(ValueError, match="tau"):
        transfer_allowed(mini, swapped, tau=1.5)


def test_neighbour_lists_match_brute_force():
    cards = list(DesignSpace.default().enumerate(1))[::17][:400]
    coords = np.random.default_rng(0).normal(size=(len(cards), 3)).astype(np.float32)
    lists = neighbour_lists(cards, coords, k=25, chunk=64)
    for i in np.random.default_rng(1).choice(len(cards), 40, replace=False):
        assert lists[i].tolist() == brute_force(cards, coords, int(i), 25)


def test_library_lookup_embed_and_roundtrip(small_library, tmp_path):
    lib = small_library
    assert lib.embeddings.shape == (len(lib), 4) and lib.embeddings.dtype == np.float32
    assert lib.neighbours.shape == (len(lib), 20) and lib.neighbours.dtype == np.int32
    card = lib.cards[7]
    assert lib.index_of(card) == 7
    assert np.array_equal(lib.embed(card), lib.embeddings[7])
    with pytest.raises(CardError, match="library"):
        lib.index_of(ModelCard.named("flexibert-mini"))
    outside = lib.embed(ModelCard.named("flexibert-mini"))
    assert outside.shape == (4,) and np.isfinite(outside).all()
    path = lib.save(tmp_path / "lib.npz")
    back = Library.load(path)
    assert back.cards == lib.cards and back.hashes == lib.hashes
    assert np.array_equal(back.embeddings, lib.embeddings) and np.array_equal(back.neighbours, lib.neighbours)
    (tmp_path / "bad.npz").write_bytes(b"nope")
    with pytest.raises(DataError):
        Library.load(tmp_path / "bad.npz")


def test_level_two_library_from_crossovers(small_library):
    space = DesignSpace.default()
    best = [small_library.cards[3], small_library.cards[100]]
    lib2 = build_level_library(best, small_library, level=2, k_neighbours=3, steps=50)
    assert all(space.level_of(c) <= 2 for c in lib2.cards)
    assert any(space.level_of(c) == 2 for c in lib2.cards)
    for parent in best:
        assert parent in lib2
    with pytest.raises(CardError, match="level"):
        build_level_library(best, small_library, level=1)


def test_a_level_library_is_built_once_then_read_from_the_cache(tmp_path, monkeypatch) -> None:
    """load_or_build_library (what the t2v encoding calls) on a small space: built, cached, then loaded as is."""
    from flexibench.core.design_space import DesignSpace
    from flexibench.library import library as module

    space = DesignSpace.from_dict(
        {"layers": [2], "operations": {"SA": ["SDP"], "LT": ["DFT"]}, "heads": [2, 4], "hidden": [128],
         "ff_widths": [512], "ff_depths": [1], "stack": 2, "name": "small"}
    )  # fmt: skip
    built = module.load_or_build_library(level=1, space=space, dim=2, cache_dir=tmp_path)
    assert len(built.cards) == space.count(1) and sorted(p.suffix for p in tmp_path.iterdir()) == [".npz", ".npz"]
    monkeypatch.setattr(module, "build_library", lambda *a, **k: pytest.fail("rebuilt although cached"))
    cached = module.load_or_build_library(level=1, space=space, dim=2, cache_dir=tmp_path)
    assert cached.hashes == built.hashes and np.array_equal(cached.embeddings, built.embeddings)
    assert np.array_equal(cached.neighbours, built.neighbours)
