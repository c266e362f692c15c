"""Search on FlexiBench: one ask/tell protocol, encodings, objectives, a simulated-time runner, BOSHNAS.

from flexibench.search import SyntheticObjective, run_search
result = run_search("boshnas", SyntheticObjective(seed=0), budget=100, seed=0, workers=4)
"""

from flexibench.search.encodings import ENCODINGS, Encoding, make_encoding, naive_encoding, naive_features
from flexibench.search.objective import Evaluation, Objective, SyntheticObjective, TableObjective
from flexibench.search.protocol import Observation, Optimizer, PoolOptimizer, SearchError
from flexibench.search.registry import MAIN_ALGORITHMS, OPTIMIZERS, make_optimizer
from flexibench.search.runner import RunResult, read_trajectory, run_many, run_search
from flexibench.search.transfer import TransferIndex, biased_overlap

__all__ = [
    "ENCODINGS",
    "MAIN_ALGORITHMS",
    "OPTIMIZERS",
    "Encoding",
    "Evaluation",
    "Objective",
    "Observation",
    "Optimizer",
    "PoolOptimizer",
    "RunResult",
    "SearchError",
    "SyntheticObjective",
    "TableObjective",
    "TransferIndex",
    "biased_overlap",
    "make_encoding",
    "make_optimizer",
    "naive_encoding",
    "naive_features",
    "read_trajectory",
    "run_many",
    "run_search",
]
