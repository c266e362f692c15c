"""The table's surrogate: answers cards nobody trained, with a mean and a spread.

It is the shared :class:`flexibench.surrogates.MLPEnsemble` fitted on what
:class:`SurrogateInputs` reads of the measured cards (their design choices
one-hot, plus their standardised log parameter count) against their
seed-averaged scores; ``paper_repro/surrogate_cv.py`` compares the candidate
inputs by repeated K-fold cross-validation. A random held-out split
(``val_fraction`` of the measured cards, seeded) gives the validation figures
stored beside the weights (Kendall tau, Spearman rho, RMSE);
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from flexibench.bench import schema
from flexibench.core import DesignSpace, ModelCard, naive_features
from flexibench.core.errors import DataError

MIN_CARDS = 10  # fewer measured cards than this: no surrogate (its figures would be noise)
DEFAULT_OPTIONS: dict[str, Any] = {"n_members": 5, "hidden": (64, 64), "epochs": 300, "lr": 3e-3, "weight_decay": 1e-4}
FEATURES = ("naive", "embedding")  # what SurrogateInputs can read of a card besides its size
CV_FOLDS, CV_REPEATS = 5, 3  # what pack stores as cv_* figures (and paper_repro/surrogate_cv.py's defaults)


def mean_scores_per_arch(arch: np.ndarray, status: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of measured cards and their mean score over ``ok`` records with a finite score."""
    from flexibench.core.record import STATUSES

    keep = (status == STATUSES.index("ok")) & np.isfinite(score)
    rows, inverse = np.unique(arch[keep], return_inverse=True)
    sums = np.bincount(inverse, weights=score[keep], minlength=len(rows))
    counts = np.bincount(inverse, minlength=len(rows))
    return rows, sums / np.maximum(counts, 1)


def row_scores(results: dict[str, np.ndarray], predicted: np.ndarray) -> np.ndarray:
    """A fidelity's score for every /archs row: the measured seed mean where measured, else ``predicted``."""
    rows, scores = mean_scores_per_arch(results["arch"], results["status"], results["score"])
    out = np.asarray(predicted, np.float64).copy()
    out[rows] = scores
    return out


@dataclass(frozen=True)
class SurrogateInputs:
    """What the surrogate reads of a card: ``features``, then its standardised log parameter count.

    ``features`` is ``naive`` (the card's design choices one-hot, layer by layer:
    :func:`flexibench.core.naive_features`) or ``embedding`` (its Transformer2vec
    row). Repeated K-fold cross-validation on 357 measured cards ranked unseen cards
    far better with the one-hot choices (Kendall tau 0.78 against 0.69,
    ``paper_repro/surrogate_cv.py``), and they need no graph library for cards
    outside the table, so tables are packed with ``naive``; tables packed before
    read ``embedding``. The size input is ``(log(params) - mean) / std`` over the
    table's rows; it is off (``log_params_mean`` None) when a count is unknown and
    on tables packed before it existed.

    ``prior`` names another fidelity of the table whose score is one more input,
    standardised like the size: the card's measured seed mean there, else that
    fidelity's surrogate mean. A long fidelity measured on a few dozen anchors reads
    the cheap fidelity measured on hundreds of cards this way (multi-fidelity).
    """

    features: str = "naive"
    log_params_mean: float | None = None
    log_params_std: float | None = None
    prior: str | None = None
    prior_mean: float | None = None
    prior_std: float | None = None

    def __post_init__(self) -> None:
        if self.features not in FEATURES:
            raise DataError(f"surrogate features {self.features!r} are unknown; known: {list(FEATURES)}")

    @classmethod
    def fit(cls, params: np.ndarray, features: str = "naive") -> SurrogateInputs:
        """Size scaling over every table row; no size input when a count is unknown (-1: packed without torch)."""
        params = np.asarray(params, np.float64)
        if not len(params) or (params <= 0).any():
            return cls(features)
        logs = np.log(params)
        return cls(features, float(logs.mean()), float(logs.std()) or 1.0)

    @property
    def sized(self) -> bool:
        return self.log_params_mean is not None

    def with_prior(self, fidelity: str, scores: np.ndarray) -> SurrogateInputs:
        """These inputs plus ``fidelity``'s score, scaled by ``scores`` (that fidelity's value for every table row)."""
        scores = np.asarray(scores, np.float64)
        return replace(self, prior=fidelity, prior_mean=float(scores.mean()), prior_std=float(scores.std()) or 1.0)

    def names(self) -> list[str]:
        """The inputs in column order, as stored in the surrogate's ``model`` attribute."""
        prior = [f"prior:{self.prior}"] if self.prior else []
        return [self.features] + (["log_params"] if self.sized else []) + prior

    def build(
        self,
        cards: Sequence[ModelCard],
        params: np.ndarray,
        embeddings: np.ndarray | None = None,
        space: DesignSpace | None = None,
        prior_scores: np.ndarray | None = None,
    ) -> np.ndarray:
        """Input rows for ``cards``; ``embeddings`` (their Transformer2vec rows) are read by ``embedding`` only,
        ``prior_scores`` (their scores at the ``prior`` fidelity) only with a prior."""
        if self.features == "naive":
            base = naive_features(cards, space or DesignSpace.default())
        elif embeddings is None:
            raise DataError("this surrogate reads Transformer2vec embeddings and none were given")
        else:
            base = np.asarray(embeddings, np.float32)
        columns = [np.asarray(base, np.float32)]
        if self.sized:
            if (np.asarray(params) <= 0).any():
                raise DataError("the surrogate needs parameter counts and one is unknown (-1); install torch")
            size = (np.log(np.asarray(params, np.float64)) - self.log_params_mean) / self.log_params_std
            columns.append(size.astype(np.float32)[:, None])
        if self.prior:
            if prior_scores is None or len(prior_scores) != len(cards) or not np.isfinite(prior_scores).all():
                raise DataError(f"the surrogate reads each card's score at fidelity {self.prior!r}; it was not given")
            prior = (np.asarray(prior_scores, np.float64) - self.prior_mean) / self.prior_std
            columns.append(prior.astype(np.float32)[:, None])
        return columns[0] if len(columns) == 1 else np.column_stack(columns)

    def metadata(self) -> dict[str, str]:
        size = {"log_params_mean": repr(self.log_params_mean), "log_params_std": repr(self.log_params_std)}
        prior = {"prior": self.prior, "prior_mean": repr(self.prior_mean), "prior_std": repr(self.prior_std)}
        return {"features": self.features, **(size if self.sized else {}), **(prior if self.prior else {})}

    @classmethod
    def from_metadata(cls, meta: dict[str, str]) -> SurrogateInputs:
        features = meta.get("features", "embedding")  # tables packed before the choice read embeddings
        sized = "log_params_mean" in meta
        prior = meta.get("prior")
        return cls(
            features,
            float(meta["log_params_mean"]) if sized else None,
            float(meta["log_params_std"]) if sized else None,
            prior,
            float(meta["prior_mean"]) if prior else None,
            float(meta["prior_std"]) if prior else None,
        )


@dataclass
class TableSurrogate:
    """The stored surrogate, ready to answer: the ensemble and how its inputs are built."""

    model: Any  # flexibench.surrogates.MLPEnsemble
    inputs: SurrogateInputs

    def predict(
        self,
        cards: Sequence[ModelCard],
        params: np.ndarray,
        embeddings: np.ndarray | None = None,
        space: DesignSpace | None = None,
        prior_scores: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mean and spread of the score for ``cards`` (see :meth:`SurrogateInputs.build`)."""
        return self.model.predict(self.inputs.build(cards, params, embeddings, space, prior_scores))


@dataclass
class SurrogateFit:
    """A fitted ensemble plus how it was validated."""

    model: Any  # flexibench.surrogates.MLPEnsemble
    inputs: SurrogateInputs
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
        model = {"class": "flexibench.surrogates.MLPEnsemble", "options": self.options, "inputs": self.inputs.names()}
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
            "weights": np.frombuffer(serialize(self.model, self.inputs), dtype=np.uint8).copy(),
            "mean": np.asarray(mean, np.float32),
            "std": np.asarray(std, np.float32),
        }


def fit_table_surrogate(
    X: np.ndarray,
    y: np.ndarray,
    *,
    inputs: SurrogateInputs,
    val_fraction: float = 0.2,
    split_seed: int = 0,
    cv_folds: int = CV_FOLDS,
    cv_repeats: int = CV_REPEATS,
    **options: Any,
) -> SurrogateFit:
    """Fit the ensemble on a random ``1 - val_fraction`` of the rows and score it on the rest.

    ``X`` is already the surrogate's input (:meth:`SurrogateInputs.build` under ``inputs``).
    With ``cv_folds >= 2`` (and at least two cards per fold) the same recipe is also
    scored by :func:`cross_validate`; ``cv_folds=0`` skips it.
    """
    from flexibench.surrogates import MLPEnsemble

    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction: {val_fraction} is not allowed; allowed: 0 < val_fraction < 1")
    X, y = np.asarray(X, np.float32), np.asarray(y, np.float64)
    order = np.random.default_rng(split_seed).permutation(len(y))
    n_val = _validation_size(len(y), val_fraction)
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
        inputs=inputs,
        options={**settings, "hidden": list(settings["hidden"])},
        kendall_tau=float(tau),
        spearman=float(rho),
        rmse=rmse,
        n_train=len(train),
        n_val=len(val),
        split_seed=split_seed,
        cv=cv,
    )


def _validation_size(n_cards: int, val_fraction: float) -> int:
    return min(max(2, round(val_fraction * n_cards)), n_cards - 2)


def fit_settings(n_cards: int, options: dict[str, Any]) -> dict[str, Any]:
    """Everything besides the data that decides what :func:`fit_table_surrogate` stores, for ``n_cards`` cards.

    ``options`` are its keyword arguments; :func:`stored_fit_settings` reads the same dict back
    from a stored surrogate's attributes, so two fits can be compared without refitting either.
    """
    ensemble = {k: v for k, v in options.items() if k not in ("val_fraction", "split_seed", "cv_folds", "cv_repeats")}
    ensemble = {**DEFAULT_OPTIONS, **ensemble}
    folds, repeats = options.get("cv_folds", CV_FOLDS), max(options.get("cv_repeats", CV_REPEATS), 1)
    return {
        "ensemble": {**ensemble, "hidden": list(ensemble["hidden"])},
        "split_seed": int(options.get("split_seed", 0)),
        "n_val": _validation_size(n_cards, options.get("val_fraction", 0.2)),
        "cv": [folds, repeats] if folds >= 2 and n_cards >= 2 * folds else None,
    }


def stored_fit_settings(attrs: dict[str, Any]) -> dict[str, Any]:
    """:func:`fit_settings` of the fit whose ``/surrogate/<fidelity>`` attributes (decoded) are ``attrs``."""
    model = attrs.get("model")
    cv = [attrs["cv_folds"], attrs["cv_repeats"]] if "cv_folds" in attrs else None
    return {
        "ensemble": model.get("options", {}) if isinstance(model, dict) else {},
        "split_seed": attrs.get("split_seed"),
        "n_val": attrs.get("n_val"),
        "cv": cv,
    }


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


def serialize(model: Any, inputs: SurrogateInputs) -> bytes:
    """Safetensors bytes of the fitted ensemble (:meth:`MLPEnsemble.get_state`) with its inputs as metadata."""
    from safetensors.torch import save

    tensors, metadata = model.get_state()
    return save(tensors, metadata={**metadata, **inputs.metadata()})


def deserialize(blob: bytes) -> TableSurrogate:
    """Rebuild a ready-to-predict surrogate from :func:`serialize` bytes (no retraining)."""
    from safetensors.torch import load

    from flexibench.surrogates import MLPEnsemble

    meta = safetensors_metadata(blob)
    return TableSurrogate(MLPEnsemble.from_state(load(blob), meta), SurrogateInputs.from_metadata(meta))


def safetensors_metadata(blob: bytes) -> dict[str, str]:
    """The ``__metadata__`` of safetensors bytes (format: u64 little-endian header size, then JSON header)."""
    size = int.from_bytes(blob[:8], "little")
    return json.loads(blob[8 : 8 + size]).get("__metadata__", {})
