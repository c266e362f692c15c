"""The surrogate interface and the small pieces every neural surrogate shares.

Every surrogate follows scikit-learn conventions: ``fit(X, y) -> self`` and
``predict(X) -> (mean, std)`` on numpy arrays, with hyperparameters set in the
constructor. Networks train full-batch with Adam on standardised targets (the
data sets in a search are a few hundred points at most), and ``warm_start=True``
continues from the previous weights, which is what makes refitting after every
new observation cheap. Torch randomness (initialisation, dropout) is drawn
inside :func:`seeded_torch`, which forks the global generator and restores it,
so surrogates are reproducible from their own seed and leave no global state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn


@runtime_checkable
class Surrogate(Protocol):
    def fit(self, X: np.ndarray, y: np.ndarray) -> Surrogate: ...

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


@contextmanager
def seeded_torch(rng: np.random.Generator) -> Iterator[None]:
    """Run torch code with a seed drawn from ``rng``; the global torch RNG is restored afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(rng.integers(2**62)))
        yield


def check_xy(X: np.ndarray, y: np.ndarray | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Validate shapes and convert to float32 tensors (clear errors for the common mistakes)."""
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X: expected a non-empty 2-D array (n_samples, n_features), got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("X: contains NaN or infinite values")
    if y is None:
        return torch.from_numpy(X), None
    y = np.asarray(y, dtype=np.float32).reshape(-1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y: has {y.shape[0]} values for {X.shape[0]} rows of X")
    if not np.isfinite(y).all():
        raise ValueError("y: contains NaN or infinite values")
    return torch.from_numpy(X), torch.from_numpy(y)


class TargetScaler:
    """Standardise targets (z-scores); keeps the mean and scale to map predictions back."""

    def __init__(self) -> None:
        self.mean, self.scale = 0.0, 1.0

    def fit(self, y: torch.Tensor) -> TargetScaler:
        self.mean = float(y.mean())
        std = float(y.std()) if y.numel() > 1 else 0.0
        self.scale = std if std > 1e-8 else 1.0
        return self

    def transform(self, y: torch.Tensor) -> torch.Tensor:
        return (y - self.mean) / self.scale


def mlp(
    inputs: int,
    hidden: tuple[int, ...],
    outputs: int = 1,
    dropout: float = 0.0,
    activation: type[nn.Module] = nn.ReLU,
) -> nn.Sequential:
    """A fully connected network (optional dropout after every hidden layer).

    Networks that GOBI differentiates twice in their input use a smooth
    ``activation`` (SiLU): a ReLU network has a zero input Hessian almost everywhere.
    """
    layers: list[nn.Module] = []
    width = inputs
    for size in hidden:
        layers += [nn.Linear(width, size), activation()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = size
    layers.append(nn.Linear(width, outputs))
    return nn.Sequential(*layers)


def train(
    params: list[torch.nn.Parameter],
    loss_fn: Callable[[], torch.Tensor],
    epochs: int,
    lr: float,
    weight_decay: float = 0.0,
    optimizer: torch.optim.Optimizer | None = None,
) -> torch.optim.Optimizer:
    """Full-batch Adam for ``epochs`` steps; pass the returned optimizer back to keep its moments warm."""
    opt = optimizer or torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, foreach=False)
    for _ in range(epochs):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt.step()
    return opt


class NeuralSurrogate:
    """Common fit logic: scaler, seeded init on first fit, cold or warm training schedule."""

    def __init__(self, epochs: int, warm_epochs: int | None, lr: float, weight_decay: float, warm_start: bool, seed):
        self.epochs, self.lr, self.weight_decay = epochs, lr, weight_decay
        self.warm_epochs = warm_epochs if warm_epochs is not None else epochs
        self.warm_start = warm_start
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.scaler = TargetScaler()
        self.net: nn.Module | None = None
        self._opt: torch.optim.Optimizer | None = None
        self.n_features_in_: int | None = None

    def _build(self, inputs: int) -> nn.Module:
        raise NotImplementedError

    def _loss(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def fit(self, X: np.ndarray, y: np.ndarray):
        Xt, yt = check_xy(X, y)
        with seeded_torch(self.rng):
            warm = self.warm_start and self.net is not None and self.n_features_in_ == Xt.shape[1]
            if not warm:
                self.net = self._build(Xt.shape[1])
                self._opt = None
                self.n_features_in_ = Xt.shape[1]
            target = self.scaler.fit(yt).transform(yt)
            self.net.train()
            self._opt = train(
                list(self.net.parameters()),
                lambda: self._loss(Xt, target),
                self.warm_epochs if warm else self.epochs,
                self.lr,
                self.weight_decay,
                self._opt if warm else None,
            )
            self.net.eval()
        return self

    def _check_fitted(self) -> None:
        if self.net is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted yet: call fit(X, y) first")
