"""Epistemic uncertainty for BOSHNAS: an MC-dropout teacher and a student that predicts its spread.

The teacher ``g_S`` is a fully connected network with dropout (Gal & Ghahramani,
2016), trained with squared error (Eq. 6). Keeping dropout on at prediction time
and drawing ``n_samples`` passes gives a sample whose standard deviation ``xi``
is the epistemic uncertainty. Sampling is noisy and not smoothly differentiable,
so the student ``h_S`` (a plain network) learns to predict ``xi`` directly
(Eq. 6, squared error); GOBI differentiates the student instead of the teacher.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from flexibench.surrogates.base import NeuralSurrogate, check_xy, mlp, seeded_torch, store_params


class MCDropoutTeacher(NeuralSurrogate):
    """``predict`` returns (mean, xi): the mean and standard deviation of ``n_samples`` dropout passes."""

    def __init__(
        self,
        hidden: tuple[int, ...] = (64, 64),
        dropout: float = 0.2,
        n_samples: int = 20,
        epochs: int = 300,
        warm_epochs: int | None = 60,
        lr: float = 3e-3,
        weight_decay: float = 1e-4,
        warm_start: bool = True,
        seed: int | None = 0,
    ) -> None:
        store_params(self, locals())

    def _validate_params(self) -> None:
        if not 0.0 < self.dropout < 1.0:
            raise ValueError(f"dropout: {self.dropout} is not allowed; allowed: 0 < dropout < 1")

    def _build(self, inputs: int) -> nn.Module:
        return mlp(inputs, tuple(self.hidden), dropout=self.dropout)

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Dropout masks come from ``predict_seed_`` (fixed by the last fit): the same X gives the same answer."""
        self._check_fitted()
        Xt, _ = check_xy(X)
        with seeded_torch(np.random.default_rng(self.predict_seed_)), torch.no_grad():
            self.net_.train()  # dropout on: Monte-Carlo samples
            draws = torch.stack([self.net_(Xt).squeeze(-1) for _ in range(self.n_samples)])
            self.net_.eval()
        draws = draws * self.scaler_.scale + self.scaler_.mean
        return draws.mean(0).numpy().astype(np.float64), draws.std(0).numpy().astype(np.float64)


class StudentNetwork(NeuralSurrogate):
    """Regresses the teacher's ``xi``; ``predict`` returns (xi_hat, zeros), ``forward_torch`` is differentiable."""

    def __init__(
        self,
        hidden: tuple[int, ...] = (32, 32),
        epochs: int = 300,
        warm_epochs: int | None = 60,
        lr: float = 3e-3,
        weight_decay: float = 1e-4,
        warm_start: bool = True,
        seed: int | None = 0,
    ) -> None:
        store_params(self, locals())

    def forward_torch(self, X: torch.Tensor) -> torch.Tensor:
        """Differentiable xi_hat (clamped at zero: a standard deviation) in target units."""
        self._check_fitted()
        return torch.relu(self.net_(X).squeeze(-1) * self.scaler_.scale + self.scaler_.mean)

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        Xt, _ = check_xy(X)
        with torch.no_grad():
            xi = self.forward_torch(Xt).numpy().astype(np.float64)
        return xi, np.zeros_like(xi)
