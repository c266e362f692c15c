"""Libraries for hierarchy levels 2 and 3 (Section 3.2.2, Appendix B.4).

The next level's graph library is the union of crossovers between each of the best
cards of the previous level and its nearest neighbours in the previous library
(``DesignSpace.crossover``: every stack of a child chooses from the product of the
parents' design choices at that depth, with s/2 layers sharing a choice).
"""

from __future__ import annotations

from collections.abc import Sequence

from flexibench.core.card import ModelCard
from flexibench.core.design_space import DesignSpace
from flexibench.core.errors import CardError
from flexibench.core.graph import card_hash
from flexibench.library.library import Library, build_library


def crossover_cards(
    best_cards: Sequence[ModelCard],
    previous_library: Library,
    level: int,
    k_neighbours: int = 10,
    space: DesignSpace | None = None,
) -> list[ModelCard]:
    """Distinct children of (best card x each of its ``k_neighbours`` neighbours), plus the parents.

    Parents are included so that the finer library contains the coarse optimum
    (every level-``l`` card is also a level-``l+1`` card).
    """
    if level not in (2, 3):
        raise CardError("level", level, [2, 3])
    if not best_cards:
        raise CardError("best_cards", [], "at least one card of the previous level")
    space = space or DesignSpace.default()
    out: dict[str, ModelCard] = {}
    for best in best_cards:
        space.validate(best, level - 1)
        out.setdefault(card_hash(best), best)
        for j in previous_library.nearest(best, k_neighbours):
            partner = previous_library.cards[j]
            for child in space.crossover(best, partner, level):
                out.setdefault(card_hash(child), child)
    return list(out.values())


def build_level_library(
    best_cards: Sequence[ModelCard],
    previous_library: Library,
    level: int,
    k_neighbours: int = 10,
    space: DesignSpace | None = None,
    dim: int | None = None,
    steps: int = 1000,
) -> Library:
    """Level-``level`` library from crossovers of ``best_cards`` with their neighbours, embedded and indexed."""
    cards = crossover_cards(best_cards, previous_library, level, k_neighbours, space)
    return build_library(
        cards,
        level,
        dim=dim or previous_library.dim,
        cost_model=previous_library.cost_model,
        steps=steps,
    )
