"""Gaussian-process surrogate: BoTorch ``SingleTaskGP`` behind the fit/predict interface.

Inputs are used as given (encodings are already normalised); targets are
standardised by BoTorch's ``Standardize`` outcome transform and hyperparameters
are fitted by maximising the exact marginal likelihood (``fit_gpytorch_mll``).
Refits start from the previous hyperparameters (``warm_start``) with a capped
number of L-BFGS iterations; ``refit_every`` > 1 re-optimises them only every
that many new points and otherwise just conditions on the new data, a common
economy in BO loops. ``predict`` computes the exact posterior mean and marginal
variance of the latent function with one Cholesky factor, in chunks: scoring a
pool of ~10k candidates through ``model.posterior`` builds batched covariances
and is ~20x slower. The fitted ``model_`` stays available for BoTorch acquisition functions.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from botorch.fit import fit_gpytorch_mll
from botorch.models import SingleTaskGP
from botorch.models.transforms.outcome import Standardize
from gpytorch.mlls import ExactMarginalLogLikelihood
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from flexibench.surrogates.base import check_xy, one_thread, seeded_torch, store_params


class GPSurrogate(BaseEstimator):
    """A scikit-learn estimator: constructor arguments stored as given, fitted state ``model_``, ``rng_``."""

    def __init__(
        self,
        seed: int | None = 0,
        warm_start: bool = True,
        maxiter: int = 50,
        refit_every: int = 1,
        chunk: int = 4096,
    ) -> None:
        store_params(self, locals())

    def fit(self, X: np.ndarray, y: np.ndarray) -> GPSurrogate:
        Xt, yt = check_xy(X, y)
        train_x, train_y = Xt.double(), yt.double().unsqueeze(-1)
        previous = getattr(self, "model_", None)
        warm = self.warm_start and previous is not None and previous.train_inputs[0].shape[-1] == train_x.shape[-1]
        if not warm:
            self.rng_ = np.random.default_rng(self.seed)
            self.fitted_n_ = 0
        with seeded_torch(self.rng_), one_thread(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # BoTorch input-scaling advice: our inputs are normalised already
            model = SingleTaskGP(train_x, train_y, outcome_transform=Standardize(m=1))
            if warm:
                hyper = {k: v for k, v in previous.state_dict().items() if not k.startswith("outcome_transform")}
                model.load_state_dict(hyper, strict=False)
            if not warm or len(train_x) - self.fitted_n_ >= self.refit_every:
                options = {"maxiter": self.maxiter} if warm else {}
                fit_gpytorch_mll(
                    ExactMarginalLogLikelihood(model.likelihood, model), optimizer_kwargs={"options": options}
                )
                self.fitted_n_ = len(train_x)
        self.model_ = model.eval()
        self.factor_ = self._factor(self.model_)
        self.n_features_in_ = int(train_x.shape[-1])
        return self

    @staticmethod
    def _factor(model: SingleTaskGP) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Training inputs, the Cholesky factor of K + noise and K^-1 (y - m): what predictions reuse."""
        with torch.no_grad():
            x = model.train_inputs[0]
            k = model.covar_module(x).to_dense()
            noise = model.likelihood.noise.expand(x.shape[0])
            chol = torch.linalg.cholesky(k + torch.diag(noise))
            resid = (model.train_targets - model.mean_module(x)).unsqueeze(-1)
            alpha = torch.cholesky_solve(resid, chol)
        return x, chol, alpha

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of the latent function, in the units of ``y``."""
        if not hasattr(self, "model_"):
            raise NotFittedError("GPSurrogate is not fitted yet: call fit(X, y) first")
        Xt, _ = check_xy(X)
        model = self.model_
        train_x, chol, alpha = self.factor_
        means, variances = [], []
        with torch.no_grad():
            for part in Xt.double().split(self.chunk):
                cross = model.covar_module(part, train_x).to_dense()
                means.append(model.mean_module(part) + (cross @ alpha).squeeze(-1))
                v = torch.linalg.solve_triangular(chol, cross.T, upper=False)
                prior = model.covar_module(part, diag=True)
                variances.append((prior - (v**2).sum(0)).clamp_min(1e-12))
        ot = model.outcome_transform
        scale, shift = float(ot.stdvs.squeeze()), float(ot.means.squeeze())
        mean = torch.cat(means).numpy() * scale + shift
        std = torch.cat(variances).sqrt().numpy() * scale
        return mean, std
