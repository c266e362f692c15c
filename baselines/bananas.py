"""BANANAS (White et al., 2021): MLP-ensemble predictor, Thompson sampling or UCB, mutation candidates.

After ``n_init`` random cards, each ask (re)fits an :class:`MLPEnsemble` on all
observations, builds candidates by mutating the ``top_k`` best cards found so far
(every one-choice mutation still available, as in the paper's local mutation
acquisition optimiser) plus ``n_random`` random cards, and picks the candidate
with the highest acquisition: independent Thompson sampling (``its``: one draw per
candidate from N(mean, std)) or ``ucb`` (mean + ``kappa`` std). The encoding is
whatever the run uses (naive one-hot here; the original used path encodings).
"""

from __future__ import annotations

import numpy as np

from flexibench.search.acquisition import thompson, upper_confidence_bound
from flexibench.search.encodings import Encoding
from flexibench.search.protocol import PoolOptimizer, check_choice
from flexibench.surrogates.ensemble import MLPEnsemble

ACQUISITIONS = ("its", "ucb")


class Bananas(PoolOptimizer):
    name = "bananas"

    def __init__(
        self,
        encoding: Encoding,
        seed: int = 0,
        *,
        n_init: int = 10,
        n_members: int = 5,
        hidden: tuple[int, ...] = (64, 64),
        epochs: int = 200,
        warm_epochs: int = 40,
        top_k: int = 10,
        n_random: int = 100,
        acquisition: str = "its",
        kappa: float = 0.5,
    ) -> None:
        super().__init__(encoding, seed)
        check_choice("acquisition", acquisition, ACQUISITIONS)
        self.n_init, self.top_k, self.n_random = n_init, top_k, n_random
        self.acquisition, self.kappa = acquisition, kappa
        self.model = MLPEnsemble(
            n_members=n_members,
            hidden=hidden,
            epochs=epochs,
            warm_epochs=warm_epochs,
            warm_start=True,
            seed=int(self.rng.integers(2**31)),
        )

    def _candidates(self) -> np.ndarray:
        order = np.argsort(self.obs_score)[::-1][: self.top_k]
        found: set[int] = set()
        for k in order:
            for child in self.space.mutations(self.encoding.cards[self.obs_index[k]], self.level):
                if child in self.encoding:
                    index = self.encoding.index_of(child)
                    if self.available[index]:
                        found.add(index)
        free = np.flatnonzero(self.available)
        found.update(int(i) for i in self.rng.choice(free, size=min(self.n_random, len(free)), replace=False))
        return np.array(sorted(found), dtype=np.int64)

    def propose(self) -> int:
        if self.n_observed < max(2, self.n_init):
            return self.random_available()
        X, y = self.training_data()
        self.model.fit(X, y)
        candidates = self._candidates()
        mean, std = self.model.predict(self.encoding.X[candidates])
        if self.acquisition == "its":
            value = thompson(mean, std, self.rng)
        else:
            value = upper_confidence_bound(mean, (self.kappa, std))
        return int(candidates[int(np.argmax(value))])
