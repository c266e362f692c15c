"""Search pools other than a whole level: subsets of an encoding and libraries of finer levels.

The paper searches more than the 9,312 level-1 cards: Figure 4 (a) restricts every
algorithm to the *homogeneous* models (all encoder layers make the same choices;
192 of level 1), and the hierarchical search of Section 3.2.2 searches a level-2
library built from crossovers (:func:`flexibench.library.levels.build_level_library`).
Optimizers only ever see an :class:`~flexibench.search.encodings.Encoding` (a pool of
cards and one vector per card), so both are expressed here as encodings that
:func:`flexibench.search.run_search` accepts in place of an encoding name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from flexibench.core import DesignSpace, ModelCard
from flexibench.search.encodings import Encoding, normalise
from flexibench.search.protocol import SearchError


def restrict(encoding: Encoding, keep: Callable[[ModelCard], bool] | Iterable[ModelCard]) -> Encoding:
    """The rows of ``encoding`` whose card passes ``keep`` (a predicate or a collection of cards).

    Vectors are kept as they are (not re-normalised), so a card has the same vector
    in the restricted pool as in the full one and the two searches see the same
    geometry. The order of the full pool is kept.
    """
    if callable(keep):
        rows = [i for i, card in enumerate(encoding.cards) if keep(card)]
    else:
        wanted = set(keep)
        rows = [i for i, card in enumerate(encoding.cards) if card in wanted]
    if not rows:
        raise SearchError(f"the restriction keeps none of the {len(encoding)} cards of the {encoding.name} pool")
    index = np.asarray(rows, dtype=np.int64)
    cards = tuple(encoding.cards[i] for i in rows)
    return Encoding(encoding.name, cards, encoding.X[index].copy(), encoding.space, encoding.level)


def homogeneous(encoding: Encoding) -> Encoding:
    """Only the homogeneous cards (every encoder layer identical: a traditional model), as in Figure 4 (a)."""
    return restrict(encoding, lambda card: card.is_homogeneous)


def library_encoding(library: Any, name: str = "t2v") -> Encoding:
    """A graph library's cards with its Transformer2vec rows, normalised like the level-1 ``t2v`` encoding.

    ``library`` is a :class:`flexibench.library.Library` (any level) or anything with
    ``cards`` and ``embeddings``; this is how a level-2 library from crossovers
    becomes a search pool.
    """
    cards, level = tuple(library.cards), getattr(library, "level", None)
    return Encoding(name, cards, normalise(np.asarray(library.embeddings)), DesignSpace.default(), level)
