"""An ensemble of MLPs whose spread is the uncertainty (BANANAS; the table's surrogate).

``n_members`` networks differ in initialisation (and, with ``bootstrap=True``, in
a resample of the training rows); ``predict`` returns the ensemble mean and the
standard deviation across members. All members are trained at once as one
batched network (weights stacked on a leading member axis, ``torch.baddbmm``),
which is several times faster than a Python loop over small networks.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from flexibench.surrogates.base import NeuralSurrogate, check_xy, store_params


class BatchedMLP(nn.Module):
    """``members`` independent ReLU MLPs evaluated together: input (n, d) -> output (members, n)."""

    def __init__(self, members: int, inputs: int, hidden: tuple[int, ...]) -> None:
        super().__init__()
        sizes = (inputs, *hidden, 1)
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for a, b in zip(sizes[:-1], sizes[1:]):
            bound = 1.0 / math.sqrt(a)
            self.weights.append(nn.Parameter(torch.empty(members, a, b).uniform_(-bound, bound)))
            self.biases.append(nn.Parameter(torch.empty(members, 1, b).uniform_(-bound, bound)))
        self.members = members

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.unsqueeze(0).expand(self.members, -1, -1) if x.dim() == 2 else x
        for k, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b, h, w)
            if k < len(self.weights) - 1:
                h = torch.relu(h)
        return h.squeeze(-1)


class MLPEnsemble(NeuralSurrogate):
    """Ensemble mean and spread: ``fit(X, y)`` / ``predict(X) -> (mean, std)``, a scikit-learn estimator."""

    _saved_params = ("n_members", "hidden")

    def __init__(
        self,
        n_members: int = 5,
        hidden: tuple[int, ...] = (64, 64),
        epochs: int = 300,
        warm_epochs: int | None = None,
        lr: float = 3e-3,
        weight_decay: float = 1e-4,
        bootstrap: bool = False,
        warm_start: bool = False,
        seed: int | None = 0,
    ) -> None:
        store_params(self, locals())

    def _validate_params(self) -> None:
        if self.n_members < 2:
            raise ValueError(f"n_members: {self.n_members} is not allowed; allowed: at least 2 (the spread needs two)")

    def _build(self, inputs: int) -> nn.Module:
        return BatchedMLP(self.n_members, inputs, tuple(self.hidden))

    def _before_training(self, n_rows: int) -> None:
        self.rows_ = (
            torch.from_numpy(self.rng_.integers(0, n_rows, size=(self.n_members, n_rows))) if self.bootstrap else None
        )

    def _loss(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.rows_ is not None:
            return ((self.net_(X[self.rows_]) - y[self.rows_]) ** 2).mean()
        return ((self.net_(X) - y) ** 2).mean()

    def predict_members(self, X: np.ndarray) -> np.ndarray:
        """Every member's prediction, shape (n_members, n_samples), in target units."""
        self._check_fitted()
        Xt, _ = check_xy(X)
        with torch.no_grad():
            out = self.net_(Xt) * self.scaler_.scale + self.scaler_.mean
        return out.numpy().astype(np.float64)

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        members = self.predict_members(X)
        return members.mean(0), members.std(0, ddof=1)
