"""``Benchmark``: query the packed table in microseconds; the surrogate answers what was not trained.

Opening is lazy: ``load()`` reads only ``/meta``. The first query at a fidelity
reads that fidelity's result columns (checksum-verified), aggregates the seeds of
every measured card once into a frozen :class:`QueryResult`, and caches it keyed
by the :class:`ModelCard` itself (frozen, hashable: no ``card_hash`` on the query
path). Unmeasured cards in the design space get the surrogate's prediction,
precomputed at pack time for every card in the table (no torch needed); cards
outside the table are embedded by the graph library and predicted by the stored
ensemble weights (torch is imported then, and only then).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from flexibench.bench import schema
from flexibench.bench.record import STATUSES
from flexibench.bench.result import FrozenScores, QueryResult
from flexibench.bench.store import TableFile
from flexibench.errors import CardError, FlexiBenchError, shorten
from flexibench.space import DesignSpace, ModelCard

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

TABLE_ENV = "FLEXIBENCH_TABLE"
TABLE_NAME = "flexibench.h5"
_OK = STATUSES.index("ok")
CardLike = ModelCard | str | Mapping[str, Any]


class QueryError(FlexiBenchError, LookupError):
    """A query the table cannot answer (unknown fidelity, seed not measured, no surrogate)."""


def default_table_path() -> Path:
    """``$FLEXIBENCH_TABLE``, else ``data/flexibench.h5`` of the checkout (or inside the installed package)."""
    env = os.environ.get(TABLE_ENV)
    if env:
        return Path(env).expanduser()
    here = Path(__file__).resolve()
    candidates = [here.parents[2] / "data" / TABLE_NAME, here.parents[1] / "data" / TABLE_NAME]
    return next((p for p in candidates if p.is_file()), candidates[0])


def load(path: str | Path | None = None, *, seed: int = 0, library: Any = None) -> Benchmark:
    """Open a packed table lazily (only ``/meta`` is read now).

    ``path`` defaults to :func:`default_table_path`; ``seed`` seeds the generator
    behind ``query(..., seed="sample")`` when no ``rng`` is passed; ``library`` is
    the graph library used to embed cards that have no row in the table (default:
    ``flexibench.library.load_or_build_library`` at the table's level, on first need).
    """
    return Benchmark(default_table_path() if path is None else path, seed=seed, library=library)


class _Fidelity:
    """One fidelity's rows, aggregated per card on first use."""

    def __init__(self, bench: Benchmark, name: str) -> None:
        table, prefix = bench._table, f"{schema.RESULTS}/{name}"
        self.name = name
        self.tasks: list[str] = list(table.attrs(prefix).get("tasks", []))
        col = {c: table.read(f"{prefix}/{c}") for c in schema.RESULT_COLUMNS if c not in ("record", "device")}
        self.arch, self.seed, self.status = col["arch"], col["seed"], col["status"]
        self.score, self.task_scores = col["score"], col["task_scores"]
        self.pretrain, self.finetune = col["pretrain_time_s"], col["finetune_time_s"]
        self.rows_of: dict[ModelCard, np.ndarray] = {}  # card -> its record rows (any status)
        self.mean: dict[ModelCard, QueryResult] = {}
        starts = np.flatnonzero(np.r_[True, self.arch[1:] != self.arch[:-1]]) if len(self.arch) else []
        bounds = list(zip(starts, [*starts[1:], len(self.arch)]))
        for start, stop in bounds:
            row = int(self.arch[start])
            card = bench._card_at_row(row)
            rows = np.arange(start, stop)
            self.rows_of[card] = rows
            ok = rows[(self.status[rows] == _OK) & np.isfinite(self.score[rows])]
            if len(ok):
                self.mean[card] = self._aggregate(bench, card, row, ok)
        self.has_surrogate = table.has(f"{schema.SURROGATE}/{name}/mean")

    def _aggregate(self, bench: Benchmark, card: ModelCard, row: int, ok: np.ndarray) -> QueryResult:
        with np.errstate(all="ignore"):
            tasks = np.nanmean(self.task_scores[ok], axis=0) if self.tasks else np.array([])
        return QueryResult(
            card=card,
            fidelity=self.name,
            score=float(self.score[ok].mean()),
            task_scores=FrozenScores({t: float(v) for t, v in zip(self.tasks, tasks) if not math.isnan(v)}),
            params=int(bench._arch("params")[row]),
            flops=int(bench._arch("flops")[row]),
            pretrain_time_s=float(self.pretrain[ok].mean()),
            finetune_time_s=float(self.finetune[ok].mean()),
            n_seeds=len(ok),
            score_std=float(self.score[ok].std(ddof=1)) if len(ok) > 1 else 0.0,
            source="table",
        )

    def one_seed(self, bench: Benchmark, card: ModelCard, i: int) -> QueryResult:
        row = int(self.arch[i])
        return QueryResult(
            card=card,
            fidelity=self.name,
            score=float(self.score[i]),
            task_scores=FrozenScores(
                {t: float(v) for t, v in zip(self.tasks, self.task_scores[i]) if not math.isnan(v)}
            ),
            params=int(bench._arch("params")[row]),
            flops=int(bench._arch("flops")[row]),
            pretrain_time_s=float(self.pretrain[i]),
            finetune_time_s=float(self.finetune[i]),
            n_seeds=1,
            score_std=0.0,
            source="table",
            seed=int(self.seed[i]),
        )

    @cached_property
    def time_model(self) -> tuple[np.ndarray, np.ndarray]:
        """Least-squares lines ``time = a + b * FLOPs`` (pretrain, fine-tune) over measured cards.

        Used only to estimate the training cost of cards nobody trained; NaN with
        fewer than two measured cards of distinct FLOPs.
        """
        if not self.mean:
            return np.full(2, np.nan), np.full(2, np.nan)
        flops = np.array([r.flops for r in self.mean.values()], float)
        fits = []
        for times in ([r.pretrain_time_s for r in self.mean.values()], [r.finetune_time_s for r in self.mean.values()]):
            if len(np.unique(flops)) >= 2:
                fits.append(np.polyfit(flops, np.asarray(times, float), 1))
            else:
                fits.append(np.array([0.0, float(np.mean(times))]))
        return fits[0], fits[1]

    def estimate_times(self, flops: int) -> tuple[float, float]:
        pre, fine = self.time_model
        return max(0.0, float(np.polyval(pre, flops))), max(0.0, float(np.polyval(fine, flops)))


class Benchmark:
    """The packed table: measured results per fidelity, card metadata and the surrogate.

    Cards may be given as a :class:`ModelCard`, a paper name (``"bert-tiny"``), card
    JSON or a mapping. Out-of-space cards raise :class:`CardError` naming the field
    and its allowed values; damaged data raises :class:`DataError`.
    """

    def __init__(self, path: str | Path, *, seed: int = 0, library: Any = None) -> None:
        self._table = TableFile(path)
        if library is not None:
            self.__dict__["_library"] = library  # fills the cached property
        self.path = self._table.path
        self._rng = np.random.default_rng(seed)
        self._fidelities: dict[str, _Fidelity] = {}
        self._mean_cache: dict[tuple[Any, str | None], QueryResult] = {}
        self._cards: dict[int, ModelCard] = {}
        self._models: dict[str, Any] = {}

    # ------------------------------------------------------------------ basics
    @cached_property
    def meta(self) -> dict[str, Any]:
        """The ``/meta`` attributes (JSON ones decoded), without the checksum list."""
        out: dict[str, Any] = {}
        for key, value in self._table.meta.items():
            if key == "checksums":
                continue
            if isinstance(value, str) and value[:1] in "[{":
                try:
                    value = json.loads(value)
                except ValueError:
                    pass
            out[key] = value
        return out

    @cached_property
    def space(self) -> DesignSpace:
        """The design space the table was packed for (from its stored YAML)."""
        return DesignSpace.from_yaml(str(self._table.meta.get("design_space_yaml", "")))

    @cached_property
    def fidelities(self) -> tuple[str, ...]:
        return tuple(self._table.groups(schema.RESULTS))

    @property
    def default_fidelity(self) -> str:
        default = str(self._table.meta.get("default_fidelity", ""))
        return default if default in self.fidelities or not self.fidelities else self.fidelities[0]

    @cached_property
    def recipes(self) -> dict[str, Any]:
        """Each fidelity's recipe (training definition) as stored at pack time."""
        return self._table.meta_json("fidelities")

    def __len__(self) -> int:
        return len(self._arch("card"))

    def __iter__(self) -> Iterator[ModelCard]:
        return iter(self.cards())

    def __contains__(self, card: object) -> bool:
        try:
            return self._row(self._parse(card)) is not None  # type: ignore[arg-type]
        except CardError:
            return False

    def close(self) -> None:
        self._table.close()

    def __enter__(self) -> Benchmark:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Benchmark({str(self.path)!r}, fidelities={list(self.fidelities)})"

    # ------------------------------------------------------------------ query
    def query(
        self,
        card: CardLike,
        fidelity: str | None = None,
        seed: int | str = "mean",
        rng: np.random.Generator | int | None = None,
    ) -> QueryResult:
        """How ``card`` performs at ``fidelity`` (default: the table's default fidelity).

        ``seed="mean"`` averages the measured seeds (or the surrogate's mean);
        an integer returns that seed's record; ``"sample"`` draws one outcome: a
        random measured seed, or N(mean, std) of the surrogate for unmeasured cards
        (NAS-Bench-301 style), from ``rng`` (default: the benchmark's seeded generator).
        """
        if seed == "mean":
            try:
                hit = self._mean_cache.get((card, fidelity))
            except TypeError:  # an unhashable mapping: parse it below
                hit = None
            if hit is not None:
                return hit
        return self._query(card, fidelity, seed, rng)

    def _query(self, card: CardLike, fidelity: str | None, seed: int | str, rng: Any) -> QueryResult:
        fid = self._fidelity(fidelity)
        parsed = self._parse(card)
        if seed == "mean":
            result = fid.mean.get(parsed) or self._surrogate(parsed, fid)
            if isinstance(card, (ModelCard, str)):
                self._mean_cache[(card, fidelity)] = result
            return result
        if seed == "sample":
            generator = rng if isinstance(rng, np.random.Generator) else (self._rng if rng is None else None)
            generator = generator or np.random.default_rng(rng)
            if parsed in fid.mean:
                rows = fid.rows_of[parsed]
                ok = rows[(fid.status[rows] == _OK) & np.isfinite(fid.score[rows])]
                return fid.one_seed(self, parsed, int(generator.choice(ok)))
            base = self._surrogate(parsed, fid)
            return replace(base, score=float(generator.normal(base.score, base.score_std)))
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            rows = fid.rows_of.get(parsed, np.array([], int))
            match = rows[fid.seed[rows] == seed]
            if not len(match):
                seeds = sorted(int(s) for s in fid.seed[rows]) or "none (seed='mean' or 'sample' asks the surrogate)"
                raise QueryError(
                    f"seed {seed} of {parsed.short()} was not measured at fidelity {fid.name!r}; "
                    f"measured seeds: {seeds}"
                )
            i = int(match[0])
            if fid.status[i] != _OK:
                raise QueryError(
                    f"seed {seed} of {parsed.short()} at fidelity {fid.name!r} ended with status "
                    f"{STATUSES[fid.status[i]]!r}: it has no score"
                )
            return fid.one_seed(self, parsed, i)
        raise QueryError(f"seed: {seed!r} is not allowed; allowed: 'mean', 'sample' or an integer seed")

    def _surrogate(self, card: ModelCard, fid: _Fidelity) -> QueryResult:
        if not fid.has_surrogate:
            raise QueryError(
                f"{card.short()} was not measured at fidelity {fid.name!r} and the table has no surrogate for it"
            )
        row = self._row(card)
        if row is not None:
            mean = float(self._table.read(f"{schema.SURROGATE}/{fid.name}/mean")[row])
            std = float(self._table.read(f"{schema.SURROGATE}/{fid.name}/std")[row])
            params, flops = int(self._arch("params")[row]), int(self._arch("flops")[row])
        else:
            params, flops = self._params_flops(card)
            mean, std = self._predict_new(card, fid.name, params)
        pre, fine = fid.estimate_times(flops)
        return QueryResult(
            card=card,
            fidelity=fid.name,
            score=mean,
            task_scores=FrozenScores(),
            params=params,
            flops=flops,
            pretrain_time_s=pre,
            finetune_time_s=fine,
            n_seeds=0,
            score_std=std,
            source="surrogate",
        )

    def _predict_new(self, card: ModelCard, fidelity: str, params: int) -> tuple[float, float]:
        """Surrogate prediction for an in-space card that has no row: build its inputs, run the stored ensemble."""
        model = self._models.get(fidelity)
        if model is None:
            from flexibench.bench.table_surrogate import deserialize

            blob = self._table.read(f"{schema.SURROGATE}/{fidelity}/weights").tobytes()
            model = self._models[fidelity] = deserialize(blob)
        embeddings = self.embedding(card)[None, :] if model.inputs.features == "embedding" else None
        mean, std = model.predict([card], np.asarray([params]), embeddings, self.space)
        return float(mean[0]), float(std[0])

    def _params_flops(self, card: ModelCard) -> tuple[int, int]:
        from flexibench.bench.flops import card_flops

        flops = card_flops(card, int(self._table.meta.get("flops_seq_len", 128)))
        try:  # memoised per block: count_parameters' numbers without building every model
            from flexibench.bench.param_counts import counter_for

            count = counter_for(int(self._table.meta.get("vocab_size", 50265)))
        except ImportError:  # no torch: the model code is not importable
            return -1, flops
        return int(count(card)), flops

    # ------------------------------------------------------------------ cards
    def cards(self, fidelity: str | None = None, *, measured: bool | None = None) -> list[ModelCard]:
        """Cards in the table: every row when ``fidelity`` is None, else those measured at it.

        ``measured=False`` with a fidelity lists the rows *not* measured there.
        """
        if fidelity is None and measured is None:
            return [self._card_at_row(i) for i in range(len(self))]
        fid = self._fidelity(fidelity)
        if measured is False:
            return [c for c in (self._card_at_row(i) for i in range(len(self))) if c not in fid.mean]
        return list(fid.mean)

    def results(self, fidelity: str | None = None) -> list[QueryResult]:
        """Seed-averaged results of every measured card at ``fidelity``."""
        return list(self._fidelity(fidelity).mean.values())

    def filter(
        self,
        fidelity: str | None = None,
        *,
        min_params: int | None = None,
        max_params: int | None = None,
        max_flops: int | None = None,
        min_score: float | None = None,
        level: int | None = None,
        homogeneous: bool | None = None,
        measured: bool = True,
    ) -> list[QueryResult]:
        """Results matching every given condition (measured cards; ``measured=False`` adds surrogate rows)."""
        fid = self._fidelity(fidelity)
        if measured:
            pool: Iterable[QueryResult] = fid.mean.values()
        else:
            pool = (self.query(self._card_at_row(i), fid.name) for i in range(len(self)))
        out = []
        for r in pool:
            if min_params is not None and r.params < min_params:
                continue
            if max_params is not None and r.params > max_params:
                continue
            if max_flops is not None and r.flops > max_flops:
                continue
            if min_score is not None and not r.score >= min_score:
                continue
            if homogeneous is not None and r.card.is_homogeneous != homogeneous:
                continue
            if level is not None and self.space.level_of(r.card) != level:
                continue
            out.append(r)
        return out

    def best(self, k: int = 10, fidelity: str | None = None) -> list[QueryResult]:
        """The ``k`` measured cards with the highest mean score at ``fidelity``."""
        return sorted(self.results(fidelity), key=lambda r: r.score, reverse=True)[:k]

    def to_pandas(
        self, fidelity: str | None = None, *, per_seed: bool = False, predicted: bool = False
    ) -> pd.DataFrame:
        """Measured results as a DataFrame: one row per card (seed-averaged) or per record.

        ``predicted=True`` adds a row for every unmeasured card of the table with the
        surrogate's answer, and a ``measured`` column to tell them apart: the whole space
        as the table sees it (e.g. a Pareto frontier over all 9,312 level-1 cards).
        """
        import pandas as pd

        fid = self._fidelity(fidelity)
        if per_seed and predicted:
            raise ValueError("per_seed and predicted: choose one (a prediction has no seeds)")
        if predicted:
            frame = pd.DataFrame([self._frame_row(r) for r in self.filter(fid.name, measured=False)])
            frame["measured"] = frame["n_seeds"] > 0
            return frame
        if per_seed:
            rows = []
            for card, idx in fid.rows_of.items():
                for i in idx:
                    r = fid.one_seed(self, card, int(i))
                    rows.append({**self._frame_row(r), "status": STATUSES[fid.status[i]]})
            return pd.DataFrame(rows)
        return pd.DataFrame([self._frame_row(r) for r in fid.mean.values()])

    def _frame_row(self, r: QueryResult) -> dict[str, Any]:
        row = {
            "card": r.card.to_json(),
            "short": r.card.short(),
            "n_layers": r.card.l,
            "homogeneous": r.card.is_homogeneous,
            "params": r.params,
            "flops": r.flops,
            "score": r.score,
            "score_std": r.score_std,
            "n_seeds": r.n_seeds,
            "seed": r.seed,
            "pretrain_time_s": r.pretrain_time_s,
            "finetune_time_s": r.finetune_time_s,
        }
        row.update({f"task_{k}": v for k, v in r.task_scores.items()})
        return row

    # ------------------------------------------------------------------ cost, graph library
    def training_cost(
        self,
        card: CardLike,
        trained: Iterable[CardLike] = (),
        fidelity: str | None = None,
        *,
        tau: float = 0.8,
    ) -> float:
        """Seconds to evaluate ``card``: fine-tuning only when a ``trained`` card passes the transfer rule.

        The rule (Section 3.3.3): biased overlap (identical layers from the input,
        stopping at the first difference) divided by the query's layer count >= ``tau``.
        """
        result = self.query(card, fidelity)
        overlap = _biased_overlap()
        if any(overlap(result.card, self._parse(t)) / result.card.l >= tau for t in trained):
            return result.finetune_time_s
        return result.total_time_s

    def embedding(self, card: CardLike) -> np.ndarray:
        """The card's Transformer2vec embedding (stored row, else computed by the graph library)."""
        parsed = self._parse(card)
        row = self._row(parsed)
        if row is not None:
            return self._arch("embedding")[row]
        return np.asarray(self._library.embed(parsed), np.float32)

    def neighbours(self, card: CardLike, k: int | None = None) -> list[ModelCard]:
        """The card's stored nearest neighbours in embedding space (first ``k``)."""
        parsed = self._parse(card)
        row = self._row(parsed)
        if row is None:
            raise QueryError(f"{parsed.short()} has no row in this table, so no stored neighbours")
        idx = [int(i) for i in self._arch("neighbours")[row] if i >= 0]
        return [self._card_at_row(i) for i in idx[:k]]

    def ged(self, a: CardLike, b: CardLike) -> float:
        """Graph edit distance between two cards under the paper's cost model (``flexibench.library.ged``)."""
        from flexibench.library import ged

        return ged(self._parse(a), self._parse(b))

    @cached_property
    def _library(self) -> Any:
        from flexibench.library import load_or_build_library

        return load_or_build_library(level=int(self._table.meta.get("library_level", 1)))

    # ------------------------------------------------------------------ info
    def info(self) -> dict[str, Any]:
        """Summary: library size, per-fidelity record/card/seed counts, surrogate validation figures."""
        embedding = self._arch("embedding")
        in_library = self._arch("in_library")
        out: dict[str, Any] = {
            "path": str(self.path),
            "format_version": self.meta.get("format_version"),
            "package_version": self.meta.get("package_version"),
            "created": self.meta.get("created"),
            "default_fidelity": self.default_fidelity,
            "archs": len(self),
            "library": {
                "cards": int(in_library.sum()),
                "level": self.meta.get("library_level"),
                "embedding_dim": int(embedding.shape[1]) if embedding.ndim == 2 else 0,
                "neighbours_k": int(self._arch("neighbours").shape[1]),
            },
            "fidelities": {},
        }
        for name in self.fidelities:
            fid = self._fidelity(name)
            ok = fid.status == _OK
            surrogate = None
            if fid.has_surrogate:
                attrs = self._table.attrs(f"{schema.SURROGATE}/{name}")
                surrogate = {k: attrs.get(k) for k in schema.SURROGATE_ATTRS if k != "model"}
                surrogate |= {k: attrs[k] for k in schema.SURROGATE_CV_ATTRS if k in attrs}
                surrogate["model"] = attrs.get("model")
            out["fidelities"][name] = {
                "records": len(fid.arch),
                "ok_records": int(ok.sum()),
                "measured_cards": len(fid.mean),
                "seeds": sorted({int(s) for s in fid.seed}),
                "tasks": fid.tasks,
                "surrogate": surrogate,
            }
        return out

    # ------------------------------------------------------------------ internals
    def _fidelity(self, name: str | None) -> _Fidelity:
        if name is not None and not isinstance(name, str):
            allowed = f"None or one of {list(self.fidelities)}"
            raise QueryError(f"fidelity: {shorten(name)} is not allowed; allowed: {allowed}")
        key = name or self.default_fidelity
        fid = self._fidelities.get(key)
        if fid is None:
            if key not in self.fidelities:
                raise QueryError(f"fidelity: {key!r} is not in this table; available: {list(self.fidelities)}")
            fid = self._fidelities[key] = _Fidelity(self, key)
            for card, result in fid.mean.items():  # measured cards answer from the cache from the first query
                self._mean_cache[(card, key)] = result
                if key == self.default_fidelity:
                    self._mean_cache[(card, None)] = result
        return fid

    def _parse(self, card: CardLike) -> ModelCard:
        parsed = ModelCard.parse(card)  # type: ignore[arg-type]
        self.space.validate(parsed)
        return parsed

    def _arch(self, column: str) -> np.ndarray:
        return self._table.read(f"{schema.ARCHS}/{column}")

    def _card_at_row(self, row: int) -> ModelCard:
        card = self._cards.get(row)
        if card is None:
            card = self._cards[row] = ModelCard.from_json(self._arch("card")[row])
        return card

    @cached_property
    def _row_index(self) -> dict[tuple[int, int], int]:
        levels, index = self._arch("level"), self._arch("space_index")
        return {(int(lv), int(i)): row for row, (lv, i) in enumerate(zip(levels.tolist(), index.tolist()))}

    def _row(self, card: ModelCard) -> int | None:
        """Row of an in-space card, or None when the table has no row for it (validates the card)."""
        level = self.space.level_of(card)
        return self._row_index.get((level, self.space.index_of(card, level)))


def _biased_overlap() -> Any:
    """The shared biased-overlap function of the graph library (or the model code's weight transfer)."""
    try:
        from flexibench.library.neighbours import biased_overlap
    except ImportError:
        from flexibench.models.transfer import biased_overlap
    return biased_overlap
