"""``pack``: merge journal shards with the graph library into a new, verified table file.

The packed file is never edited in place. ``pack`` reads every shard, joins the
records to the library's cards (measured cards outside the library are appended
as extra rows), fits the per-fidelity surrogate, writes everything to a temporary
file beside the target, verifies it, and only then renames it over the target.
Any failure on the way leaves the old table untouched. Latency shards among the inputs
(:func:`~flexibench.bench.journal.shard_kind` ``"latency"``) become the optional /archs
hardware columns (:mod:`flexibench.bench.latency_table`), NaN for cards not measured yet.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from flexibench.bench import schema
from flexibench.bench.curves import UNIT as CURVE_UNIT
from flexibench.bench.curves import curve_column, tokens_per_step
from flexibench.bench.flops import DEFAULT_SEQ_LEN, card_flops
from flexibench.bench.journal import RESULT_KIND, expand_shard_paths, read_shards, shard_kind
from flexibench.bench.kept_layers import FIT_ARCH_COLUMNS, FIT_RESULT_COLUMNS, EarlierTable, fit_key
from flexibench.bench.latency_table import KIND as LATENCY_KIND
from flexibench.bench.latency_table import columns_for, read_latency, summarise
from flexibench.bench.store import as_column, atomic_output, checksum, write_file
from flexibench.bench.table_surrogate import row_scores as table_row_scores
from flexibench.core import DesignSpace, ModelCard, card_hash
from flexibench.core.errors import DataError
from flexibench.core.recipes import comparable_recipe
from flexibench.core.record import STATUSES, ResultRecord

PAPER_VOCAB_SIZE = 50_265  # RoBERTa tokenizer, as in the paper (Table 3 parameter counts)


class LibraryLike(Protocol):
    """What pack needs from :class:`flexibench.library.Library` (tests pass a small fixture)."""

    cards: Sequence[ModelCard]
    hashes: Sequence[str]
    embeddings: np.ndarray  # (N, d) float32
    neighbours: np.ndarray  # (N, k) int32

    def embed(self, card: ModelCard) -> np.ndarray: ...


@dataclass
class PackReport:
    """What was packed: counts per fidelity and the surrogate's held-out figures."""

    path: Path
    archs: int
    library_cards: int
    records: dict[str, int] = field(default_factory=dict)
    measured_cards: dict[str, int] = field(default_factory=dict)
    surrogates: dict[str, dict[str, Any]] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)  # fidelities whose surrogate was copied from ``keep_from``
    kept_library: bool = False  # /archs embedding and neighbours copied from ``keep_from``

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "archs": self.archs,
            "library_cards": self.library_cards,
            "records": self.records,
            "measured_cards": self.measured_cards,
            "surrogates": self.surrogates,
            "kept": self.kept,
            "kept_library": self.kept_library,
        }


def pack(
    shards: Iterable[str | Path],
    out: str | Path,
    *,
    library: LibraryLike | None = None,
    library_level: int = 1,
    space: DesignSpace | None = None,
    vocab_size: int | None = None,
    data_sources: str = "",
    fit_surrogate: bool = True,
    surrogate_options: dict[str, Any] | None = None,
    flops_seq_len: int = DEFAULT_SEQ_LEN,
    verify_hashes: bool = True,
    keep_from: str | Path | None = None,
) -> PackReport:
    """Merge ``shards`` (files or folders of ``*.jsonl``) and the library into a new table at ``out``.

    ``library`` defaults to ``flexibench.library.load_or_build_library(level=library_level)``.
    ``vocab_size`` (for parameter counts) defaults to the recipes' ``vocab_size`` or
    the paper's 50,265. Returns a :class:`PackReport`; raises :class:`DataError` on
    inconsistent input (a record whose hash does not match its card, a card outside
    the design space) and leaves ``out`` untouched. ``out`` must be a new path or an
    existing FlexiBench table, and not one of the inputs (:func:`check_out_path`).
    ``keep_from`` (an earlier table, often ``out`` itself) copies the library's embedding and
    each fidelity's surrogate from it unchanged where nothing they were fitted from has changed
    (:mod:`flexibench.bench.kept_layers`), so adding a fidelity moves no other fidelity's answers.
    """
    from flexibench.core.version import __version__

    space = space or DesignSpace.default()
    earlier = EarlierTable(keep_from) if keep_from is not None else None
    space_text = space.yaml_text or json.dumps(_space_dict(space))
    shards = list(shards)
    shard_paths = expand_shard_paths(shards)
    check_out_path(out, shards, shard_paths)
    kinds = {path: shard_kind(path) for path in shard_paths}
    unknown = sorted({k for k in kinds.values() if k not in (RESULT_KIND, LATENCY_KIND)})
    if unknown:
        raise DataError(f"shards of unknown kind {unknown}: pack reads evaluation and latency shards")
    latency_paths = [p for p, k in kinds.items() if k == LATENCY_KIND]
    shard_paths = [p for p, k in kinds.items() if k == RESULT_KIND]
    latency = summarise(read_latency(latency_paths)) if latency_paths else None
    records = read_shards(shard_paths)
    if library is None:
        from flexibench.library import load_or_build_library

        library = load_or_build_library(level=library_level)
    vocab = vocab_size or _vocab_from_records(records) or PAPER_VOCAB_SIZE
    cards, parsed = _record_cards(records, space, verify_hashes)
    archs, row_of = _arch_columns(library, cards, space, vocab, flops_seq_len, parsed)
    row_cards = sorted(row_of, key=row_of.__getitem__)  # the card of every /archs row, in row order
    cost_model = _ged_cost_model(library, space)
    kept_library = earlier.library_columns(archs, cost_model) if earlier else None
    if kept_library is not None:
        archs.update(kept_library.columns)
        cost_model = kept_library.attrs["ged_cost_model"]

    by_fidelity: dict[str, list[ResultRecord]] = defaultdict(list)
    for record in records:
        by_fidelity[record.fidelity].append(record)
    recipes = {fid: _recipe_of(recs) for fid, recs in sorted(by_fidelity.items())}  # fails before any fitting
    datasets: dict[str, np.ndarray] = {f"{schema.ARCHS}/{k}": v for k, v in archs.items()}
    group_attrs: dict[str, dict[str, Any]] = {}
    if latency is not None and latency.cards_measured:
        datasets.update({f"{schema.ARCHS}/{k}": v for k, v in columns_for(list(archs["hash"]), latency).items()})
        group_attrs[schema.ARCHS] = {schema.HARDWARE_ATTR: latency.attrs()}
    report = PackReport(
        Path(out), archs=len(archs["card"]), library_cards=len(library.cards), kept_library=kept_library is not None
    )
    results: dict[str, dict[str, np.ndarray]] = {}
    for fidelity, recs in sorted(by_fidelity.items()):
        columns, attrs = _result_columns(recs, row_of, parsed)
        datasets.update({f"{schema.RESULTS}/{fidelity}/{k}": v for k, v in columns.items()})
        group_attrs[f"{schema.RESULTS}/{fidelity}"] = attrs
        ok = columns["status"] == STATUSES.index("ok")
        report.records[fidelity] = len(recs)
        report.measured_cards[fidelity] = len(np.unique(columns["arch"][ok]))
        results[fidelity] = columns
    # the most measured fidelity first: every other one may read its score as an input (multi-fidelity)
    base = max(sorted(results), key=lambda f: report.measured_cards[f], default=None)
    row_scores: dict[str, np.ndarray] = {}
    for fidelity in sorted(results, key=lambda f: f != base) if fit_surrogate else ():
        options, columns = surrogate_options or {}, results[fidelity]
        prior = (base, row_scores[base]) if fidelity != base and base in row_scores else None
        kept = earlier.layer(fidelity, _fit_key(archs, columns, space_text, options, prior)) if earlier else None
        if kept is not None:
            model_columns, model_attrs = kept.columns, kept.attrs
            report.kept.append(fidelity)
        else:
            fitted = _fit_surrogate(fidelity, columns, archs, row_cards, space, options, prior)
            if fitted is None:
                continue
            model_columns, model_attrs = fitted
            curve_fit = _fit_curve_surrogate(columns, model_columns, archs, row_cards, space, options)
            model_columns.update(curve_fit[0])
            model_attrs.update(curve_fit[1])
        row_scores[fidelity] = table_row_scores(columns, model_columns["mean"])
        datasets.update({f"{schema.SURROGATE}/{fidelity}/{k}": v for k, v in model_columns.items()})
        group_attrs[f"{schema.SURROGATE}/{fidelity}"] = model_attrs
        figures = ("n_train", "n_val", *schema.SURROGATE_FIGURES, *schema.SURROGATE_CV_FIGURES)
        figures += schema.SURROGATE_PRIOR_ATTRS
        report.surrogates[fidelity] = {k: model_attrs[k] for k in figures if k in model_attrs}

    meta = {
        "format_version": schema.FORMAT_VERSION,
        "package_version": __version__,
        "design_space_yaml": space_text,
        "ged_cost_model": cost_model,
        "fidelities": recipes,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "data_sources": _data_sources(data_sources, shard_paths, records, latency_paths),
        "library_level": library_level,
        "default_fidelity": _default_fidelity(by_fidelity),
        "flops_seq_len": flops_seq_len,
        "vocab_size": vocab,
    }
    from flexibench.bench.verify import verify

    with atomic_output(out) as tmp:
        write_file(tmp, meta, datasets, group_attrs)
        verify(tmp, check_hashes=False).raise_for_problems()
    return report


def check_out_path(out: str | Path, inputs: Iterable[str | Path], shard_paths: Iterable[Path]) -> None:
    """Refuse an ``out`` that pack would destroy: anything but a new path or an existing FlexiBench table.

    ``out`` may not be an input (a shard or a folder of shards) nor end in ``.jsonl`` (a
    later pack of its folder would read the table as a shard).
    """
    target = Path(out)
    resolved = target.resolve()
    for item in [*inputs, *shard_paths]:
        if resolved == Path(item).resolve():
            raise DataError(f"--out {target}: is one of the inputs ({item}); pick another path")
    if target.suffix == ".jsonl":
        raise DataError(f"--out {target}: a .jsonl name is for journal shards; give the table another name (.h5)")
    if not os.path.lexists(target):
        return
    if target.is_dir():
        raise DataError(f"--out {target}: is a directory; give a file path such as {target / 'flexibench.h5'}")
    if not target.is_file():
        raise DataError(f"--out {target}: exists and is not a regular file; pack writes only a new path or a table")
    if not _is_table(target):
        raise DataError(
            f"--out {target}: exists and is not a FlexiBench table; pack replaces only an earlier table "
            "(remove the file yourself if you mean to replace it)"
        )


def _is_table(path: Path) -> bool:
    """An HDF5 file with the table's /meta group and a format version (its contents may be stale or damaged)."""
    import h5py

    try:
        if not h5py.is_hdf5(path):
            return False
        with h5py.File(path, "r") as handle:
            return schema.META in handle and "format_version" in handle[schema.META].attrs
    except (OSError, ValueError):
        return False


# ---------------------------------------------------------------------------- cards and rows
def _record_cards(
    records: list[ResultRecord], space: DesignSpace, verify_hashes: bool
) -> tuple[list[ModelCard], dict[int, ModelCard]]:
    """Parse and check every record's card once; returns distinct cards and id(record) -> card."""
    parsed: dict[int, ModelCard] = {}
    distinct: dict[ModelCard, str] = {}
    for record in records:
        try:
            card = space.validate(ModelCard.from_dict(record.card))
        except Exception as exc:  # CardError: a record for a card outside this design space
            raise DataError(f"record {record.key}: card is not in the design space ({exc})") from None
        known = distinct.get(card)
        if known is None:
            if verify_hashes and card_hash(card) != record.card_hash:
                raise DataError(f"record {record.key}: card_hash does not match its card {card.short()}")
            distinct[card] = record.card_hash
        elif known != record.card_hash:
            raise DataError(f"records for {card.short()} carry different hashes ({known}, {record.card_hash})")
        parsed[id(record)] = card
    return list(distinct), parsed


def _arch_columns(
    library: LibraryLike,
    measured: list[ModelCard],
    space: DesignSpace,
    vocab: int,
    seq_len: int,
    parsed: dict[int, ModelCard],
) -> tuple[dict[str, np.ndarray], dict[ModelCard, int]]:
    lib_cards = list(library.cards)
    row_of = {card: i for i, card in enumerate(lib_cards)}
    if len(row_of) != len(lib_cards):
        raise DataError("library lists a card twice")
    extras = sorted((c for c in measured if c not in row_of), key=lambda c: c.to_json())
    cards = lib_cards + extras
    row_of.update({card: len(lib_cards) + i for i, card in enumerate(extras)})
    hashes = list(library.hashes) + [card_hash(c) for c in extras]
    embeddings = np.asarray(library.embeddings, dtype=np.float32)
    neighbours = np.asarray(library.neighbours, dtype=np.int32)
    if embeddings.shape[0] != len(lib_cards) or neighbours.shape[0] != len(lib_cards):
        raise DataError(
            f"library has {len(lib_cards)} cards but {embeddings.shape[0]} embeddings "
            f"and {neighbours.shape[0]} neighbour rows"
        )
    if extras:
        embeddings = np.vstack([embeddings, np.stack([np.asarray(library.embed(c), np.float32) for c in extras])])
        neighbours = np.vstack([neighbours, np.full((len(extras), neighbours.shape[1]), -1, np.int32)])
    params_of = _parameter_counter(vocab)
    levels = [space.level_of(c) for c in cards]
    return {
        "hash": as_column(hashes, "str"),
        "card": as_column([c.to_json() for c in cards], "str"),
        "level": np.asarray(levels, np.int8),
        "space_index": np.asarray([space.index_of(c, lv) for c, lv in zip(cards, levels)], np.int64),
        "n_layers": np.asarray([c.l for c in cards], np.int8),
        "params": np.asarray([params_of(c) for c in cards], np.int64),
        "flops": np.asarray([card_flops(c, seq_len) for c in cards], np.int64),
        "homogeneous": np.asarray([c.is_homogeneous for c in cards], bool),
        "in_library": np.asarray([i < len(lib_cards) for i in range(len(cards))], bool),
        "embedding": embeddings,
        "neighbours": neighbours,
    }, row_of


def _parameter_counter(vocab: int) -> Callable[[ModelCard], int]:
    """Counts from ``flexibench.models`` (memoised per block, no model is built)."""
    from flexibench.bench.param_counts import counter_for

    return counter_for(vocab)


# ---------------------------------------------------------------------------- results
def _result_columns(
    records: list[ResultRecord], row_of: dict[ModelCard, int], parsed: dict[int, ModelCard]
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    rows = sorted(((row_of[parsed[id(r)]], r.seed, r) for r in records), key=lambda t: (t[0], t[1]))
    recs = [r for _, _, r in rows]
    tasks = sorted({task for r in recs for task in r.task_scores} | {task for r in recs for task in r.finetune_losses})

    def matrix(attr: str) -> np.ndarray:
        out = np.full((len(recs), len(tasks)), np.nan)
        for i, r in enumerate(recs):
            for j, task in enumerate(tasks):
                value = getattr(r, attr).get(task)
                out[i, j] = math.nan if value is None else float(value)
        return out

    columns = {
        "arch": np.asarray([row for row, _, _ in rows], np.int32),
        "seed": np.asarray([r.seed for r in recs], np.int64),
        "status": np.asarray([STATUSES.index(r.status) for r in recs], np.int8),
        "score": np.asarray([r.score for r in recs], np.float64),
        "task_scores": matrix("task_scores"),
        "pretrain_loss": np.asarray([r.pretrain_loss for r in recs], np.float64),
        "finetune_loss": matrix("finetune_losses"),
        "pretrain_time_s": np.asarray([r.pretrain_time_s for r in recs], np.float64),
        "finetune_time_s": np.asarray([r.finetune_time_s for r in recs], np.float64),
        "tokens_seen": np.asarray([r.tokens_seen for r in recs], np.int64),
        "device": as_column([r.device for r in recs], "str"),
        "transfer_source": as_column([r.transfer_source or "" for r in recs], "str"),
        "timestamp": as_column([r.timestamp for r in recs], "str"),
        "record": as_column([r.to_json() for r in recs], "str"),
    }
    attrs: dict[str, Any] = {"tasks": tasks, "statuses": list(STATUSES)}
    curve, budgets = curve_column(recs)
    if budgets:  # tables of recipes without checkpoints stay as before
        columns["curve"] = curve
        attrs.update(curve_budgets=budgets, curve_unit=CURVE_UNIT, curve_tokens_per_step=tokens_per_step(recs))
    return columns, attrs


def _fit_key(
    archs: dict[str, np.ndarray],
    columns: dict[str, np.ndarray],
    space_text: str,
    options: dict[str, Any],
    prior: tuple[str, np.ndarray] | None,
) -> str:
    """:func:`~flexibench.bench.kept_layers.fit_key` of the fit :func:`_fit_surrogate` would make of these columns."""
    from flexibench.bench.table_surrogate import fit_settings, mean_scores_per_arch

    arch_digests = {c: checksum(archs[c]) for c in FIT_ARCH_COLUMNS if c in archs}
    result_digests = {c: checksum(columns[c]) for c in FIT_RESULT_COLUMNS if c in columns}
    n_cards = len(mean_scores_per_arch(columns["arch"], columns["status"], columns["score"])[0])
    settings = fit_settings(n_cards, {k: v for k, v in options.items() if k != "min_cards"})
    prior_key = (prior[0], checksum(np.asarray(prior[1], np.float64))) if prior else None
    return fit_key(arch_digests, result_digests, space_text, settings, prior_key)


def _fit_surrogate(
    fidelity: str,
    columns: dict[str, np.ndarray],
    archs: dict[str, np.ndarray],
    cards: list[ModelCard],
    space: DesignSpace,
    options: dict[str, Any],
    prior: tuple[str, np.ndarray] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    """The fidelity's surrogate fitted on its measured cards; its predictions for every row and its attrs.

    With ``prior`` (another fidelity's name and its score for every row) the surrogate reading
    that score is cross-validated against the one without it, and the better of the two by
    cross-validated Kendall tau is stored; both figures go into the attrs (``prior_*``).
    """
    from flexibench.bench.table_surrogate import (
        MIN_CARDS,
        SurrogateInputs,
        fit_table_surrogate,
        mean_scores_per_arch,
    )

    rows, scores = mean_scores_per_arch(columns["arch"], columns["status"], columns["score"])
    if len(rows) < options.get("min_cards", MIN_CARDS):
        warnings.warn(
            f"fidelity {fidelity!r}: only {len(rows)} measured cards; no surrogate fitted "
            f"(unmeasured cards will not be answered)",
            stacklevel=3,
        )
        return None
    inputs = SurrogateInputs.fit(archs["params"])
    if not inputs.sized:
        warnings.warn("parameter counts unknown: the surrogate reads the design choices alone", stacklevel=3)
    X = inputs.build(cards, archs["params"], space=space)
    settings = {k: v for k, v in options.items() if k != "min_cards"}
    fit = fit_table_surrogate(X[rows], scores, inputs=inputs, **settings)
    extra: dict[str, Any] = {}
    if prior is not None:
        with_prior = inputs.with_prior(prior[0], prior[1])
        X_prior = with_prior.build(cards, archs["params"], space=space, prior_scores=prior[1])
        fit_prior = fit_table_surrogate(X_prior[rows], scores, inputs=with_prior, **settings)
        extra = _prior_attrs(prior[0], fit, fit_prior)
        if extra["prior_used"]:
            fit, X = fit_prior, X_prior
    mean, std = fit.model.predict(X)
    return fit.columns(mean, std), {**fit.attrs(), **extra}


def _prior_attrs(prior: str, without: Any, with_prior: Any) -> dict[str, Any]:
    """Cross-validated figures with and without the prior fidelity's score; the prior is used if it ranks better."""

    def figure(fit: Any, name: str) -> float:
        return float((fit.cv or {}).get(f"cv_{name}", getattr(fit, name)))

    attrs: dict[str, Any] = {"prior": prior}
    for name in schema.SURROGATE_FIGURES:
        attrs[f"prior_with_{name}"] = figure(with_prior, name)
        attrs[f"prior_without_{name}"] = figure(without, name)
    attrs["prior_used"] = bool(attrs["prior_with_kendall_tau"] > attrs["prior_without_kendall_tau"])
    return attrs


def _fit_curve_surrogate(
    columns: dict[str, np.ndarray],
    final: dict[str, np.ndarray],
    archs: dict[str, np.ndarray],
    cards: list[ModelCard],
    space: DesignSpace,
    options: dict[str, Any],
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Predictions at every checkpoint of the curve for every /archs row: one model per checkpoint.

    A checkpoint whose scores are the records' final scores reuses the final surrogate's
    predictions (``final``). The per-checkpoint models are fitted like the final one, without
    cross-validation, and only their predictions are stored (cards without a row get
    predictions at the final checkpoint only).
    """
    from flexibench.bench.table_surrogate import MIN_CARDS, SurrogateInputs, fit_table_surrogate, mean_scores_per_arch

    curve = columns.get("curve")
    if curve is None:
        return {}, {}
    ok = (columns["status"] == STATUSES.index("ok")) & np.isfinite(columns["score"])
    inputs = SurrogateInputs.fit(archs["params"])
    X = inputs.build(cards, archs["params"], space=space)
    settings = {k: v for k, v in options.items() if k not in ("min_cards", "cv_folds")}
    mean = np.full((len(cards), curve.shape[1]), np.nan, np.float32)
    std = np.full_like(mean, np.nan)
    taus = []
    for j in range(curve.shape[1]):
        if np.array_equal(curve[ok, j], columns["score"][ok]):
            mean[:, j], std[:, j] = final["mean"], final["std"]
            taus.append(None)
            continue
        rows, scores = mean_scores_per_arch(columns["arch"], columns["status"], curve[:, j])
        if len(rows) < options.get("min_cards", MIN_CARDS):
            taus.append(None)
            continue
        fit = fit_table_surrogate(X[rows], scores, inputs=inputs, cv_folds=0, **settings)
        mean[:, j], std[:, j] = fit.model.predict(X)
        taus.append(fit.kendall_tau)
    return {"curve_mean": mean, "curve_std": std}, {"curve_kendall_tau": taus}


# ---------------------------------------------------------------------------- meta
def _vocab_from_records(records: list[ResultRecord]) -> int | None:
    for record in records:
        value = record.recipe.get("vocab_size") if isinstance(record.recipe, dict) else None
        if isinstance(value, int) and value > 0:
            return value
    return None


def _recipe_of(records: list[ResultRecord]) -> dict[str, Any]:
    """The one recipe of a fidelity; records trained under different budgets are an error, not a mix.

    Scores from two versions of a recipe are not comparable, so a fidelity name must
    mean one budget: a changed recipe gets a new name or its old records are archived
    (``data/shards/archive/``). Only the free-text description may differ, and a setting that
    was added later with a default equal to the old behaviour (``recipes.RECIPE_DEFAULTS_ADDED``) reads
    as that default where an older record lacks it.
    """
    recipes = {json.dumps(comparable_recipe(r.recipe), sort_keys=True) for r in records}
    if len(recipes) > 1:
        raise DataError(
            f"fidelity {records[0].fidelity!r}: its records come from {len(recipes)} different recipes; "
            "pack the shards of one recipe version per fidelity name (archive or rename the others)"
        )
    return records[0].recipe


def _default_fidelity(by_fidelity: dict[str, list[ResultRecord]]) -> str:
    if "nano" in by_fidelity or not by_fidelity:
        return "nano"
    return max(by_fidelity, key=lambda fid: len(by_fidelity[fid]))


def _ged_cost_model(library: LibraryLike, space: DesignSpace) -> dict[str, Any]:
    """The cost model the library's distances (hence embeddings) were computed with, plus its build notes."""
    model = getattr(library, "cost_model", None)
    if model is None:
        from flexibench.library.costs import CostModel

        model = CostModel.from_space(space)
    out: dict[str, Any] = {"description": "GED costs ordered by block complexity (Section 3.3.1)", **model.to_dict()}
    notes = getattr(library, "meta", None)
    if isinstance(notes, dict):
        try:
            out["library"] = json.loads(json.dumps(notes, default=str))
        except (TypeError, ValueError):
            pass
    return out


def _data_sources(text: str, shard_paths: list[Path], records: list[ResultRecord], latency_paths: list[Path]) -> str:
    lines = [text.strip()] if text.strip() else []
    lines.append(f"{len(records)} records from {len(shard_paths)} journal shard(s):")
    lines += [f"  {p.name}" for p in shard_paths]
    if latency_paths:
        lines.append(f"hardware objectives from {len(latency_paths)} latency shard(s):")
        lines += [f"  {p.parent.name}/{p.name}" for p in latency_paths]
    return "\n".join(lines)


def _space_dict(space: DesignSpace) -> dict[str, Any]:
    return {
        "name": space.name,
        "layers": list(space.layers),
        "operations": {op: list(ps) for op, ps in space.operations.items()},
        "heads": list(space.heads),
        "hidden": list(space.hidden),
        "ff_widths": list(space.ff_widths),
        "ff_depths": list(space.ff_depths),
        "stack": space.stack,
    }
