"""A plain MSE network with one constant sigma: the homoscedastic ablation of the NPN.

It predicts the mean like the NPN but reports the same uncertainty everywhere
(the residual standard deviation on the training data), which is what BOSHNAS
"without heteroscedastic modelling" means in the paper's Figure 5(b).
"""

from __future__ import annotations

import numpy as np
import torch

from flexibench.surrogates.base import NeuralSurrogate, check_xy, store_params


class MLPRegressor(NeuralSurrogate):
    _saved_fitted = (*NeuralSurrogate._saved_fitted, "sigma_")

    def __init__(
        self,
        hidden: tuple[int, ...] = (64, 64),
        epochs: int = 300,
        warm_epochs: int | None = 60,
        lr: float = 3e-3,
        weight_decay: float = 1e-4,
        warm_start: bool = True,
        seed: int | None = 0,
    ) -> None:
        store_params(self, locals())

    def fit(self, X: np.ndarray, y: np.ndarray) -> MLPRegressor:
        super().fit(X, y)
        Xt, yt = check_xy(X, y)
        with torch.no_grad():
            residual = self.net_(Xt).squeeze(-1) - self.scaler_.transform(yt)
        self.sigma_ = float(residual.std()) if residual.numel() > 1 else 1.0  # in standardised units
        return self

    def forward_torch(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self._check_fitted()
        mu = self.net_(X).squeeze(-1) * self.scaler_.scale + self.scaler_.mean
        return mu, torch.full_like(mu, self.sigma_ * self.scaler_.scale)

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        Xt, _ = check_xy(X)
        with torch.no_grad():
            mu, sigma = self.forward_torch(Xt)
        return mu.numpy().astype(np.float64), sigma.numpy().astype(np.float64)
