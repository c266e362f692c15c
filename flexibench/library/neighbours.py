"""Neighbour lists for weight transfer (Section 3.3.3).

Neighbours of a query are ranked by biased overlap (identical encoder layers counted
from the input, stopping at the first difference) descending, ties broken by
Transformer2vec distance ascending, then by library index. The overlap measure
(:func:`flexibench.core.card.biased_overlap`) and the transfer rule
(:mod:`flexibench.core.transfer_rule`) are the core's, re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from flexibench.core.card import ModelCard, biased_overlap
from flexibench.core.transfer_rule import DEFAULT_TAU, transfer_allowed

DEFAULT_K = 100

__all__ = [
    "DEFAULT_K",
    "DEFAULT_TAU",
    "biased_overlap",
    "layer_codes",
    "neighbour_lists",
    "rank_neighbours",
    "transfer_allowed",
]


def layer_codes(cards: Sequence[ModelCard]) -> np.ndarray:
    """``(N, max_layers)`` int32 codes: equal codes = identical layers; -1 pads, -2 terminates."""
    vocab: dict[tuple, int] = {}
    depth = max(card.l for card in cards)
    codes = np.full((len(cards), depth + 1), -1, dtype=np.int32)
    for i, card in enumerate(cards):
        for j in range(card.l):
            codes[i, j] = vocab.setdefault(card.layer(j), len(vocab))
    return codes


def _overlaps(codes: np.ndarray, query_codes: np.ndarray) -> np.ndarray:
    """Biased overlap of each query row with every library row, shape (Q, N)."""
    same = (query_codes[:, None, :] == codes[None, :, :]) & (query_codes[:, None, :] >= 0)
    return np.logical_and.accumulate(same, axis=2).sum(axis=2, dtype=np.int32)


def rank_neighbours(
    query_codes: np.ndarray,
    query_coords: np.ndarray,
    codes: np.ndarray,
    coords: np.ndarray,
    k: int,
    exclude: np.ndarray | None = None,
) -> np.ndarray:
    """Top-``k`` library indices per query: overlap desc, embedding distance asc, index asc."""
    overlap = _overlaps(codes, query_codes).astype(np.float64)
    q, c = query_coords.astype(np.float64), coords.astype(np.float64)
    sq = (q * q).sum(axis=1)[:, None] + (c * c).sum(axis=1)[None, :] - 2.0 * (q @ c.T)
    dist = np.sqrt(np.maximum(sq, 0.0))
    # overlap dominates: distances are < 1e6 in GED units
    key = -overlap * 1e7 + dist
    if exclude is not None:
        key[np.arange(len(exclude)), exclude] = np.inf
    k = min(k, coords.shape[0] - (1 if exclude is not None else 0))
    part = np.argpartition(key, k - 1, axis=1)[:, :k]
    rows = np.arange(len(part))[:, None]
    order = np.lexsort((part, key[rows, part]), axis=1)
    return part[rows, order].astype(np.int32)


def neighbour_lists(cards: Sequence[ModelCard], coords: np.ndarray, k: int = DEFAULT_K, chunk: int = 256) -> np.ndarray:
    """``(N, k)`` int32 neighbour indices (self excluded) for every card of a library."""
    codes = layer_codes(cards)
    n = len(cards)
    out = np.empty((n, min(k, n - 1)), dtype=np.int32)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        out[start:stop] = rank_neighbours(
            codes[start:stop], coords[start:stop], codes, coords, k, exclude=np.arange(start, stop)
        )
    return out
