"""A cheap GED upper bound (a concrete edit path) and exactness certificates from bound agreement.

Exact GED needs the MILP of :mod:`flexibench.library.ged` (0.1-3 s per pair). Wherever a
feasible edit path costs as little as the closed-form lower bound
(:func:`flexibench.library.ged.ged_lower_bound_x10`), both equal the exact GED without any
search. :func:`alignment_upper_bound_x10` builds such paths the way optimal ones look on
these graphs (docs/library.md): it matches whole encoder layers in any order (so stacks can
swap places), aligns their head and feed-forward blocks, pairs the remaining nodes by cost
(largest with largest, which maximises the node similarity of what is left), prices every
candidate exactly, and improves the best one by swapping the images of node pairs until no
swap helps. :func:`certified_exact_x10` returns the exact value where the two bounds meet.

docs/library.md reports on random level-1 pairs how often that happens (the lower bound is
the limiting side) and the distribution of both gaps.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from flexibench.core.card import ModelCard
from flexibench.core.graph import card_graph
from flexibench.library.costs import CostModel
from flexibench.library.ged import ged_lower_bound_x10, node_costs


@dataclass(frozen=True)
class _Layout:
    """Node indices of one card's graph by role (``card_graph`` numbering)."""

    costs: np.ndarray  # complexity index per node
    edges: np.ndarray  # (E, 2)
    adjacency: np.ndarray  # (n + 1, n + 1) int8; the extra row/column stands for "unmatched"
    layers: tuple[tuple[tuple[int, ...], int, tuple[tuple[int, int], ...]], ...]  # heads, add&norm, FF blocks
    output: int

    @property
    def n(self) -> int:
        return len(self.costs)


def _layout(card: ModelCard, cm: CostModel) -> _Layout:
    graph = card_graph(card)
    n = len(graph.labels)
    adjacency = np.zeros((n + 1, n + 1), dtype=np.int8)
    edges = np.array(graph.edges, dtype=np.int64)
    adjacency[edges[:, 0], edges[:, 1]] = 1
    layers = []
    pos = 1  # node 0 is the input; card_graph lists heads, add&norm, then (FF, add&norm) per FF width
    for j in range(card.l):
        heads = tuple(range(pos, pos + card.n[j]))
        norm = pos + card.n[j]
        pos = norm + 1
        ff = tuple((pos + 2 * k, pos + 2 * k + 1) for k in range(len(card.f[j])))
        pos += 2 * len(card.f[j])
        layers.append((heads, norm, ff))
    return _Layout(node_costs(graph, cm), edges, adjacency, tuple(layers), pos)


def _price(a: _Layout, b: _Layout, image: np.ndarray) -> int:
    """GED x10 of the edit path induced by ``image`` (A node -> B node, -1 = deleted)."""
    matched = image >= 0
    similarity = 10 * int(np.minimum(a.costs[matched], b.costs[image[matched]]).sum())
    target = np.where(matched, image, b.n)
    kept = int(b.adjacency[target[a.edges[:, 0]], target[a.edges[:, 1]]].sum())
    total = 10 * int(a.costs.sum() + b.costs.sum()) + len(a.edges) + len(b.edges)
    return total - 2 * (similarity + kept)


def _pair_leftovers(a: _Layout, b: _Layout, image: np.ndarray) -> None:
    """Match unmatched nodes largest cost with largest cost (maximises sum of min costs)."""
    used = np.zeros(b.n, dtype=bool)
    used[image[image >= 0]] = True
    left_a = sorted((u for u in range(a.n) if image[u] < 0), key=lambda u: -a.costs[u])
    left_b = sorted((v for v in range(b.n) if not used[v]), key=lambda v: -b.costs[v])
    for u, v in zip(left_a, left_b):
        image[u] = v


def _layer_matchings(p: int, q: int) -> Iterator[list[tuple[int, int]]]:
    """Every partial one-to-one matching between p layers and q layers, in any order."""
    for k in range(min(p, q) + 1):
        for sources in itertools.combinations(range(p), k):
            for targets in itertools.permutations(range(q), k):
                yield list(zip(sources, targets))


def _aligned_image(a: _Layout, b: _Layout, matching: list[tuple[int, int]], ends: tuple[bool, ...]) -> np.ndarray:
    image = -np.ones(a.n, dtype=np.int64)
    image[0], image[a.output] = 0, b.output
    for (i, j), align_end in zip(matching, ends):
        heads_a, norm_a, ff_a = a.layers[i]
        heads_b, norm_b, ff_b = b.layers[j]
        image[norm_a] = norm_b
        for u, v in zip(heads_a, heads_b):
            image[u] = v
        k = min(len(ff_a), len(ff_b))
        blocks_a = ff_a[len(ff_a) - k :] if align_end else ff_a[:k]
        blocks_b = ff_b[len(ff_b) - k :] if align_end else ff_b[:k]
        for (f_a, n_a), (f_b, n_b) in zip(blocks_a, blocks_b):
            image[f_a], image[n_a] = f_b, n_b
    _pair_leftovers(a, b, image)
    return image


def _swap_descent(a: _Layout, b: _Layout, image: np.ndarray, value: int) -> int:
    """First-improvement local search: swap two A nodes' images, or move one to an unused B node."""
    improved = True
    while improved:
        improved = False
        for u in range(a.n):
            for w in range(u + 1, a.n):
                if image[u] == image[w]:
                    continue
                image[u], image[w] = image[w], image[u]
                candidate = _price(a, b, image)
                if candidate < value:
                    value, improved = candidate, True
                else:
                    image[u], image[w] = image[w], image[u]
            used = set(image[image >= 0].tolist())
            for v in range(b.n):
                if v in used:
                    continue
                old = image[u]
                image[u] = v
                candidate = _price(a, b, image)
                if candidate < value:
                    value, improved = candidate, True
                    used.discard(old)
                    used.add(v)
                else:
                    image[u] = old
    return value


def alignment_upper_bound_x10(
    a: ModelCard, b: ModelCard, cost_model: CostModel | None = None, descent: bool = True
) -> tuple[int, dict[int, int]]:
    """GED x10 of the best layer-alignment edit path (an upper bound) and its node mapping.

    Feed-forward stacks of different depth are aligned at their start or at their end (both
    are tried). ``descent=False`` skips the swap local search (faster, weaker).
    """
    cm = cost_model or CostModel.default()
    la, lb = _layout(a, cm), _layout(b, cm)
    best_value, best_image = None, None
    for matching in _layer_matchings(len(la.layers), len(lb.layers)):
        options = [(False, True) if len(la.layers[i][2]) != len(lb.layers[j][2]) else (False,) for i, j in matching]
        for ends in itertools.product(*options):
            image = _aligned_image(la, lb, matching, ends)
            value = _price(la, lb, image)
            if best_value is None or value < best_value:
                best_value, best_image = value, image
    assert best_value is not None and best_image is not None
    if descent:
        best_value = _swap_descent(la, lb, best_image, best_value)
    return best_value, {int(u): int(v) for u, v in enumerate(best_image) if v >= 0}


def certified_exact_x10(a: ModelCard, b: ModelCard, cost_model: CostModel | None = None) -> int | None:
    """The exact GED x10 when the closed-form lower bound and the alignment upper bound agree, else None."""
    if a == b:
        return 0
    lower = ged_lower_bound_x10(a, b, cost_model)
    upper, _ = alignment_upper_bound_x10(a, b, cost_model)
    return lower if upper == lower else None
