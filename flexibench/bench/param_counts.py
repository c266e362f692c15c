"""Parameter counts for thousands of cards in seconds, from ``flexibench.models``' per-block counts.

``flexibench.models.count_parameters`` builds the model on the meta device (~0.1 s
per card: ~20 minutes for the 9,312 library cards). A card's count is a sum of
blocks that each depend on few choices: the embeddings on h_0, each encoder layer
on its own ``(o, h, n, f, p)``, each projection on the pair of hidden sizes, the
head on the last hidden size. :class:`ParameterCounter` reads those blocks from
``flexibench.models.params.parameter_summary`` the first time it meets them and
adds them up afterwards, so the model code stays the single source of truth.
"""

from __future__ import annotations

from typing import Any

from flexibench.core import ModelCard


class ParameterCounter:
    """``counter(card) -> int`` equal to ``count_parameters(card, vocab_size)``, memoised per block."""

    def __init__(self, vocab_size: int) -> None:
        from flexibench.models.params import parameter_summary

        self.vocab_size = vocab_size
        self._summary = parameter_summary
        self._blocks: dict[tuple[Any, ...], int] = {}
        self.model_builds = 0

    def _keys(self, card: ModelCard) -> list[tuple[Any, ...]]:
        keys: list[tuple[Any, ...]] = [("embeddings", card.h[0])]
        for j in range(card.l):
            keys.append(("layer", card.layer(j)))
            if j + 1 < card.l:
                keys.append(("projection", card.h[j], card.h[j + 1]))
        keys.append(("head", card.h[0], card.h[-1]))  # the MLM decoder is tied to the embeddings only when equal
        return keys

    def __call__(self, card: ModelCard) -> int:
        keys = self._keys(card)
        if any(key not in self._blocks for key in keys):
            self._learn(card, keys)
        return sum(self._blocks[key] for key in keys)

    def _learn(self, card: ModelCard, keys: list[tuple[Any, ...]]) -> None:
        rows = {row.name: row.params for row in self._summary(card, self.vocab_size)}
        self.model_builds += 1
        self._blocks[keys[0]] = rows["embeddings"]
        for j in range(card.l):
            self._blocks[("layer", card.layer(j))] = rows[f"layers.{j}"]
            if j + 1 < card.l:
                self._blocks[("projection", card.h[j], card.h[j + 1])] = rows.get(f"projections.{j}", 0)
        self._blocks[keys[-1]] = rows.get("head", 0)


_COUNTERS: dict[int, ParameterCounter] = {}


def counter_for(vocab_size: int) -> ParameterCounter:
    """A process-wide counter per vocabulary size, so repeated packs reuse what earlier ones learned."""
    if vocab_size not in _COUNTERS:
        _COUNTERS[vocab_size] = ParameterCounter(vocab_size)
    return _COUNTERS[vocab_size]
