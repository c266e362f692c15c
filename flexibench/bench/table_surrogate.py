"""The table's surrogate: answers cards nobody trained, with a mean and a spread.

It is the shared :class:`flexibench.surrogates.MLPEnsemble` fitted on the
Transformer2vec embeddings of measured cards and their seed-averaged scores. A
random held-out split (``val_fraction`` of the measured cards, seeded) gives the
validation figures stored beside the weights (Kendall tau, Spearman rho, RMSE);
the stored model is the one those figures describe (fitted on the training part
only), so what ``flexibench info`` prints is what queries get. Weights travel
in the table as safetensors bytes, so loading needs no retraining; pack also
stores the prediction for every table row, so queries on library cards need
neither torch nor the weights.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

MIN_CARDS = 10  # fewer measured cards than this: no surrogate (its figures would be noise)
DEFAULT_OPTIONS: dict[str, Any] = {"n_members": 5, "hidden": (64, 64), "epochs": 300, "lr": 3e-3, "weight_decay": 1e-4}


def mean_scores_per_arch(arch: np.ndarray, status: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of measured cards and their mean score over ``ok`` records with a finite score."""
    from flexibench.bench.record import STATUSES

    keep = (status == STATUSES.index("ok")) & np.isfinite(score)
    rows, inverse = np.unique(arch[keep], return_inverse=True)
    sums = np.bincount(inverse, weights=score[keep], minlength=len(rows))
    counts = np.bincount(inverse, minlength=len(rows))
    return rows, sums / np.maximum(counts, 1)


@dataclass
class SurrogateFit:
    """A fitted ensemble plus how it was validated."""

    model: Any  # flexibench.surrogates.MLPEnsemble
    options: dict[str, Any]
    kendall_tau: float
    spearman: float
    rmse: float
    n_train: int
    n_val: int
    split_seed: int

    def attrs(self) -> dict[str, Any]:
        """Group attributes for ``/surrogate/<fidelity>`` (see :data:`flexibench.bench.schema.SURROGATE_ATTRS`)."""
        return {
            "model": json.dumps({"class": "flexibench.surrogates.MLPEnsemble", "options": self.options}),
            "kendall_tau": self.kendall_tau,
            "spearman": self.spearman,
            "rmse": self.rmse,
            "n_train": self.n_train,
            "n_val": self.n_val,
            "split_seed": self.split_seed,
        }

    def columns(self, mean: np.ndarray, std: np.ndarray) -> dict[str, np.ndarray]:
        return {
            "weights": np.frombuffer(serialize(self.model), dtype=np.uint8).copy(),
            "mean": np.asarray(mean, np.float32),
            "std": np.asarray(std, np.float32),
        }


def fit_table_surrogate(
    X: np.ndarray, y: np.ndarray, *, val_fraction: float = 0.2, split_seed: int = 0, **options: Any
) -> SurrogateFit:
    """Fit the ensemble on a random ``1 - val_fraction`` of the rows and score it on the rest."""
    from scipy.stats import kendalltau, spearmanr

    from flexibench.surrogates import MLPEnsemble

    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction: {val_fraction} is not allowed; allowed: 0 < val_fraction < 1")
    X, y = np.asarray(X, np.float32), np.asarray(y, np.float64)
    order = np.random.default_rng(split_seed).permutation(len(y))
    n_val = min(max(2, round(val_fraction * len(y))), len(y) - 2)
    val, train = order[:n_val], order[n_val:]
    settings = {**DEFAULT_OPTIONS, **options}
    settings["hidden"] = tuple(settings["hidden"])
    model = MLPEnsemble(seed=split_seed, **settings).fit(X[train], y[train])
    predicted, _ = model.predict(X[val])
    tau = kendalltau(predicted, y[val]).statistic
    rho = spearmanr(predicted, y[val]).statistic
    rmse = float(np.sqrt(np.mean((predicted - y[val]) ** 2)))
    return SurrogateFit(
        model=model,
        options={**settings, "hidden": list(settings["hidden"])},
        kendall_tau=float(tau),
        spearman=float(rho),
        rmse=rmse,
        n_train=len(train),
        n_val=len(val),
        split_seed=split_seed,
    )


def serialize(model: Any) -> bytes:
    """Safetensors bytes of the ensemble's weights, with its options and target scaling as metadata."""
    from safetensors.torch import save

    state = {k: v.detach().contiguous() for k, v in model.net.state_dict().items()}
    metadata = {
        "n_members": str(model.n_members),
        "hidden": json.dumps(list(model.hidden)),
        "inputs": str(model.n_features_in_),
        "target_mean": repr(float(model.scaler.mean)),
        "target_scale": repr(float(model.scaler.scale)),
    }
    return save(state, metadata=metadata)


def deserialize(blob: bytes) -> Any:
    """Rebuild a ready-to-predict :class:`MLPEnsemble` from :func:`serialize` bytes (no retraining)."""
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
    return model


def safetensors_metadata(blob: bytes) -> dict[str, str]:
    """The ``__metadata__`` of safetensors bytes (format: u64 little-endian header size, then JSON header)."""
    size = int.from_bytes(blob[:8], "little")
    return json.loads(blob[8 : 8 + size]).get("__metadata__", {})
