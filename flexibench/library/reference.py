"""networkx's GED under the same cost model, to check :mod:`flexibench.library.ged` against.

networkx's exact search (depth-first branch and bound over node mappings) is fast on
pairs of equal shape and very slow on pairs of different shape: these graphs have many
interchangeable nodes (identical heads of one layer, add&norm nodes), every tie is a
separate branch, and the search only prunes once enough edges are known to be lost.
These helpers therefore exist for tests and benchmarks only, and they budget
networkx by **CPU time of this process** (``ITIMER_PROF``), not wall time, so that a
check means the same on an idle machine and on one shared with other jobs.

:func:`networkx_check` certifies one exact value ``g`` with two networkx searches:
``graph_edit_distance(..., upper_bound=g - 0.05)`` returning None proves that no edit
path cheaper than ``g`` exists (networkx prunes every partial path whose admissible
estimate exceeds ``upper_bound``, and returns None when no complete path is left), and
the first path that ``optimize_edit_paths(..., upper_bound=g + 0.05)`` yields must
then cost exactly ``g``. Costs are multiples of 0.1, so the 0.05 margins are exact.

The search expands the nodes of the first graph in insertion order, so the graphs are
handed over spine first (input, add&norm, output, then heads and feed-forward nodes):
every later node then has both edge endpoints placed and its lost edges count at once.
Optionally the second graph is listed in the order of a known mapping, so that
networkx's ties break towards it. Node order does not change the distance, only how
soon networkx finds and prunes paths.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import networkx as nx

from flexibench.core.card import ModelCard
from flexibench.core.graph import BlockGraph, card_graph
from flexibench.library.costs import CostModel

HALF_STEP = 0.05  # half of the smallest cost difference (one edge, 0.1)


SPINE = ("input", "add_norm", "output")


def _graph(x: ModelCard | BlockGraph) -> BlockGraph:
    return x if isinstance(x, BlockGraph) else card_graph(x)


def spine_first(graph: BlockGraph) -> list[int]:
    """Node order with input, add&norm and output nodes first (topological inside each group)."""
    nodes = range(len(graph.labels))
    return [u for u in nodes if graph.labels[u] in SPINE] + [u for u in nodes if graph.labels[u] not in SPINE]


def ordered_networkx(graph: BlockGraph, order: list[int]) -> nx.DiGraph:
    """``graph.to_networkx()`` with nodes inserted in ``order`` (same graph, other iteration order)."""
    plain = graph.to_networkx()
    out = nx.DiGraph()
    out.add_nodes_from((u, plain.nodes[u]) for u in order)
    out.add_edges_from(plain.edges)
    return out


def networkx_pair(
    a: ModelCard | BlockGraph, b: ModelCard | BlockGraph, mapping: dict[int, int] | None = None
) -> tuple[nx.DiGraph, nx.DiGraph]:
    """Both graphs for networkx: ``a`` spine first, ``b`` in the order of ``mapping`` (if given) then the rest."""
    ga, gb = _graph(a), _graph(b)
    order_a = spine_first(ga)
    if mapping is None:
        order_b = spine_first(gb)
    else:
        order_b = [mapping[u] for u in order_a if u in mapping]
        order_b += [v for v in range(len(gb.labels)) if v not in set(order_b)]
    return ordered_networkx(ga, order_a), ordered_networkx(gb, order_b)


class CpuBudgetExceeded(Exception):
    """Raised inside a :func:`cpu_budget` block when the process has used its CPU seconds."""


@contextmanager
def cpu_budget(seconds: float | None) -> Iterator[None]:
    """Raise :class:`CpuBudgetExceeded` once this process has spent ``seconds`` of CPU in the block.

    Uses the profiling interval timer (user + system time of the process), so a job that
    is starved by other processes is not cut short. Main thread only (signal handlers).
    """
    if seconds is None:
        yield
        return

    def _expired(signum: int, frame: object) -> None:
        raise CpuBudgetExceeded

    previous = signal.signal(signal.SIGPROF, _expired)
    signal.setitimer(signal.ITIMER_PROF, max(seconds, 1e-3))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


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
    a: ModelCard | BlockGraph, b: ModelCard | BlockGraph, cpu_seconds: float, cost_model: CostModel | None = None
) -> tuple[float | None, bool]:
    """Best value ``optimize_graph_edit_distance`` yields within ``cpu_seconds``, and whether it finished.

    ``finished`` means networkx exhausted its search, i.e. the value is its proven optimum.
    """
    cm = cost_model or CostModel.default()
    g1, g2 = networkx_pair(a, b)
    best = None
    try:
        with cpu_budget(cpu_seconds):
            for value in nx.optimize_graph_edit_distance(g1, g2, **cm.networkx_costs()):
                best = value
    except CpuBudgetExceeded:
        return best, False
    return best, True


@dataclass(frozen=True)
class NetworkxCheck:
    """Outcome of :func:`networkx_check` for one pair and one claimed exact value (x10).

    ``none_cheaper``: True if networkx proved no edit path costs less than the value, False
    if it found one (``cheaper_x10``), None if the CPU budget ran out first.
    ``path_x10``: cost of the first path networkx found within the value; None if the budget ran
    out (``path_done`` False) or if networkx proved that no path is that cheap (``path_done`` True).
    """

    value_x10: int
    none_cheaper: bool | None
    cheaper_x10: int | None
    path_x10: int | None
    path_done: bool
    proof_cpu_s: float
    path_cpu_s: float

    @property
    def certified(self) -> bool:
        """networkx alone confirms the value: no cheaper path, and a path of exactly this cost."""
        return self.none_cheaper is True and self.path_x10 == self.value_x10

    @property
    def contradicted(self) -> bool:
        """networkx found a cheaper edit path, or proved that none is as cheap as the value."""
        return self.none_cheaper is False or (self.path_done and self.path_x10 is None)


def networkx_check(
    a: ModelCard | BlockGraph,
    b: ModelCard | BlockGraph,
    value_x10: int,
    cpu_seconds: float | None = None,
    cost_model: CostModel | None = None,
    find_path: bool = True,
    mapping: dict[int, int] | None = None,
    path_cpu_seconds: float | None = None,
) -> NetworkxCheck:
    """Let networkx confirm (or refute) that the GED of ``a`` and ``b`` is ``value_x10 / 10``.

    The proof gets ``cpu_seconds`` of CPU and the path search ``path_cpu_seconds`` (default:
    the same); ``find_path=False`` skips the second (existence) search. ``mapping`` (e.g. our
    MILP's optimal node mapping) only orders the second graph's nodes (see the module docstring).
    """
    cm = cost_model or CostModel.default()
    g1, g2 = networkx_pair(a, b, mapping)
    costs = cm.networkx_costs()
    none_cheaper: bool | None = None
    cheaper = None
    t0 = time.process_time()
    try:
        with cpu_budget(cpu_seconds):
            found = nx.graph_edit_distance(g1, g2, upper_bound=value_x10 / 10 - HALF_STEP, **costs)
        none_cheaper = found is None
        cheaper = None if found is None else round(found * 10)
    except CpuBudgetExceeded:
        pass
    t1 = time.process_time()
    path, path_done = None, False
    if find_path:
        try:
            with cpu_budget(cpu_seconds if path_cpu_seconds is None else path_cpu_seconds):
                first = next(
                    nx.optimize_edit_paths(
                        g1, g2, upper_bound=value_x10 / 10 + HALF_STEP, strictly_decreasing=False, **costs
                    ),
                    None,
                )
            path, path_done = (None if first is None else round(first[2] * 10)), True
        except CpuBudgetExceeded:
            pass
    t2 = time.process_time()
    return NetworkxCheck(value_x10, none_cheaper, cheaper, path, path_done, t1 - t0, t2 - t1)
