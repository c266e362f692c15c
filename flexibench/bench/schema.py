"""Layout of the packed HDF5 table: group and dataset names, dtypes, required columns.

One place names every path so the writer (:mod:`flexibench.bench.pack`), the checker
(:mod:`flexibench.bench.verify`) and the reader (:mod:`flexibench.bench.benchmark`)
cannot drift apart. Bump :data:`FORMAT_VERSION` on any incompatible change; readers
refuse newer formats rather than guess.

Layout::

    /meta                       attrs only (see META_ATTRS); checksums = JSON {dataset path: sha256}
    /archs/<column>             one row per card (library cards first, then measured extras)
    /results/<fidelity>/<col>   one row per (card, seed) record, ``arch`` indexes /archs; ``curve`` (R, K)
    /surrogate/<fidelity>/<col> fitted surrogate: weights bytes + predictions for every /archs row
"""

from __future__ import annotations

FORMAT_VERSION = 1

META = "meta"
ARCHS = "archs"
RESULTS = "results"
SURROGATE = "surrogate"

#: /meta attributes every file carries (values are str or int; structured ones are JSON text).
META_ATTRS = (
    "format_version",
    "package_version",
    "design_space_yaml",
    "ged_cost_model",
    "fidelities",  # JSON {fidelity: recipe dict}
    "created",
    "data_sources",
    "checksums",  # JSON {dataset path: sha256 hex}
    "attrs_checksum",  # sha256 over every group's attributes (store.attrs_checksum)
    "library_level",
    "default_fidelity",
    "flops_seq_len",
    "vocab_size",
)

#: /archs columns -> numpy dtype kind ("str" = variable-length UTF-8).
ARCH_COLUMNS = {
    "hash": "str",  # card_hash of the card's block graph
    "card": "str",  # canonical card JSON (ModelCard.to_json)
    "level": "int8",  # first hierarchy level containing the card
    "space_index": "int64",  # DesignSpace.index_of(card, level)
    "n_layers": "int8",
    "params": "int64",  # -1 when unknown
    "flops": "int64",  # analytic forward FLOPs per sequence (flexibench.bench.flops)
    "homogeneous": "bool",
    "in_library": "bool",  # False for measured cards outside the graph library
    "embedding": "float32",  # (N, d) Transformer2vec
    "neighbours": "int32",  # (N, k) row indices into /archs, -1 = none
}

#: Optional /archs columns: the hardware objectives (flexibench.bench.latency_table), NaN for a card not
#: measured (yet); tables packed without latency shards lack them and still load. ``latency_ms`` is batch 1.
#: The machine, settings and the reference card's spread are the /archs attr HARDWARE_ATTR (JSON).
OPTIONAL_ARCH_COLUMNS = {
    "latency_ms": "float64",
    "latency_b32_ms": "float64",
    "latency_raw_ms": "float64",
    "latency_b32_raw_ms": "float64",
    "latency_wall_ms": "float64",
    "latency_b32_wall_ms": "float64",
    "peak_memory_mib": "float64",
    "peak_memory_b32_mib": "float64",
}
HARDWARE_ATTR = "hardware"

#: /results/<fidelity> columns. ``task_scores`` / ``finetune_loss`` are (R, T) with attr ``tasks``.
RESULT_COLUMNS = {
    "arch": "int32",
    "seed": "int64",
    "status": "int8",  # index into STATUSES (attr ``statuses``)
    "score": "float64",
    "task_scores": "float64",
    "pretrain_loss": "float64",
    "finetune_loss": "float64",
    "pretrain_time_s": "float64",
    "finetune_time_s": "float64",
    "tokens_seen": "int64",
    "device": "str",
    "transfer_source": "str",  # card hash the weights came from, "" for none
    "timestamp": "str",
    "record": "str",  # the full ResultRecord JSON, for provenance
}

#: Optional /results/<fidelity> columns: tables packed before they existed lack them and still load.
#: ``curve`` is (R, K): the score at each checkpoint named by the group's ``curve_budgets`` attr
#: (in ``curve_unit``; ``curve_tokens_per_step`` converts steps to tokens), NaN where a record lacks one.
OPTIONAL_RESULT_COLUMNS = {"curve": "float64"}
CURVE_ATTRS = ("curve_budgets", "curve_unit", "curve_tokens_per_step")

#: /surrogate/<fidelity> columns; validation figures live in its attrs (SURROGATE_ATTRS).
SURROGATE_COLUMNS = {
    "weights": "uint8",  # serialized model state (see flexibench.bench.table_surrogate)
    "mean": "float32",  # prediction for every /archs row
    "std": "float32",
}
#: Optional /surrogate/<fidelity> columns: (N, K) predictions at each checkpoint of the results' curve
#: (one model per checkpoint before the last; the last is ``mean``/``std``). Attr ``curve_kendall_tau``
#: holds each checkpoint model's held-out Kendall tau.
OPTIONAL_SURROGATE_COLUMNS = {"curve_mean": "float32", "curve_std": "float32"}
SURROGATE_FIGURES = ("kendall_tau", "spearman", "rmse")  # validation figures on the held-out split
SURROGATE_ATTRS = ("model", *SURROGATE_FIGURES, "n_train", "n_val", "split_seed")
#: Repeated K-fold figures of the same recipe; tables packed before they existed lack them.
SURROGATE_CV_FIGURES = tuple(f"cv_{name}" for name in SURROGATE_FIGURES)
SURROGATE_CV_ATTRS = (*SURROGATE_CV_FIGURES, "cv_folds", "cv_repeats")
#: A fidelity packed beside a more measured one (the "prior") is fitted with and without that fidelity's
#: score as an input: cross-validated figures of both (the held-out split's when too few cards to fold),
#: and which one is stored (``prior_used``). Only on tables with two or more fidelities.
SURROGATE_PRIOR_ATTRS = (
    "prior",
    "prior_used",
    *(f"prior_{kind}_{name}" for kind in ("with", "without") for name in SURROGATE_FIGURES),
)


def dataset_paths(fidelities: list[str] | tuple[str, ...], surrogates: list[str] | tuple[str, ...]) -> list[str]:
    """Every dataset path a complete file must hold, for structural checks."""
    paths = [f"{ARCHS}/{c}" for c in ARCH_COLUMNS]
    paths += [f"{RESULTS}/{fid}/{c}" for fid in fidelities for c in RESULT_COLUMNS]
    paths += [f"{SURROGATE}/{fid}/{c}" for fid in surrogates for c in SURROGATE_COLUMNS]
    return paths
