"""Graph edit distance between computational graphs under the paper's cost model.

Two solvers with one contract (distances in GED units, or as exact integers x10):

* :func:`ged_x10` is **exact**: the standard binary linear program for GED
  (node- and edge-matching variables, Lerouge et al. 2017, formulation F2) solved to
  proven optimality by HiGHS through ``scipy.optimize.milp``. It is written as a
  maximisation of the similarity ``W = sum_matched 10*min(c_u, c_v) + #preserved edges``
  using the identity ``GED_x10 = 10*(C_A + C_B) + |E_A| + |E_B| - 2*W``, which holds because
  ``|c_u - c_v| = c_u + c_v - 2*min(c_u, c_v)`` and an unmatched node costs its index.
  It takes 0.02-1 s per pair (two- and four-layer cards) and is cached per pair.

* :func:`ged_lower_bound_x10` is a closed-form **lower bound** that is computed for all
  43.3 million level-1 pairs in seconds (:mod:`flexibench.library.all_pairs`). Node costs
  alone form a one-dimensional transport problem with deletion = substitution to index 0,
  whose optimum is ``sum_t |F_A(t) - F_B(t)|`` with ``F(t) = #nodes of index >= t``; any edit
  path also inserts or deletes at least ``| |E_A| - |E_B| |`` edges.

Why no exact dynamic programme: the natural one (monotone alignment of the add&norm
"spine" plus an assignment of heads/feed-forward nodes) is not exact under this cost
model. Node costs (10 per index unit) dominate edge costs (1), so optimal edit paths
cut the spine into pieces and permute them to line up identical blocks, and map
surplus add&norm/output nodes onto heads or feed-forward nodes (see docs/library.md for
worked counterexamples found with the MILP).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from flexibench.core.card import ModelCard
from flexibench.core.graph import BlockGraph, card_graph
from flexibench.library.costs import CostModel

GraphLike = ModelCard | BlockGraph


def _graph(x: GraphLike) -> BlockGraph:
    if isinstance(x, BlockGraph):
        return x
    if isinstance(x, ModelCard):
        return card_graph(x)
    return card_graph(ModelCard.parse(x))


def node_costs(graph: BlockGraph, cost_model: CostModel | None = None) -> np.ndarray:
    """Insertion/deletion cost (complexity index) of every node, as int64."""
    cm = cost_model or CostModel.default()
    return np.array([cm.index(label) for label in graph.labels], dtype=np.int64)


def profile(x: GraphLike, cost_model: CostModel | None = None) -> np.ndarray:
    """``[F(1), ..., F(max_index), |E|]`` with ``F(t)`` = number of nodes whose index is >= t.

    Two profiles determine :func:`ged_lower_bound_x10`; stacking them for a library gives
    the vectorised all-pairs bound.
    """
    cm = cost_model or CostModel.default()
    graph = _graph(x)
    costs = node_costs(graph, cm)
    thresholds = np.arange(1, cm.max_index + 1)
    counts = (costs[None, :] >= thresholds[:, None]).sum(axis=1)
    return np.concatenate([counts, [len(graph.edges)]]).astype(np.int32)


def lower_bound_from_profiles(pa: np.ndarray, pb: np.ndarray) -> int:
    """``10 * sum_t |F_A(t) - F_B(t)| + | |E_A| - |E_B| |`` for two :func:`profile` vectors."""
    diff = np.abs(pa.astype(np.int64) - pb.astype(np.int64))
    return int(10 * diff[:-1].sum() + diff[-1])


def ged_lower_bound_x10(a: GraphLike, b: GraphLike, cost_model: CostModel | None = None) -> int:
    """Closed-form lower bound on GED x10 (exact node-transport cost + edge-count difference)."""
    return lower_bound_from_profiles(profile(a, cost_model), profile(b, cost_model))


def ged_x10(a: GraphLike, b: GraphLike, cost_model: CostModel | None = None, time_limit: float = 600.0) -> int:
    """Exact GED x10 (an integer: node index units x10 plus one per inserted/deleted edge)."""
    cm = cost_model or CostModel.default()
    ga, gb = _graph(a), _graph(b)
    key_a, key_b = (ga.labels, ga.edges), (gb.labels, gb.edges)
    if key_b < key_a:  # GED is symmetric under this model; cache one orientation
        key_a, key_b = key_b, key_a
    return _cached_exact(key_a, key_b, cm, time_limit)


def ged(a: GraphLike, b: GraphLike, cost_model: CostModel | None = None) -> float:
    """Exact GED in the paper's units (node index units; 0.1 per edge)."""
    return ged_x10(a, b, cost_model) / 10.0


@lru_cache(maxsize=65536)
def _cached_exact(key_a: tuple, key_b: tuple, cm: CostModel, time_limit: float) -> int:
    if key_a == key_b:
        return 0
    value, _ = ged_exact_mapping(BlockGraph(*key_a), BlockGraph(*key_b), cm, time_limit)
    return value


def ged_exact_mapping(
    a: GraphLike, b: GraphLike, cost_model: CostModel | None = None, time_limit: float = 600.0
) -> tuple[int, dict[int, int]]:
    """Exact GED x10 and an optimal node mapping (A node -> B node; absent = deleted).

    Raises RuntimeError if HiGHS does not prove optimality within ``time_limit`` seconds.
    """
    cm = cost_model or CostModel.default()
    ga, gb = _graph(a), _graph(b)
    ca, cb = node_costs(ga, cm), node_costs(gb, cm)
    na, nb = len(ca), len(cb)
    ea, eb = list(ga.edges), list(gb.edges)
    n_x, n_eb = na * nb, len(eb)

    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    upper: list[float] = []

    def add(entries: list[tuple[int, float]], ub: float) -> None:
        r = len(upper)
        for c, v in entries:
            rows.append(r)
            cols.append(c)
            vals.append(v)
        upper.append(ub)

    def xv(u: int, v: int) -> int:
        return u * nb + v

    def yv(e: int, f: int) -> int:
        return n_x + e * n_eb + f

    for u in range(na):  # every node matched at most once
        add([(xv(u, v), 1.0) for v in range(nb)], 1.0)
    for v in range(nb):
        add([(xv(u, v), 1.0) for u in range(na)], 1.0)
    out_a = [[i for i, (s, _) in enumerate(ea) if s == u] for u in range(na)]
    in_a = [[i for i, (_, t) in enumerate(ea) if t == u] for u in range(na)]
    out_b = [[i for i, (s, _) in enumerate(eb) if s == v] for v in range(nb)]
    in_b = [[i for i, (_, t) in enumerate(eb) if t == v] for v in range(nb)]
    # Edge (u, w) of A may be preserved as (v, z) of B only if u -> v and w -> z (F2 constraints, both sides).
    for e, (u, w) in enumerate(ea):
        for v in range(nb):
            if out_b[v]:
                add([(yv(e, f), 1.0) for f in out_b[v]] + [(xv(u, v), -1.0)], 0.0)
            if in_b[v]:
                add([(yv(e, f), 1.0) for f in in_b[v]] + [(xv(w, v), -1.0)], 0.0)
    for f, (v, z) in enumerate(eb):
        for u in range(na):
            if out_a[u]:
                add([(yv(e, f), 1.0) for e in out_a[u]] + [(xv(u, v), -1.0)], 0.0)
            if in_a[u]:
                add([(yv(e, f), 1.0) for e in in_a[u]] + [(xv(u, z), -1.0)], 0.0)
    n_vars = n_x + len(ea) * n_eb
    matrix = sparse.csr_matrix((vals, (rows, cols)), shape=(len(upper), n_vars))
    weight = np.ones(n_vars)
    weight[:n_x] = 10.0 * np.minimum(ca[:, None], cb[None, :]).ravel()
    res = milp(
        -weight,
        constraints=LinearConstraint(matrix, -np.inf, np.array(upper)),
        integrality=np.ones(n_vars),
        bounds=Bounds(0, 1),
        options={"time_limit": time_limit, "mip_rel_gap": 0.0},
    )
    if res.status != 0 or res.x is None:
        raise RuntimeError(f"GED MILP not solved to optimality: {res.message}")
    similarity = int(round(-res.fun))
    chosen = np.round(res.x[:n_x]).reshape(na, nb)
    mapping = {int(u): int(v) for u, v in zip(*np.nonzero(chosen))}
    return int(10 * (ca.sum() + cb.sum()) + len(ea) + len(eb) - 2 * similarity), mapping


def edit_path_cost_x10(a: GraphLike, b: GraphLike, mapping: dict[int, int], cost_model: CostModel | None = None) -> int:
    """Cost x10 of the edit path induced by a node mapping (independent check of any solver's answer)."""
    cm = cost_model or CostModel.default()
    ga, gb = _graph(a), _graph(b)
    ca, cb = node_costs(ga, cm), node_costs(gb, cm)
    if len(set(mapping.values())) != len(mapping):
        raise ValueError("mapping is not injective")
    node = sum(abs(int(ca[u]) - int(cb[v])) for u, v in mapping.items())
    node += int(ca.sum() - sum(ca[u] for u in mapping)) + int(cb.sum() - sum(cb[v] for v in mapping.values()))
    edges_b = set(gb.edges)
    kept = sum(1 for u, w in ga.edges if u in mapping and w in mapping and (mapping[u], mapping[w]) in edges_b)
    return 10 * node + len(ga.edges) + len(gb.edges) - 2 * kept
