"""What an architecture is: model cards, the design space, computational graphs and hashes."""

from flexibench.space.card import ModelCard, biased_overlap
from flexibench.space.design_space import LEVELS, DesignSpace
from flexibench.space.features import naive_features
from flexibench.space.graph import BlockGraph, card_graph, card_hash, graph_hash, to_networkx
from flexibench.space.named import INITIAL_MODELS, NAMED_CARDS

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
    "to_networkx",
]
