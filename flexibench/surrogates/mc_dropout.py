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

from flexibench.surrogates.base import NeuralSurrogate, check_xy, mlp, seeded_torch


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
        seed: int | np.random.Generator = 0,
    ) -> None:
        super().__init__(epochs, warm_epochs, lr, weight_decay, warm_start, seed)
        if not 0.0 < dropout < 1.0:
            raise ValueError(f"dropout: {dropout} is not allowed; allowed: 0 < dropout < 1")
        self.hidden, self.dropout, self.n_samples = tuple(hidden), dropout, n_samples

    def _build(self, inputs: int) -> nn.Module:
        return mlp(inputs, self.hidden, dropout=self.dropout)

    def _loss(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return ((self.net(X).squeeze(-1) - y) ** 2).mean()

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self._check_fitted()
        Xt, _ = check_xy(X)
        with seeded_torch(self.rng), torch.no_grad():
            self.net.train()  # dropout on: Monte-Carlo samples
            draws = torch.stack([self.net(Xt).squeeze(-1) for _ in range(self.n_samples)])
            self.net.eval()
        draws = draws * self.scaler.scale + self.scaler.mean
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
        seed: int | np.random.Generator = 0,
    ) -> None:
        super().__init__(epochs, warm_epochs, lr, weight_decay, warm_start, seed)
        self.hidden = tuple(hidden)

    def _build(self, inputs: int) -> nn.Module:
        return mlp(inputs, self.hidden, activation=nn.SiLU)

    def _loss(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return ((self.net(X).squeeze(-1) - y) ** 2).mean()

    def forward_torch(self, X: torch.Tensor) -> torch.Tensor:
        """Differentiable xi_hat (clamped at zero: a standard deviation) in target units."""
        self._check_fitted()
        return torch.relu(self.net(X).squeeze(-1) * self.scaler.scale + self.scaler.mean)

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        Xt, _ = check_xy(X)
        with torch.no_grad():
            xi = self.forward_torch(Xt).numpy().astype(np.float64)
        return xi, np.zeros_like(xi)
