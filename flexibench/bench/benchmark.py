"""``Benchmark``: the facade users call; it layers the surrogate over the measured table.

Three layers, as syne-tune's blackbox repository has them (``Blackbox``, ``BlackboxTabular``,
``add_surrogate``): :class:`~flexibench.bench.measured.MeasuredFidelity` holds one fidelity's
records and per-card seed aggregates (numbers only); :class:`~flexibench.bench.predicted.
PredictedFidelity` answers cards nobody trained; :class:`Benchmark` parses cards, picks the
layer, and is the one place a :class:`QueryResult` is built (:meth:`Benchmark._result`).
Costs come from :mod:`flexibench.bench.cost`, parameter and FLOP counts from the stored
``/archs`` columns (computed on the spot only for cards without a row).

Opening is lazy: ``load()`` reads only ``/meta``. The first query at a fidelity reads that
fidelity's result columns (checksum-verified), aggregates the seeds of every measured card
once, and caches the answers keyed by the :class:`ModelCard` itself (frozen, hashable).
Unmeasured cards get the surrogate's prediction, precomputed at pack time for every row
(no torch needed); cards outside the table are predicted by the stored ensemble from
inputs built on the spot (torch is imported then, and only then).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from flexibench.bench import schema
from flexibench.bench.cost import DEFAULT_TAU, can_transfer, evaluation_cost_s, transfer_share
from flexibench.bench.measured import MeasuredFidelity
from flexibench.bench.pareto import ParetoError, directions, front_mask
from flexibench.bench.predicted import PredictedFidelity
from flexibench.bench.result import HARDWARE_FIELDS, FrozenScores, LearningCurve, QueryError, QueryResult
from flexibench.bench.store import TableFile
from flexibench.core import DesignSpace, ModelCard
from flexibench.core.errors import CardError, shorten
from flexibench.core.record import STATUSES
from flexibench.resources import data_file

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["Benchmark", "QueryError", "default_table_path", "load"]

TABLE_ENV = "FLEXIBENCH_TABLE"
TABLE_NAME = "flexibench.h5"
CardLike = ModelCard | str | Mapping[str, Any]


def default_table_path() -> Path:
    """``$FLEXIBENCH_TABLE``, else ``data/flexibench.h5`` of the checkout (or the copy the wheel installed)."""
    env = os.environ.get(TABLE_ENV)
    if env:
        return Path(env).expanduser()
    return data_file(TABLE_NAME)


def load(path: str | Path | None = None, *, seed: int = 0, library: Any = None) -> Benchmark:
    """Open a packed table lazily (only ``/meta`` is read now).

    ``path`` defaults to :func:`default_table_path`; ``seed`` seeds the generator
    behind ``query(..., seed="sample")`` when no ``rng`` is passed; ``library`` is
    the graph library used to embed cards that have no row in the table (default:
    ``flexibench.library.load_or_build_library`` at the table's level, on first need).
    """
    return Benchmark(default_table_path() if path is None else path, seed=seed, library=library)


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
        self._measured: dict[str, MeasuredFidelity] = {}
        self._predicted: dict[str, PredictedFidelity] = {}
        self._results: dict[str, dict[ModelCard, QueryResult]] = {}  # measured cards' seed means, per fidelity
        self._mean_cache: dict[tuple[Any, str | None, int | None], QueryResult] = {}
        self._batch: dict[tuple[str, int | None], dict[str, np.ndarray]] = {}
        self._cards: dict[int, ModelCard] = {}
        self._hardware_cache: dict[str, np.ndarray] = {}

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
        *,
        budget: int | None = None,
    ) -> QueryResult:
        """How ``card`` performs at ``fidelity`` (default: the table's default fidelity).

        ``seed="mean"`` averages the measured seeds (or the surrogate's mean);
        an integer returns that seed's record; ``"sample"`` draws one outcome: a
        random measured seed, or N(mean, std) of the surrogate for unmeasured cards
        (NAS-Bench-301 style), from ``rng`` (default: the benchmark's seeded generator).
        ``budget`` asks for the score at a recorded checkpoint of the fidelity's learning
        curve (``result.budget_unit``: pretraining steps; :meth:`budgets` lists them);
        None is the final score.
        """
        if seed == "mean":
            try:
                hit = self._mean_cache.get((card, fidelity, budget))
            except TypeError:  # an unhashable mapping: parse it below
                hit = None
            if hit is not None:
                return hit
        return self._query(card, fidelity, seed, rng, budget)

    def _query(
        self, card: CardLike, fidelity: str | None, seed: int | str, rng: Any, budget: int | None
    ) -> QueryResult:
        meas = self._fidelity(fidelity)
        j = meas.column(budget)
        parsed = self._parse(card)
        row = self._row(parsed)
        m = meas.index_of_row.get(row) if row is not None else None
        if seed == "mean":
            if m is not None and j is None:
                result = self._measured_results(meas.name)[parsed]
            elif m is not None:
                result = self._result(parsed, meas, row, meas.aggregate(m, j), "table", j)
            else:
                result = self._predict(parsed, meas, row, j)
            if isinstance(card, (ModelCard, str)):
                self._mean_cache[(card, fidelity, budget)] = result
            return result
        if seed == "sample":
            generator = _generator(rng, self._rng)
            if m is not None:
                return self._result(
                    parsed, meas, row, meas.record(int(generator.choice(meas.ok_rows[m])), j), "table", j
                )
            base = self._predict(parsed, meas, row, j)
            return replace(base, score=float(generator.normal(base.score, base.score_std)))
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            rows = meas.seeds_of(row) if row is not None else np.array([], np.int64)
            match = rows[meas.seed[rows] == seed]
            if not len(match):
                seeds = sorted(int(s) for s in meas.seed[rows]) or "none (seed='mean' or 'sample' asks the surrogate)"
                raise QueryError(
                    f"seed {seed} of {parsed.short()} was not measured at fidelity {meas.name!r}; "
                    f"measured seeds: {seeds}"
                )
            i = int(match[0])
            if not meas.ok[i]:
                raise QueryError(
                    f"seed {seed} of {parsed.short()} at fidelity {meas.name!r} ended with status "
                    f"{STATUSES[meas.status[i]]!r}: it has no score"
                )
            return self._result(parsed, meas, row, meas.record(i, j), "table", j)
        raise QueryError(f"seed: {seed!r} is not allowed; allowed: 'mean', 'sample' or an integer seed")

    def _predict(self, card: ModelCard, meas: MeasuredFidelity, row: int | None, j: int | None) -> QueryResult:
        """The surrogate layer's answer for an unmeasured card (a row's stored prediction, else the ensemble's)."""
        predicted = self._predictor(meas)
        if row is not None:
            mean, std = predicted.at_row(row, j, card.short())
            params, flops = None, int(self._arch("flops")[row])
        else:
            params, flops = self._params_flops(card)
            mean, std = predicted.new_card(
                card, params, self.space, self.embedding, j, card.short(), lambda prior: self.query(card, prior).score
            )
        pre, fine = predicted.estimate_times(flops)
        answer = {
            "score": mean,
            "score_std": std,
            "n_seeds": 0,
            "pretrain_time_s": float(pre),
            "finetune_time_s": float(fine),
        }
        return self._result(card, meas, row, answer, "surrogate", j, params=params, flops=flops)

    def _result(
        self,
        card: ModelCard,
        meas: MeasuredFidelity,
        row: int | None,
        answer: Mapping[str, Any],
        source: str,
        j: int | None,
        *,
        params: int | None = None,
        flops: int | None = None,
    ) -> QueryResult:
        """The one place a :class:`QueryResult` is built, from a layer's ``answer`` (plain numbers).

        Sizes come from the card's ``/archs`` row (or ``params``/``flops`` for cards without one);
        at a partial budget the pretraining time is the run's share of steps.
        """
        hardware = {}
        if row is not None:
            params = int(self._arch("params")[row]) if params is None else params
            flops = int(self._arch("flops")[row]) if flops is None else flops
            values = {name: float(self._hardware_column(name)[row]) for name in HARDWARE_FIELDS}
            hardware = {name: value for name, value in values.items() if value == value}  # NaN: not measured
        return QueryResult(
            card=card,
            fidelity=meas.name,
            score=float(answer["score"]),
            task_scores=FrozenScores(answer.get("task_scores")),
            params=int(params if params is not None else -1),
            flops=int(flops if flops is not None else -1),
            pretrain_time_s=float(answer["pretrain_time_s"]) * meas.time_share(j),
            finetune_time_s=float(answer["finetune_time_s"]),
            n_seeds=int(answer["n_seeds"]),
            score_std=float(answer["score_std"]),
            source=source,
            seed=answer.get("seed"),
            budget=meas.budget_of(j),
            budget_unit=meas.unit,
            **hardware,
        )

    def _params_flops(self, card: ModelCard) -> tuple[int, int]:
        from flexibench.bench.flops import card_flops
        from flexibench.bench.param_counts import counter_for  # memoised per block: no model is built

        flops = card_flops(card, int(self._table.meta.get("flops_seq_len", 128)))
        count = counter_for(int(self._table.meta.get("vocab_size", 50265)))
        return int(count(card)), flops

    # ------------------------------------------------------------------ budgets and curves
    def budgets(self, fidelity: str | None = None) -> tuple[list[int], str | None]:
        """The checkpoints a fidelity's learning curves record, and their unit (``([], None)`` without curves)."""
        meas = self._fidelity(fidelity)
        return meas.budgets.tolist(), meas.unit

    def learning_curve(self, card: CardLike, fidelity: str | None = None) -> LearningCurve:
        """The card's score at every recorded checkpoint: seed means when measured, else the surrogate's."""
        meas = self._fidelity(fidelity)
        if not len(meas.budgets):
            raise QueryError(f"fidelity {meas.name!r} records no learning curve: only its final score")
        parsed = self._parse(card)
        row = self._row(parsed)
        m = meas.index_of_row.get(row) if row is not None else None
        columns = [meas.column(int(b)) for b in meas.budgets]
        if m is not None:
            stats = [meas.at_budget(j) for j in columns]
            scores, std, n = (np.array([s[k][m] for s in stats]) for k in range(3))
            source = "table"
        else:
            if row is None:
                raise QueryError(
                    f"{parsed.short()} has no row in this table: the surrogate predicts its final score only"
                )
            predicted = [self._predictor(meas).at_row(row, j, parsed.short()) for j in columns]
            scores, std = np.array([p[0] for p in predicted]), np.array([p[1] for p in predicted])
            n, source = np.zeros(len(columns), np.int64), "surrogate"
        return LearningCurve(
            card=parsed,
            fidelity=meas.name,
            budgets=meas.budgets.copy(),
            unit=str(meas.unit),
            tokens=meas.budgets * meas.tokens_per_step,
            scores=scores.astype(float),
            score_std=std.astype(float),
            n_seeds=n.astype(np.int64),
            source=source,
        )

    # ------------------------------------------------------------------ batches
    def query_many(
        self,
        cards: Iterable[CardLike] | Sequence[int] | np.ndarray,
        fidelity: str | None = None,
        *,
        budget: int | None = None,
        seed: str = "mean",
        rng: np.random.Generator | int | None = None,
        frame: bool = False,
    ) -> dict[str, np.ndarray] | pd.DataFrame:
        """Many cards at once: arrays (or a DataFrame) with one entry per card, in the order given.

        ``cards`` are row indices into the table (``range(len(bench))`` is every row) or
        cards in any form :meth:`query` takes. Columns: ``row`` (-1 for a card without one),
        ``score``, ``score_std``, ``n_seeds``, ``measured``, ``params``, ``flops``,
        ``pretrain_time_s``, ``finetune_time_s`` and the hardware objectives (``latency_ms``,
        ``latency_b32_ms``, ``peak_memory_mib``, ``peak_memory_b32_mib``; NaN where unmeasured).
        ``seed`` is ``"mean"`` or ``"sample"`` (one draw per card, as :meth:`query`). Unmeasured
        rows without a surrogate answer at that budget read NaN; cards without a row are answered
        one by one by :meth:`query`.
        """
        meas = self._fidelity(fidelity)
        j = meas.column(budget)
        table = self._batch_table(meas, j)
        rows, outside = self._rows_of(cards)
        safe = np.where(rows >= 0, rows, 0)
        out = {name: values[safe] for name, values in table.items()}
        out["row"] = rows
        if seed == "sample":
            self._sample_into(out, meas, j, safe, _generator(rng, self._rng))
        elif seed != "mean":
            raise QueryError(f"seed: {seed!r} is not allowed in query_many; allowed: 'mean' or 'sample'")
        for i, card in outside:  # no row: the per-card path (the ensemble predicts it)
            result = self.query(card, meas.name, seed, rng, budget=budget)
            for name in ("score", "score_std", "n_seeds", "params", "flops", "pretrain_time_s", "finetune_time_s"):
                out[name][i] = getattr(result, name)
            out["measured"][i] = result.measured
        if frame:
            import pandas as pd

            data = pd.DataFrame(out)
            data.insert(0, "card", np.where(rows >= 0, self._arch("card")[safe], None))
            data.attrs.update(fidelity=meas.name, budget=meas.budget_of(j), budget_unit=meas.unit)
            return data
        return out

    def _batch_table(self, meas: MeasuredFidelity, j: int | None) -> dict[str, np.ndarray]:
        """Every row's answer at (fidelity, checkpoint column), built once: measured over predicted."""
        key = (meas.name, j)
        table = self._batch.get(key)
        if table is not None:
            return table
        n = len(self)
        predicted = self._predictor(meas)
        score, std = np.full(n, np.nan), np.full(n, np.nan)
        try:
            mean, spread = predicted.rows(j)
            score[:], std[:] = mean, spread
        except QueryError:  # no surrogate (at this budget): unmeasured rows stay NaN
            pass
        flops = self._arch("flops")
        pre, fine = (np.asarray(t, float) * np.ones(n) for t in predicted.estimate_times(flops.astype(float)))
        count = np.zeros(n, np.int64)
        rows = meas.arch_rows
        if len(rows):
            m_mean, m_std, m_n = meas.at_budget(j)
            score[rows], std[rows], count[rows] = m_mean, m_std, m_n
            pre[rows], fine[rows] = meas.times
        table = {
            "score": score,
            "score_std": std,
            "n_seeds": count,
            "measured": count > 0,
            "params": self._arch("params").astype(np.int64),
            "flops": flops.astype(np.int64),
            "pretrain_time_s": pre * meas.time_share(j),
            "finetune_time_s": fine,
            **{name: self._hardware_column(name) for name in HARDWARE_FIELDS},
        }
        for values in table.values():
            values.setflags(write=False)
        self._batch[key] = table
        return table

    def _sample_into(
        self,
        out: dict[str, np.ndarray],
        meas: MeasuredFidelity,
        j: int | None,
        rows: np.ndarray,
        rng: np.random.Generator,
    ) -> None:
        """One draw per card, vectorised: a random ok seed of measured cards, N(mean, std) of predicted ones."""
        score = out["score"] = out["score"].copy()
        pre = out["pretrain_time_s"] = out["pretrain_time_s"].copy()
        fine = out["finetune_time_s"] = out["finetune_time_s"].copy()
        out["score_std"] = np.where(out["measured"], 0.0, out["score_std"])
        m_of_row = np.full(len(self), -1, np.int64)
        m_of_row[meas.arch_rows] = np.arange(len(meas.arch_rows))
        m = m_of_row[rows]
        hit = m >= 0
        if hit.any():
            counts = meas.n_seeds
            offsets = np.r_[0, np.cumsum(counts)[:-1]]
            flat = np.concatenate(meas.ok_rows) if meas.ok_rows else np.array([], np.int64)
            pick = flat[offsets[m[hit]] + (rng.random(hit.sum()) * counts[m[hit]]).astype(np.int64)]
            score[hit] = meas.score[pick] if j is None else meas.curve[pick, j]
            pre[hit] = meas.pretrain[pick] * meas.time_share(j)
            fine[hit] = meas.finetune[pick]
            out["n_seeds"] = np.where(hit, 1, out["n_seeds"])
        miss = ~hit
        score[miss] = rng.normal(score[miss], np.nan_to_num(out["score_std"][miss]))

    def _rows_of(self, cards: Any) -> tuple[np.ndarray, list[tuple[int, CardLike]]]:
        """Row index per card (-1 without one), and the (position, card) of those without a row."""
        if isinstance(cards, range):
            cards = np.arange(cards.start, cards.stop, cards.step)
        if isinstance(cards, np.ndarray) and cards.dtype.kind in "iu":
            rows = cards.astype(np.int64)
            if len(rows) and (rows.min() < -len(self) or rows.max() >= len(self)):
                raise QueryError(f"row index out of range: the table has {len(self)} rows")
            return np.where(rows < 0, rows + len(self), rows), []
        items = cards if isinstance(cards, list) else list(cards)
        if items and isinstance(items[0], (int, np.integer)) and not isinstance(items[0], bool):
            return self._rows_of(np.asarray(items, np.int64))
        # ModelCards by value: a card keeps the hash computed when it was built, and the dict tries
        # identity first (the table's own cards); names, JSON and dicts are parsed below.
        by_value = self._card_index.get
        found = np.array([by_value(c, -1) if c.__class__ is ModelCard else -1 for c in items], dtype=np.int64)
        outside = []
        for i in np.flatnonzero(found < 0).tolist():  # names, JSON, dicts, cards without a row
            row = self._row(self._parse(items[i]))
            if row is None:
                outside.append((i, items[i]))
            found[i] = -1 if row is None else row
        return found, outside

    @cached_property
    def _card_index(self) -> dict[ModelCard, int]:
        return {self._card_at_row(i): i for i in range(len(self))}

    # ------------------------------------------------------------------ cards
    def cards(self, fidelity: str | None = None, *, measured: bool | None = None) -> list[ModelCard]:
        """Cards in the table: every row when ``fidelity`` is None, else those measured at it.

        ``measured=False`` with a fidelity lists the rows *not* measured there.
        """
        if fidelity is None and measured is None:
            return [self._card_at_row(i) for i in range(len(self))]
        results = self._measured_results(fidelity)
        if measured is False:
            return [c for c in (self._card_at_row(i) for i in range(len(self))) if c not in results]
        return list(results)

    def results(self, fidelity: str | None = None) -> list[QueryResult]:
        """Seed-averaged results of every measured card at ``fidelity``."""
        return list(self._measured_results(fidelity).values())

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
        meas = self._fidelity(fidelity)
        if measured:
            pool: Iterable[QueryResult] = self._measured_results(meas.name).values()
        else:
            pool = (self.query(self._card_at_row(i), meas.name) for i in range(len(self)))
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

        meas = self._fidelity(fidelity)
        if per_seed and predicted:
            raise ValueError("per_seed and predicted: choose one (a prediction has no seeds)")
        if predicted:
            frame = pd.DataFrame([self._frame_row(r) for r in self.filter(meas.name, measured=False)])
            frame["measured"] = frame["n_seeds"] > 0
            return frame
        if per_seed:
            rows = []
            for row, idx in meas.rows_of.items():
                card = self._card_at_row(row)
                for i in idx:
                    r = self._result(card, meas, row, meas.record(int(i)), "table", None)
                    rows.append({**self._frame_row(r), "status": STATUSES[meas.status[i]]})
            return pd.DataFrame(rows)
        return pd.DataFrame([self._frame_row(r) for r in self._measured_results(meas.name).values()])

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
            **{name: np.nan if getattr(r, name) is None else getattr(r, name) for name in HARDWARE_FIELDS},
        }
        row.update({f"task_{k}": v for k, v in r.task_scores.items()})
        return row

    # ------------------------------------------------------------------ Pareto fronts, hardware
    def pareto(
        self,
        objectives: Sequence[str] = ("score", "params"),
        fidelity: str | None = None,
        *,
        budget: int | None = None,
        measured: bool = True,
    ) -> list[QueryResult]:
        """The cards no other card beats on every objective at once, best first by the first objective.

        ``objectives`` are two or more columns of :meth:`query_many` (and ``total_time_s``):
        ``score`` is maximised, every cost (``params``, ``flops``, ``latency_ms``,
        ``latency_b32_ms``, ``peak_memory_mib``, the times) minimised; a ``+``/``-`` prefix
        sets the direction explicitly (:mod:`flexibench.bench.pareto`). ``measured=True`` keeps
        cards with a measured score; ``False`` adds the surrogate's answers for the others.
        Cards with a NaN objective (e.g. no latency measured yet) are left out.
        """
        named = directions(objectives)
        table = self.query_many(range(len(self)), fidelity, budget=budget)
        table = {**table, "total_time_s": table["pretrain_time_s"] + table["finetune_time_s"]}
        unknown = [c for c, _ in named if c not in table or c in ("row", "measured")]
        if unknown:
            allowed = sorted(k for k in table if k not in ("row", "measured", "n_seeds"))
            raise ParetoError(f"unknown objective(s) {unknown}; allowed: {allowed}")
        values = np.stack([np.asarray(table[c], float) for c, _ in named], axis=1)
        if measured:
            values[~table["measured"]] = np.nan
        rows = np.flatnonzero(front_mask(values, [up for _, up in named]))
        first, up = named[0]
        rows = sorted(rows.tolist(), key=lambda r: -values[r, 0] if up else values[r, 0])
        meas = self._fidelity(fidelity)
        return [self.query(self._card_at_row(r), meas.name, budget=budget) for r in rows]

    @property
    def hardware(self) -> dict[str, Any] | None:
        """How the hardware objectives were measured (machine, settings, reference spread); None without them."""
        text = self._table.attrs(schema.ARCHS).get(schema.HARDWARE_ATTR)
        if text is None:
            return None
        return json.loads(text) if isinstance(text, str) else dict(text)

    def _hardware_column(self, name: str) -> np.ndarray:
        """An optional /archs hardware column, all NaN when the table has none."""
        cached = self._hardware_cache.get(name)
        if cached is None:
            path = f"{schema.ARCHS}/{name}"
            cached = self._table.read(path) if self._table.has(path) else np.full(len(self), np.nan)
            cached = np.asarray(cached, np.float64)
            cached.setflags(write=False)
            self._hardware_cache[name] = cached
        return cached

    # ------------------------------------------------------------------ cost, graph library
    def training_cost(
        self,
        card: CardLike,
        trained: Iterable[CardLike] = (),
        fidelity: str | None = None,
        *,
        tau: float = DEFAULT_TAU,
        seed: int | str = "mean",
        rng: np.random.Generator | int | None = None,
        share: float | None = None,
    ) -> float:
        """Seconds to evaluate ``card`` given the ``trained`` cards (:mod:`flexibench.bench.cost`).

        From scratch: pretraining plus fine-tuning. When a trained card passes the transfer
        rule (Section 3.3.3: biased overlap / the query's layers >= ``tau``): fine-tuning
        plus ``share`` of pretraining, by default the fidelity's :func:`~flexibench.bench.cost.
        transfer_share` (0 for recipes that fine-tune; nano: 50 of 200 steps). ``seed`` and
        ``rng`` pick the times as :meth:`query` does.
        """
        result = self.query(card, fidelity, seed, rng)
        transferred = can_transfer(result.card, (self._parse(t) for t in trained), tau)
        if share is None:
            share = transfer_share(self.recipes.get(result.fidelity) or {})
        return evaluation_cost_s(result.pretrain_time_s, result.finetune_time_s, transferred, share)

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
        """Summary: library size, per-fidelity counts, surrogate validation figures, the hardware objectives."""
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
            meas = self._fidelity(name)
            out["fidelities"][name] = {
                "records": len(meas.arch),
                "ok_records": int((meas.status == STATUSES.index("ok")).sum()),
                "measured_cards": len(meas.arch_rows),
                "seeds": sorted({int(s) for s in meas.seed}),
                "tasks": meas.tasks,
                "budgets": meas.budgets.tolist(),
                "budget_unit": meas.unit,
                "tokens_per_step": meas.tokens_per_step,
                "surrogate": self.surrogate_figures(name),
            }
        out["between"] = self._between_fidelities()
        hardware = self.hardware
        if hardware:
            out["hardware"] = {
                k: hardware.get(k) for k in ("cards_measured", "machine", "settings", "reference_spread")
            } | {"columns": sorted(hardware.get("columns", {}))}
        return out

    def surrogate_figures(self, fidelity: str | None = None) -> dict[str, Any] | None:
        """The fidelity's surrogate: its validation figures and model description (None without one).

        What :meth:`info` lists under ``fidelities.<name>.surrogate``; read alone, it costs one
        group's attributes (``flexibench query`` prints the cross-validated error beside an answer).
        """
        meas = self._fidelity(fidelity)
        if not self._predictor(meas).available:
            return None
        attrs = self._table.attrs(f"{schema.SURROGATE}/{meas.name}")
        surrogate = {k: attrs.get(k) for k in schema.SURROGATE_ATTRS if k != "model"}
        optional = (*schema.SURROGATE_CV_ATTRS, "curve_kendall_tau", *schema.SURROGATE_PRIOR_ATTRS)
        surrogate |= {k: attrs[k] for k in optional if k in attrs}
        surrogate["model"] = attrs.get("model")
        return surrogate

    def _between_fidelities(self) -> list[dict[str, Any]]:
        """For each pair of fidelities: the cards measured at both and the Kendall tau of their seed-mean scores.

        How far a cheap fidelity ranks cards as a dearer one does is what a multi-fidelity
        table is for; tau needs at least three cards measured at both.
        """
        out = []
        names = list(self.fidelities)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                first, second = self._fidelity(a), self._fidelity(b)
                common = sorted(set(first.arch_rows.tolist()) & set(second.arch_rows.tolist()))
                x = first.final[0][[first.index_of_row[r] for r in common]] if common else np.empty(0)
                y = second.final[0][[second.index_of_row[r] for r in common]] if common else np.empty(0)
                both = np.isfinite(x) & np.isfinite(y)
                entry: dict[str, Any] = {"fidelities": [a, b], "cards": int(both.sum())}
                if both.sum() >= 3:
                    from scipy.stats import kendalltau  # only here: info stays light for one-fidelity tables

                    entry["kendall_tau"] = float(kendalltau(x[both], y[both]).statistic)
                out.append(entry)
        return out

    # ------------------------------------------------------------------ internals
    def _fidelity(self, name: str | None) -> MeasuredFidelity:
        """The measured layer of a fidelity (read on first use)."""
        if name is not None and not isinstance(name, str):
            allowed = f"None or one of {list(self.fidelities)}"
            raise QueryError(f"fidelity: {shorten(name)} is not allowed; allowed: {allowed}")
        key = name or self.default_fidelity
        meas = self._measured.get(key)
        if meas is None:
            if key not in self.fidelities:
                raise QueryError(f"fidelity: {key!r} is not in this table; available: {list(self.fidelities)}")
            meas = self._measured[key] = MeasuredFidelity(self._table, key)
        return meas

    def _predictor(self, meas: MeasuredFidelity) -> PredictedFidelity:
        """The surrogate layer over a fidelity's measured layer."""
        predicted = self._predicted.get(meas.name)
        if predicted is None:
            predicted = self._predicted[meas.name] = PredictedFidelity(self._table, meas, self._arch("flops"))
        return predicted

    def _measured_results(self, fidelity: str | None) -> dict[ModelCard, QueryResult]:
        """Seed-mean results of a fidelity's measured cards, built once; they prefill the query cache."""
        meas = self._fidelity(fidelity)
        results = self._results.get(meas.name)
        if results is None:
            results = self._results[meas.name] = {}
            for m, row in enumerate(meas.arch_rows.tolist()):
                card = self._card_at_row(row)
                results[card] = result = self._result(card, meas, row, meas.aggregate(m), "table", None)
                self._mean_cache[(card, meas.name, None)] = result
                if meas.name == self.default_fidelity:
                    self._mean_cache[(card, None, None)] = result
        return results

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


def _generator(rng: np.random.Generator | int | None, default: np.random.Generator) -> np.random.Generator:
    """``rng`` itself, a generator seeded with it, or ``default`` when None."""
    if isinstance(rng, np.random.Generator):
        return rng
    return default if rng is None else np.random.default_rng(rng)
