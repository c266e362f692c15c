"""The types every layer shares: cards, the design space, graphs and hashes, tasks, recipes, records.

Torch-free, and importing nothing else of the package, so the table, the search and the
harness all build on it without pulling each other in (``tests/test_layers.py`` holds the
direction: core <- library, models, surrogates <- bench <- search, train).
"""

from flexibench.core.card import ModelCard, biased_overlap, overlap_fraction
from flexibench.core.design_space import LEVELS, DesignSpace
from flexibench.core.features import naive_features
from flexibench.core.graph import BlockGraph, card_graph, card_hash, graph_hash, to_networkx
from flexibench.core.named import INITIAL_MODELS, NAMED_CARDS

__all__ = [
    "LEVELS",
    "INITIAL_MODELS",
    "NAMED_CARDS",
    "BlockGraph",
    "DesignSpace",
    "ModelCard",
    "biased_overlap",
    "card_graph",
    "card_hash",
    "graph_hash",
    "naive_features",
    "overlap_fraction",
    "to_networkx",
]
