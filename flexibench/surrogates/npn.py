"""Natural-Parameter Network (Wang et al., 2016): a heteroscedastic surrogate giving (mu, sigma).

Every weight is a Gaussian with a learned mean and variance; means and variances
of the activations are propagated in closed form (moment matching through ReLU),
so one deterministic forward pass returns the predicted mean ``mu`` and the
aleatoric standard deviation ``sigma`` at any input. Trained with the Gaussian
negative log-likelihood of Eq. (6), ``(mu - o)^2 / (2 sigma^2) + ln(sigma^2) / 2``,
which lets sigma grow where observations disagree (noisy regions of the space).
The forward pass is differentiable in the input (:meth:`NPNRegressor.forward_torch`),
which is what GOBI needs.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from flexibench.surrogates.base import NeuralSurrogate, check_xy, store_params

_VAR_FLOOR = 1e-3  # in standardised target units: keeps the NLL finite


class NPNLinear(nn.Module):
    """Linear layer with Gaussian weights: maps (mean, var) of the input to (mean, var) of the output."""

    def __init__(self, inputs: int, outputs: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(inputs)
        self.w_mean = nn.Parameter(torch.empty(inputs, outputs).uniform_(-bound, bound) * math.sqrt(3))
        self.b_mean = nn.Parameter(torch.zeros(outputs))
        self.w_rho = nn.Parameter(torch.full((inputs, outputs), -6.0))  # softplus(rho) = weight variance
        self.b_rho = nn.Parameter(torch.full((outputs,), -6.0))

    def forward(self, mean: torch.Tensor, var: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        w_var, b_var = F.softplus(self.w_rho), F.softplus(self.b_rho)
        out_mean = mean @ self.w_mean + self.b_mean
        out_var = var @ (w_var + self.w_mean**2) + (mean**2) @ w_var + b_var
        return out_mean, out_var


def npn_relu(mean: torch.Tensor, var: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance of ReLU(z) for z ~ N(mean, var) (exact Gaussian moments)."""
    std = torch.sqrt(var + 1e-8)
    ratio = mean / std
    cdf = 0.5 * (1.0 + torch.erf(ratio / math.sqrt(2.0)))
    pdf = torch.exp(-0.5 * ratio**2) / math.sqrt(2.0 * math.pi)
    out_mean = cdf * mean + std * pdf
    out_var = cdf * (mean**2 + var) + mean * std * pdf - out_mean**2
    return out_mean, torch.clamp(out_var, min=1e-8)


class NPNNet(nn.Module):
    def __init__(self, inputs: int, hidden: tuple[int, ...]) -> None:
        super().__init__()
        sizes = (inputs, *hidden, 1)
        self.layers = nn.ModuleList(NPNLinear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, var = x, torch.zeros_like(x)
        for k, layer in enumerate(self.layers):
            mean, var = layer(mean, var)
            if k < len(self.layers) - 1:
                mean, var = npn_relu(mean, var)
        return mean.squeeze(-1), torch.sqrt(var.squeeze(-1) + _VAR_FLOOR)


def gaussian_nll(mu: torch.Tensor, sigma: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Eq. (6) NPN loss, averaged: (mu - o)^2 / (2 sigma^2) + ln(sigma^2) / 2."""
    return ((mu - target) ** 2 / (2 * sigma**2) + torch.log(sigma**2) / 2).mean()


class NPNRegressor(NeuralSurrogate):
    """NPN surrogate: ``predict`` returns (mu, aleatoric sigma) in the units of ``y``."""

    def __init__(
        self,
        hidden: tuple[int, ...] = (64, 64),
        epochs: int = 300,
        warm_epochs: int | None = 60,
        lr: float = 3e-3,
        weight_decay: float = 0.0,
        warm_start: bool = True,
        seed: int | None = 0,
    ) -> None:
        store_params(self, locals())

    def _build(self, inputs: int) -> nn.Module:
        return NPNNet(inputs, tuple(self.hidden))

    def _loss(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        mu, sigma = self.net_(X)
        return gaussian_nll(mu, sigma, y)

    def forward_torch(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Differentiable (mu, sigma) in target units, for gradient-based optimisation of the input."""
        self._check_fitted()
        mu, sigma = self.net_(X)
        return mu * self.scaler_.scale + self.scaler_.mean, sigma * self.scaler_.scale

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mu, sigma) in float64: the same row gets the same answer in any batch.

        The moment-matched variance subtracts nearly equal terms (``npn_relu``), so in float32
        it inherits the last-bit differences between the matrix-multiply kernels a CPU picks for
        different batch sizes: on an AVX2 machine a row's mu moved by 1e-6 relative between a
        batch and its subset (scikit-learn's subset-invariance check). The fitted float32
        weights are evaluated in float64 instead; ``forward_torch`` (for GOBI) stays float32.
        """
        self._check_fitted()
        Xt, _ = check_xy(X)
        with torch.no_grad():
            mu, sigma = copy.deepcopy(self.net_).double()(Xt.double())
        mu, sigma = mu * self.scaler_.scale + self.scaler_.mean, sigma * self.scaler_.scale
        return mu.numpy(), sigma.numpy()
