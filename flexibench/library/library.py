"""The graph library: cards, hashes, Transformer2vec embeddings and neighbour lists.

``load_or_build_library(level=1)`` is what other code calls: the first call on a fresh
machine enumerates the level, computes the all-pairs GED table
(:mod:`flexibench.library.all_pairs`), fits the embedding and the neighbour lists and
caches everything; later calls load the ``.npz`` in well under a second.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from flexibench.core.cache import cache_dir as resolve_cache_dir
from flexibench.core.card import ModelCard
from flexibench.core.design_space import DesignSpace
from flexibench.core.errors import CardError, DataError
from flexibench.core.graph import card_hash
from flexibench.library import all_pairs, embedding, neighbours, store
from flexibench.library.costs import CostModel
from flexibench.library.ged import lower_bound_from_profiles, profile

FORMAT_VERSION = 1
ANCHORS = 256


@dataclass
class Library:
    """Cards of one hierarchy level with their embedding (N, d) and neighbour indices (N, k)."""

    cards: list[ModelCard]
    hashes: list[str]
    embeddings: np.ndarray
    neighbours: np.ndarray
    level: int = 1
    cost_model: CostModel = field(default_factory=CostModel.default)
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._row = {h: i for i, h in enumerate(self.hashes)}
        self._profiles: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.cards)

    @property
    def dim(self) -> int:
        return int(self.embeddings.shape[1])

    def index_of(self, card: ModelCard) -> int:
        """Row of ``card`` (looked up by graph hash); CardError if it is not in the library."""
        digest = card_hash(card)
        try:
            return self._row[digest]
        except KeyError:
            raise CardError(
                "card", card.short(), f"a card of this level-{self.level} library ({len(self)} cards)"
            ) from None

    def __contains__(self, card: ModelCard) -> bool:
        return card_hash(card) in self._row

    @property
    def profiles(self) -> np.ndarray:
        if self._profiles is None:
            self._profiles = all_pairs.profiles(self.cards, self.cost_model)
        return self._profiles

    def distances_x10(self, card: ModelCard) -> np.ndarray:
        """Table distances (x10) from ``card`` to every library card, the same measure the embedding fits."""
        p = profile(card, self.cost_model).astype(np.int64)
        diff = np.abs(self.profiles.astype(np.int64) - p[None, :])
        return 10 * diff[:, :-1].sum(axis=1) + diff[:, -1]

    def embed(self, card: ModelCard) -> np.ndarray:
        """Embedding of ``card``: its library row, or (outside the library) a point fitted to anchors.

        Out-of-library cards (levels 2-3) are placed by matching their distances to their
        ``ANCHORS`` nearest library cards (:func:`flexibench.library.embedding.embed_new`).
        """
        if card in self:
            return self.embeddings[self.index_of(card)].copy()
        dist = self.distances_x10(card) / 10.0
        nearest = np.argsort(dist, kind="stable")[:ANCHORS]
        return embedding.embed_new(self.embeddings[nearest], dist[nearest])

    def nearest(self, card: ModelCard, k: int = 10) -> list[int]:
        """Neighbour indices of any card (overlap desc, embedding distance asc), excluding itself."""
        if card in self and k <= self.neighbours.shape[1]:
            return self.neighbours[self.index_of(card), :k].tolist()
        codes = neighbours.layer_codes(list(self.cards) + [card])
        query = self.embed(card)[None, :]
        exclude = np.array([self.index_of(card)]) if card in self else None
        return neighbours.rank_neighbours(codes[-1:], query, codes[:-1], self.embeddings, k, exclude)[0].tolist()

    # ------------------------------------------------------------------ I/O
    def save(self, path: str | os.PathLike) -> Path:
        """Write the library as one ``.npz`` (cards as canonical JSON); atomic rename."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        meta = dict(self.meta, format_version=FORMAT_VERSION, level=self.level, cost_model=self.cost_model.to_dict())
        np.savez(
            tmp,
            cards=np.array([c.to_json() for c in self.cards]),
            hashes=np.array(self.hashes),
            embeddings=self.embeddings.astype(np.float32),
            neighbours=self.neighbours.astype(np.int32),
            meta=np.array(json.dumps(meta)),
        )
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Library:
        """Read a library written by :meth:`save`; DataError if missing or of another format."""
        path = Path(path)
        try:
            with np.load(path) as data:
                meta = json.loads(str(data["meta"]))
                cards = [ModelCard.from_json(str(s)) for s in data["cards"]]
                hashes = [str(h) for h in data["hashes"]]
                emb, nb = data["embeddings"], data["neighbours"]
        except (OSError, KeyError, ValueError) as exc:
            raise DataError(f"{path}: not a readable library file ({exc})") from None
        if meta.get("format_version") != FORMAT_VERSION:
            raise DataError(f"{path}: library format {meta.get('format_version')}, expected {FORMAT_VERSION}")
        cm = CostModel(tuple(meta["cost_model"]["order"]))
        return cls(cards, hashes, emb, nb, int(meta["level"]), cm, meta)


def build_library(
    cards: Sequence[ModelCard],
    level: int,
    dim: int = 16,
    k: int = neighbours.DEFAULT_K,
    cost_model: CostModel | None = None,
    steps: int = 1000,
    seed: int = 0,
    table: np.ndarray | None = None,
) -> Library:
    """Embed and index an explicit set of cards (duplicates by hash are dropped)."""
    cm = cost_model or CostModel.default()
    unique: dict[str, ModelCard] = {}
    for card in cards:
        unique.setdefault(card_hash(card), card)
    if table is not None and len(unique) != len(cards):
        raise CardError("cards", len(cards), "distinct graphs when a precomputed table is given")
    hashes, cards = list(unique), list(unique.values())
    n = len(cards)
    if n < 3:
        raise CardError("cards", n, "at least 3 distinct cards to build a library")
    t0 = time.perf_counter()
    condensed = table if table is not None else all_pairs.condensed_lower_bound(cards, cm)
    t1 = time.perf_counter()
    coords = embedding.fit_embedding(condensed, n, dim=min(dim, n - 2), steps=steps, seed=seed)
    t2 = time.perf_counter()
    report = embedding.evaluate(coords, condensed, sample=200_000)
    nb = neighbours.neighbour_lists(cards, coords, k)
    t3 = time.perf_counter()
    meta = {
        "distance": all_pairs.TABLE_KIND,
        "dim": int(coords.shape[1]),
        "k": int(nb.shape[1]),
        "fit_rmse": report.rmse,
        "fit_spearman": report.spearman,
        "seconds": {"ged": t1 - t0, "embedding": t2 - t1, "neighbours": t3 - t2},
    }
    return Library(cards, hashes, coords, nb, level, cm, meta)


def ged_table_path(level: int, space: DesignSpace, cost_model: CostModel, cache: str | os.PathLike | None) -> Path:
    return resolve_cache_dir(cache) / f"ged-L{level}-{store.space_digest(space, cost_model)}.npz"


def load_or_build_ged_table(
    level: int = 1,
    space: DesignSpace | None = None,
    cost_model: CostModel | None = None,
    cache_dir: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
) -> tuple[np.ndarray, Path]:
    """Condensed GED table (x10, squareform order) of a whole level, cached."""
    space = space or DesignSpace.default()
    cm = cost_model or CostModel.from_space(space)
    if level != 1:
        raise CardError("level", level, "1 (levels 2-3 are built from crossovers: build_level_library)")
    path = Path(out) if out is not None else ged_table_path(level, space, cm, cache_dir)
    if path.exists():
        return store.load_table(path)[0], path
    cards = list(space.enumerate(level))
    condensed = all_pairs.condensed_lower_bound(cards, cm)
    meta = {"kind": all_pairs.TABLE_KIND, "level": level, "n": len(cards), "cost_model": cm.to_dict()}
    store.save_table(path, condensed, meta)
    return condensed, path


def load_or_build_library(
    level: int = 1,
    space: DesignSpace | None = None,
    dim: int = 16,
    cache_dir: str | os.PathLike | None = None,
) -> Library:
    """The level's library from the cache, building (minutes) and caching it on first use."""
    space = space or DesignSpace.default()
    cm = CostModel.from_space(space)
    path = resolve_cache_dir(cache_dir) / f"library-L{level}-d{dim}-{store.space_digest(space, cm)}.npz"
    if path.exists():
        try:
            return Library.load(path)
        except DataError:
            path.unlink()
    table, _ = load_or_build_ged_table(level, space, cm, cache_dir)
    library = build_library(list(space.enumerate(level)), level, dim=dim, cost_model=cm, table=table)
    library.save(path)
    return library


def pair_distance_x10(a: ModelCard, b: ModelCard, cost_model: CostModel | None = None) -> int:
    """The library's table distance for one pair (same measure as the cached table)."""
    cm = cost_model or CostModel.default()
    return lower_bound_from_profiles(profile(a, cm), profile(b, cm))
