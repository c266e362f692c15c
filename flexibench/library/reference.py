"""networkx's GED under the same cost model, to check :mod:`flexibench.library.ged` against.

networkx's exact search takes seconds to minutes on pairs of different shape, so
these helpers exist for tests and benchmarks only.
"""

from __future__ import annotations

import time

import networkx as nx

from flexibench.library.costs import CostModel
from flexibench.space.card import ModelCard
from flexibench.space.graph import BlockGraph, card_graph


def _graph(x: ModelCard | BlockGraph) -> BlockGraph:
    return x if isinstance(x, BlockGraph) else card_graph(x)


def networkx_ged(
    a: ModelCard | BlockGraph,
    b: ModelCard | BlockGraph,
    cost_model: CostModel | None = None,
    timeout: float | None = None,
) -> float | None:
    """``networkx.graph_edit_distance`` under the cost model (None if it found nothing before ``timeout``)."""
    cm = cost_model or CostModel.default()
    return nx.graph_edit_distance(
        _graph(a).to_networkx(), _graph(b).to_networkx(), timeout=timeout, **cm.networkx_costs()
    )


def networkx_best_within(
    a: ModelCard | BlockGraph, b: ModelCard | BlockGraph, seconds: float, cost_model: CostModel | None = None
) -> float | None:
    """Last (best) value yielded by ``optimize_graph_edit_distance`` within ``seconds``."""
    cm = cost_model or CostModel.default()
    best = None
    start = time.perf_counter()
    for value in nx.optimize_graph_edit_distance(
        _graph(a).to_networkx(), _graph(b).to_networkx(), **cm.networkx_costs()
    ):
        best = value
        if time.perf_counter() - start > seconds:
            break
    return best
