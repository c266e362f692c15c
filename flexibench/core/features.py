"""Naive features of a card: its design choices one-hot, layer by layer.

The plainest vector a card has, computed from the card alone (no graph library):
the naive encoding of the searches (``flexibench.search.encodings``), the
synthetic objective, and the table's surrogate all read it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from flexibench.core.card import ModelCard
from flexibench.core.design_space import DesignSpace


def naive_features(cards: Sequence[ModelCard], space: DesignSpace) -> np.ndarray:
    """Per-layer one-hot design choices, padded with zeros to the deepest layer count.

    Per layer: presence flag, operation+parameter one-hot, hidden one-hot, heads
    one-hot, feed-forward width fractions (level-3 stacks mix widths) and depth one-hot.
    """
    op_params = {pair: i for i, pair in enumerate(space.op_params)}
    hidden = {v: i for i, v in enumerate(space.hidden)}
    heads = {v: i for i, v in enumerate(space.heads)}
    widths = {v: i for i, v in enumerate(space.ff_widths)}
    depths = {v: i for i, v in enumerate(space.ff_depths)}
    sizes = (1, len(op_params), len(hidden), len(heads), len(widths), len(depths))
    offsets = np.cumsum((0,) + sizes)
    per_layer = int(offsets[-1])
    max_layers = max(space.layers)
    out = np.zeros((len(cards), max_layers * per_layer), dtype=np.float32)
    for row, card in enumerate(cards):
        for j in range(card.l):
            o, h, n, f, p = card.layer(j)
            base = j * per_layer
            out[row, base] = 1.0
            out[row, base + offsets[1] + op_params[(o, p)]] = 1.0
            out[row, base + offsets[2] + hidden[h]] = 1.0
            out[row, base + offsets[3] + heads[n]] = 1.0
            for w in f:
                out[row, base + offsets[4] + widths[w]] += 1.0 / len(f)
            out[row, base + offsets[5] + depths[len(f)]] = 1.0
    return out
