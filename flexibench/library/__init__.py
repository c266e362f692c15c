"""The graph library (Sections 3.2-3.3): GED, Transformer2vec, neighbours and level libraries.

``ged``/``ged_x10`` are exact (MILP); library tables and embeddings use the closed-form
lower bound of :func:`ged_lower_bound_x10` so that all 43.3 million level-1 pairs take
seconds (see docs/library.md for the measured gap to the exact value).
"""

from flexibench.library.costs import CostModel
from flexibench.library.ged import ged, ged_exact_mapping, ged_lower_bound_x10, ged_x10
from flexibench.library.levels import build_level_library, crossover_cards
from flexibench.library.library import Library, build_library, load_or_build_ged_table, load_or_build_library
from flexibench.library.neighbours import biased_overlap, transfer_allowed

__all__ = [
    "CostModel",
    "Library",
    "biased_overlap",
    "build_level_library",
    "build_library",
    "crossover_cards",
    "ged",
    "ged_exact_mapping",
    "ged_lower_bound_x10",
    "ged_x10",
    "load_or_build_ged_table",
    "load_or_build_library",
    "transfer_allowed",
]
