"""The table's surrogate: answers cards nobody trained, with a mean and a spread.

It is the shared :class:`flexibench.surrogates.MLPEnsemble` fitted on the
Transformer2vec embeddings of measured cards, plus their standardised log
parameter count (:class:`InputScaling`), and their seed-averaged scores. The
embedding places a card among its graph-edit neighbours but carries no notion of
size; repeated K-fold cross-validation ranks unseen cards better and errs less
with the size input (``paper_repro/surrogate_cv.py``). A
random held-out split (``val_fraction`` of the measured cards, seeded) gives the
validation figures stored beside the weights (Kendall tau, Spearman rho, RMSE);
the stored model is the one those figures describe (fitted on the training part
only), so what ``flexibench info`` prints is what queries get. One split of a
few hundred cards is noisy, so pack also stores repeated K-fold figures of the
same recipe (``cv_*``): with 5 folds every model trains on 80% of the cards, as
the stored one does, and every card is predicted by models that never saw it.
Weights travel in the table as safetensors bytes, so loading needs no
retraining; pack also stores the prediction for every table row, so queries on
library cards need neither torch nor the weights.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from flexibench.bench import schema
from flexibench.errors import DataError

MIN_CARDS = 10  # fewer measured cards than this: no surrogate (its figures would be noise)
DEFAULT_OPTIONS: dict[str, Any] = {"n_members": 5, "hidden": (64, 64), "epochs": 300, "lr": 3e-3, "weight_decay": 1e-4}
CV_FOLDS, CV_REPEATS = 5, 3  # what pack stores as cv_* figures (and paper_repro/surrogate_cv.py's defaults)


def mean_scores_per_arch(arch: np.ndarray, status: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of measured cards and their mean score over ``ok`` records with a finite score."""
    from flexibench.bench.record import STATUSES

    keep = (status == STATUSES.index("ok")) & np.isfinite(score)
    rows, inverse = np.unique(arch[keep], return_inverse=True)
    sums = np.bincount(inverse, weights=score[keep], minlength=len(rows))
    counts = np.bincount(inverse, minlength=len(rows))
    return rows, sums / np.maximum(counts, 1)


@dataclass(frozen=True)
class InputScaling:
    """Surrogate inputs: the card's embedding, then ``(log(params) - mean) / std`` over the table's rows.

    Tables packed before the size input existed have no scaling stored; their
    surrogate reads the embedding alone (:meth:`from_metadata` returns None).
    """

    log_params_mean: float
    log_params_std: float

    @classmethod
    def fit(cls, params: np.ndarray) -> InputScaling | None:
        """Scaling over every table row; None when a count is unknown (-1: packed without the model code)."""
        params = np.asarray(params, np.float64)
        if not len(params) or (params <= 0).any():
            return None
        logs = np.log(params)
        return cls(float(logs.mean()), float(logs.std()) or 1.0)

    def inputs(self, embeddings: np.ndarray, params: np.ndarray) -> np.ndarray:
        if (np.asarray(params) <= 0).any():
            raise DataError("the surrogate needs parameter counts and one is unknown (-1); install torch")
        size = (np.log(np.asarray(params, np.float64)) - self.log_params_mean) / self.log_params_std
        return np.column_stack([np.asarray(embeddings, np.float32), size.astype(np.float32)])

    def metadata(self) -> dict[str, str]:
        return {"log_params_mean": repr(self.log_params_mean), "log_params_std": repr(self.log_params_std)}

    @classmethod
    def from_metadata(cls, meta: dict[str, str]) -> InputScaling | None:
        if "log_params_mean" not in meta:
            return None
        return cls(float(meta["log_params_mean"]), float(meta["log_params_std"]))


def surrogate_inputs(embeddings: np.ndarray, params: np.ndarray, scaling: InputScaling | None) -> np.ndarray:
    """What the surrogate reads for these rows (the embedding alone when ``scaling`` is None)."""
    if scaling is None:
        return np.asarray(embeddings, np.float32)
    return scaling.inputs(embeddings, params)


@dataclass
class TableSurrogate:
    """The stored surrogate, ready to answer: the ensemble and how its inputs are built."""

    model: Any  # flexibench.surrogates.MLPEnsemble
    scaling: InputScaling | None

    def predict(self, embeddings: np.ndarray, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and spread of the score for cards with these embeddings and parameter counts."""
        return self.model.predict(surrogate_inputs(embeddings, params, self.scaling))


@dataclass
class SurrogateFit:
    """A fitted ensemble plus how it was validated."""

    model: Any  # flexibench.surrogates.MLPEnsemble
    scaling: InputScaling | None
    options: dict[str, Any]
    kendall_tau: float
    spearman: float
    rmse: float
    n_train: int
    n_val: int
    split_seed: int
    cv: dict[str, float | int] | None = None  # schema.SURROGATE_CV_ATTRS

    def attrs(self) -> dict[str, Any]:
        """Group attributes for ``/surrogate/<fidelity>`` (see :data:`flexibench.bench.schema.SURROGATE_ATTRS`)."""
        inputs = ["embedding", "log_params"] if self.scaling else ["embedding"]
        model = {"class": "flexibench.surrogates.MLPEnsemble", "options": self.options, "inputs": inputs}
        return {
            "model": json.dumps(model),
            "kendall_tau": self.kendall_tau,
            "spearman": self.spearman,
            "rmse": self.rmse,
            "n_train": self.n_train,
            "n_val": self.n_val,
            "split_seed": self.split_seed,
            **(self.cv or {}),
        }

    def columns(self, mean: np.ndarray, std: np.ndarray) -> dict[str, np.ndarray]:
        return {
            "weights": np.frombuffer(serialize(self.model, self.scaling), dtype=np.uint8).copy(),
            "mean": np.asarray(mean, np.float32),
            "std": np.asarray(std, np.float32),
        }


def fit_table_surrogate(
    X: np.ndarray,
    y: np.ndarray,
    *,
    scaling: InputScaling | None = None,
    val_fraction: float = 0.2,
    split_seed: int = 0,
    cv_folds: int = CV_FOLDS,
    cv_repeats: int = CV_REPEATS,
    **options: Any,
) -> SurrogateFit:
    """Fit the ensemble on a random ``1 - val_fraction`` of the rows and score it on the rest.

    ``X`` is already the surrogate's input (:func:`surrogate_inputs` under ``scaling``).
    With ``cv_folds >= 2`` (and at least two cards per fold) the same recipe is also
    scored by :func:`cross_validate`; ``cv_folds=0`` skips it.
    """
    from flexibench.surrogates import MLPEnsemble

    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction: {val_fraction} is not allowed; allowed: 0 < val_fraction < 1")
    X, y = np.asarray(X, np.float32), np.asarray(y, np.float64)
    order = np.random.default_rng(split_seed).permutation(len(y))
    n_val = min(max(2, round(val_fraction * len(y))), len(y) - 2)
    val, train = order[:n_val], order[n_val:]
    settings = {**DEFAULT_OPTIONS, **options}
    settings["hidden"] = tuple(settings["hidden"])

    def make() -> MLPEnsemble:
        return MLPEnsemble(seed=split_seed, **settings)

    model = make().fit(X[train], y[train])
    predicted, _ = model.predict(X[val])
    tau, rho, rmse = validation_figures(predicted, y[val])
    cv = None
    if cv_folds >= 2 and len(y) >= 2 * cv_folds:
        repeats = max(cv_repeats, 1)
        figures = cross_validate(make, X, y, cv_folds, repeats)
        cv = dict(zip(schema.SURROGATE_CV_FIGURES, figures), cv_folds=cv_folds, cv_repeats=repeats)
    return SurrogateFit(
        model=model,
        scaling=scaling,
        options={**settings, "hidden": list(settings["hidden"])},
        kendall_tau=float(tau),
        spearman=float(rho),
        rmse=rmse,
        n_train=len(train),
        n_val=len(val),
        split_seed=split_seed,
        cv=cv,
    )


def cross_validate(
    make: Callable[[], Any], X: np.ndarray, y: np.ndarray, folds: int, repeats: int
) -> tuple[float, float, float]:
    """Mean Kendall tau, Spearman rho and RMSE of out-of-fold predictions over ``repeats`` shuffles.

    ``make()`` returns a fresh unfitted model with ``fit(X, y)`` and ``predict(X) -> (mean, std)``;
    repeat ``r`` shuffles the rows with seed ``r`` before splitting them into ``folds``.
    """
    figures = []
    for repeat in range(repeats):
        predicted = np.empty(len(y))
        for fold in np.array_split(np.random.default_rng(repeat).permutation(len(y)), folds):
            train = np.setdiff1d(np.arange(len(y)), fold)
            predicted[fold] = make().fit(X[train], y[train]).predict(X[fold])[0]
        figures.append(validation_figures(predicted, y))
    tau, rho, rmse = np.mean(figures, axis=0)
    return float(tau), float(rho), float(rmse)


def validation_figures(predicted: np.ndarray, measured: np.ndarray) -> tuple[float, float, float]:
    """Kendall tau, Spearman rho and RMSE of predictions against measured scores (what ``info`` reports)."""
    from scipy.stats import kendalltau, spearmanr

    tau = kendalltau(predicted, measured).statistic
    rho = spearmanr(predicted, measured).statistic
    return float(tau), float(rho), float(np.sqrt(np.mean((np.asarray(predicted) - measured) ** 2)))


def serialize(model: Any, scaling: InputScaling | None = None) -> bytes:
    """Safetensors bytes of the ensemble's weights, with its options, input and target scaling as metadata."""
    from safetensors.torch import save

    state = {k: v.detach().contiguous() for k, v in model.net.state_dict().items()}
    metadata = {
        "n_members": str(model.n_members),
        "hidden": json.dumps(list(model.hidden)),
        "inputs": str(model.n_features_in_),
        "target_mean": repr(float(model.scaler.mean)),
        "target_scale": repr(float(model.scaler.scale)),
        **(scaling.metadata() if scaling else {}),
    }
    return save(state, metadata=metadata)


def deserialize(blob: bytes) -> TableSurrogate:
    """Rebuild a ready-to-predict surrogate from :func:`serialize` bytes (no retraining)."""
    from safetensors.torch import load

    from flexibench.surrogates import MLPEnsemble

    state = load(blob)
    meta = safetensors_metadata(blob)
    model = MLPEnsemble(n_members=int(meta["n_members"]), hidden=tuple(json.loads(meta["hidden"])))
    model.net = model._build(int(meta["inputs"]))
    model.net.load_state_dict(state)
    model.net.eval()
    model.n_features_in_ = int(meta["inputs"])
    model.scaler.mean, model.scaler.scale = float(meta["target_mean"]), float(meta["target_scale"])
    return TableSurrogate(model, InputScaling.from_metadata(meta))


def safetensors_metadata(blob: bytes) -> dict[str, str]:
    """The ``__metadata__`` of safetensors bytes (format: u64 little-endian header size, then JSON header)."""
    size = int.from_bytes(blob[:8], "little")
    return json.loads(blob[8 : 8 + size]).get("__metadata__", {})
