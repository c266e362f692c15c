"""GP-BO: BoTorch ``SingleTaskGP`` on the encoding, acquisition maximised over the unevaluated pool.

After ``n_init`` random cards, every ask refits the GP (exact marginal
likelihood, warm-started hyperparameters) on all observations and scores every
card still available with an analytic acquisition: ``logei`` (log expected
improvement over the best observed score, as BoTorch's ``LogExpectedImprovement``)
or ``ucb`` (``mean + sqrt(beta) * std``, as BoTorch's ``UpperConfidenceBound``).
The pool is finite, so the acquisition is maximised exactly by enumeration
instead of by gradient restarts. Cards proposed but not yet evaluated (other
workers) are unavailable, hence never proposed twice.
"""

from __future__ import annotations

import numpy as np

from flexibench.search.acquisition import log_expected_improvement, upper_confidence_bound
from flexibench.search.encodings import Encoding
from flexibench.search.protocol import PoolOptimizer, check_choice
from flexibench.surrogates.gp import GPSurrogate

ACQUISITIONS = ("logei", "ucb")


class GPBO(PoolOptimizer):
    name = "gpbo"

    def __init__(
        self,
        encoding: Encoding,
        seed: int = 0,
        *,
        n_init: int = 10,
        acquisition: str = "logei",
        beta: float = 2.0,
        maxiter: int = 50,
        refit_every: int = 4,
    ) -> None:
        super().__init__(encoding, seed)
        check_choice("acquisition", acquisition, ACQUISITIONS)
        self.n_init, self.acquisition, self.beta = n_init, acquisition, beta
        self.gp = GPSurrogate(int(self.rng.integers(2**31)), maxiter=maxiter, refit_every=refit_every)

    def propose(self) -> int:
        if self.n_observed < max(2, self.n_init):
            return self.random_available()
        X, y = self.training_data()
        self.gp.fit(X, y)
        free = np.flatnonzero(self.available)
        mean, std = self.gp.predict(self.encoding.X[free])
        if self.acquisition == "logei":
            value = log_expected_improvement(mean, std, float(y.max()))
        else:
            value = upper_confidence_bound(mean, (np.sqrt(self.beta), std))
        return int(free[int(np.argmax(value))])
