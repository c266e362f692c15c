"""Baseline search algorithms on FlexiBench's ask/tell protocol (:mod:`flexibench.search.protocol`).

Random search, regularized evolution, REINFORCE, GP-BO (BoTorch) and BANANAS;
build them by name with :func:`flexibench.search.make_optimizer`.
"""

from flexibench.baselines.bananas import Bananas
from flexibench.baselines.evolution import RegularizedEvolution
from flexibench.baselines.gp_bo import GPBO
from flexibench.baselines.random_search import RandomSearch
from flexibench.baselines.reinforce import Reinforce

__all__ = ["GPBO", "Bananas", "RandomSearch", "RegularizedEvolution", "Reinforce"]
