"""The surrogate interface and the small pieces every neural surrogate shares.

Every surrogate is a scikit-learn estimator: hyperparameters are constructor
arguments stored as given (``get_params``, ``set_params``, ``sklearn.base.clone``),
``fit(X, y) -> self`` resolves all randomness from an int ``seed`` and leaves
fitted state in attributes ending in ``_``, and ``predict(X) -> (mean, std)`` on
numpy arrays is pure (a second call gives the same answer and changes nothing).
Networks train full-batch with Adam on standardised targets (the data sets in a
search are a few hundred points at most), and ``warm_start=True``
continues from the previous weights, which is what makes refitting after every
new observation cheap. Torch randomness (initialisation, dropout) is drawn
inside :func:`seeded_torch`, which forks the global generator and restores it,
so surrogates are reproducible from their own seed and leave no global state.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
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


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch code on one intra-op thread, restoring the caller's setting afterwards.

    A surrogate's networks and data are tiny: threads buy nothing, and on a machine whose
    cores are busy (a sweep, parallel tests) torch's thread pool waits on the busy cores.
    Packing a 96-card fixture table took 250 s with torch's default 2 threads on the loaded
    2-core machine and 3.7 s with one.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


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

    def __init__(self, mean: float = 0.0, scale: float = 1.0) -> None:
        self.mean, self.scale = mean, scale

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


def store_params(estimator: BaseEstimator, arguments: dict[str, Any]) -> None:
    """Keep every constructor argument unchanged under its own name (call with ``locals()`` in ``__init__``).

    This is all a scikit-learn constructor may do: ``get_params`` reads the attributes
    back by the signature's names, and validation waits for ``fit``.
    """
    for name, value in arguments.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


class NeuralSurrogate(BaseEstimator):
    """Common fit logic of the torch surrogates, as a scikit-learn estimator.

    Constructor arguments are stored unchanged (``get_params`` / ``set_params`` /
    ``sklearn.base.clone`` work) and validated in :meth:`fit`. ``seed`` is an int (or
    None for fresh entropy): a cold fit starts a generator from it, so fitting the
    same data twice gives the same model. A warm fit (``warm_start=True`` and an
    earlier fit on as many features) continues from ``net_`` and draws from the same
    generator ``rng_``, so a sequence of fits is reproducible too. Fitted state ends
    in an underscore: ``net_``, ``scaler_``, ``rng_``, ``n_features_in_``, ``predict_seed_``;
    prediction never draws from ``rng_`` (stochastic predictions use ``predict_seed_``),
    so predicting does not change the next fit.

    :meth:`get_state` / :meth:`from_state` save and rebuild a fitted estimator
    (tensors plus string metadata, e.g. for safetensors) without retraining.
    """

    _saved_params: tuple[str, ...] = ("hidden",)  # constructor arguments that fix the network's shape
    _saved_fitted: tuple[str, ...] = ("predict_seed_",)  # fitted attributes besides the weights and scaling

    def _build(self, inputs: int) -> nn.Module:
        """The network for ``inputs`` features; by default a smooth (SiLU) MLP with one output."""
        return mlp(inputs, tuple(self.hidden), activation=nn.SiLU)

    def _loss(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Training loss on standardised targets; by default squared error."""
        return ((self.net_(X).squeeze(-1) - y) ** 2).mean()

    def _validate_params(self) -> None:
        """Raise ValueError for a bad constructor argument (called by :meth:`fit`)."""

    def _before_training(self, n_rows: int) -> None:
        """Draw whatever a fit needs from ``rng_`` before the torch seed (e.g. bootstrap rows)."""

    def fit(self, X: np.ndarray, y: np.ndarray):
        self._validate_params()
        Xt, yt = check_xy(X, y)
        warm = self.warm_start and hasattr(self, "net_") and self.n_features_in_ == Xt.shape[1]
        if not warm:
            self.rng_ = np.random.default_rng(self.seed)
        self._before_training(Xt.shape[0])
        with seeded_torch(self.rng_), one_thread():
            if not warm:
                self.net_ = self._build(Xt.shape[1])
                self.optimizer_ = None
                self.n_features_in_ = Xt.shape[1]
            self.scaler_ = TargetScaler().fit(yt)
            target = self.scaler_.transform(yt)
            self.net_.train()
            epochs = self.epochs if not warm else (self.warm_epochs if self.warm_epochs is not None else self.epochs)
            self.optimizer_ = train(
                list(self.net_.parameters()),
                lambda: self._loss(Xt, target),
                epochs,
                self.lr,
                self.weight_decay,
                self.optimizer_ if warm else None,
            )
            self.net_.eval()
        self.predict_seed_ = int(self.rng_.integers(2**62))
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "net_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit(X, y) first")

    # -------------------------------------------------------------- save / load
    def get_state(self) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
        """The fitted network's tensors and string metadata (shape parameters, inputs, target scaling)."""
        self._check_fitted()
        tensors = {k: v.detach().contiguous() for k, v in self.net_.state_dict().items()}
        names = self._saved_params + self._saved_fitted
        metadata = {name: json.dumps(_jsonable(getattr(self, name))) for name in names}
        metadata.update(
            inputs=str(self.n_features_in_),
            target_mean=repr(float(self.scaler_.mean)),
            target_scale=repr(float(self.scaler_.scale)),
        )
        return tensors, metadata

    @classmethod
    def from_state(cls, tensors: dict[str, torch.Tensor], metadata: dict[str, str], **params: Any):
        """A ready-to-predict estimator from :meth:`get_state`'s output (other parameters from ``params``)."""
        shape = {name: _from_json(json.loads(metadata[name])) for name in cls._saved_params if name in metadata}
        model = cls(**{**params, **shape})
        model.n_features_in_ = int(metadata["inputs"])
        model.net_ = model._build(model.n_features_in_)
        model.net_.load_state_dict(tensors)
        model.net_.eval()
        model.optimizer_ = None
        model.scaler_ = TargetScaler(float(metadata["target_mean"]), float(metadata["target_scale"]))
        model.rng_ = np.random.default_rng(model.seed)
        model.predict_seed_ = int(model.rng_.integers(2**62))
        for name in cls._saved_fitted:
            if name in metadata:  # tables packed before these were stored lack them
                setattr(model, name, json.loads(metadata[name]))
        return model


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _from_json(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
