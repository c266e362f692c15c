"""Vector encodings of a pool of cards: ``naive`` one-hot features and ``t2v`` Transformer2vec rows.

Model-based searchers (GP-BO, BANANAS, BOSHNAS) see architectures only through
these vectors, so the encoding is a first-class choice (the paper's Figure 4
compares naive against Transformer2vec). Both encodings are centred and divided
by one global scale: this keeps Euclidean geometry (Transformer2vec distances
approximate graph edit distances) while giving networks inputs of unit size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from flexibench.core import LEVELS, DesignSpace, ModelCard, naive_features
from flexibench.core.errors import FlexiBenchError

ENCODINGS = ("naive", "t2v")


@dataclass(frozen=True, eq=False)
class Encoding:
    """A pool of cards and one normalised vector per card (row ``i`` of ``X`` is ``cards[i]``).

    The pool knows its design space and its hierarchy level: the finest level any of
    its cards needs (levels nest, so a level-2 pool of crossovers may list level-1
    parents first). Algorithms that move in the space (mutations, policies over
    design choices) read both from here rather than guessing from a card.
    ``level=None`` computes it from the cards.
    """

    name: str
    cards: tuple[ModelCard, ...]
    X: np.ndarray
    space: DesignSpace = field(default_factory=DesignSpace.default, repr=False)
    level: int | None = None
    _lookup: dict[ModelCard, int] = field(repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        if self.X.ndim != 2 or self.X.shape[0] != len(self.cards):
            raise FlexiBenchError(f"encoding {self.name}: X has shape {self.X.shape} for {len(self.cards)} cards")
        if self.level is None:
            level = max((self.space.level_of(card) for card in self.cards), default=1)
            object.__setattr__(self, "level", level)
        elif self.level not in LEVELS:
            raise FlexiBenchError(f"encoding {self.name}: level {self.level} is not allowed; allowed: {list(LEVELS)}")
        if not self._lookup:
            self._lookup.update({card: i for i, card in enumerate(self.cards)})

    def __len__(self) -> int:
        return len(self.cards)

    @property
    def dim(self) -> int:
        return int(self.X.shape[1])

    def index_of(self, card: ModelCard) -> int:
        """Row of ``card``; a clear error for a card outside the pool."""
        try:
            return self._lookup[card]
        except KeyError:
            raise FlexiBenchError(f"card {card.short()} is not in the {self.name} encoding's pool") from None

    def __contains__(self, card: object) -> bool:
        return card in self._lookup


def normalise(raw: np.ndarray) -> np.ndarray:
    """Centre and divide by one global scale (the RMS distance to the centre)."""
    raw = np.asarray(raw, dtype=np.float64)
    centred = raw - raw.mean(axis=0, keepdims=True)
    scale = np.sqrt((centred**2).sum(axis=1).mean() / raw.shape[1]) or 1.0
    return (centred / scale).astype(np.float32)


def naive_encoding(space: DesignSpace | None = None, level: int = 1) -> Encoding:
    """Every card of ``level`` (in :meth:`DesignSpace.enumerate` order) with naive features."""
    space = space or DesignSpace.default()
    cards = tuple(space.enumerate(level))
    return Encoding("naive", cards, normalise(naive_features(cards, space)), space, level)


def t2v_encoding(level: int = 1, dim: int = 16) -> Encoding:
    """The graph library's Transformer2vec embeddings (``flexibench.library``) as an encoding."""
    from flexibench.library import load_or_build_library

    library = load_or_build_library(level=level, dim=dim)
    cards = tuple(library.cards)
    return Encoding("t2v", cards, normalise(np.asarray(library.embeddings)), DesignSpace.default(), level)


def make_encoding(name: str, level: int = 1, space: DesignSpace | None = None) -> Encoding:
    """An encoding by name over a whole level of ``space`` (default: the paper's space).

    Pools of the default space are cached per process (shared by every run).
    """
    if name not in ENCODINGS:
        raise FlexiBenchError(f"encoding: {name!r} is not allowed; allowed: {list(ENCODINGS)}")
    if space is None or space == DesignSpace.default():
        return _default_encoding(name, level)
    if name == "t2v":
        raise FlexiBenchError(
            f"encoding: 't2v' is built on the packaged design space, not on {space.name!r}; use 'naive' there"
        )
    return naive_encoding(space, level)


@lru_cache(maxsize=4)
def _default_encoding(name: str, level: int) -> Encoding:
    if name == "naive":
        return naive_encoding(DesignSpace.default(), level)
    return t2v_encoding(level)
