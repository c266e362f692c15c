"""The surrogate layer: answers for cards nobody trained, on top of the measured layer.

The counterpart of syne-tune's ``add_surrogate``: a model fitted to the measured cards
answers anywhere else. Its predictions for every ``/archs`` row were made at pack time
(``/surrogate/<fidelity>/mean``, ``std``, and ``curve_mean``/``curve_std`` at each
checkpoint), so answering a row is a lookup, torch-free. A card with no row (levels 2-3)
is predicted by the stored ensemble from inputs built on the spot (torch is imported
then), at the final checkpoint only. Training times of unmeasured cards are estimates:
least-squares lines of the measured cards' times against their FLOPs.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

import numpy as np

from flexibench.bench import schema
from flexibench.bench.measured import MeasuredFidelity
from flexibench.bench.result import QueryError
from flexibench.bench.store import TableFile


class PredictedFidelity:
    """One fidelity's ``/surrogate`` group, answering rows the measured layer does not have."""

    def __init__(self, table: TableFile, measured: MeasuredFidelity, flops: np.ndarray) -> None:
        self._table = table
        self.name = measured.name
        self._prefix = f"{schema.SURROGATE}/{measured.name}"
        self.available = table.has(f"{self._prefix}/mean")
        self.has_curve = table.has(f"{self._prefix}/curve_mean")
        self._measured_flops = flops[measured.arch_rows] if len(measured.arch_rows) else np.array([])
        self._measured_times = measured.times
        self._model: Any = None

    def _require(self, what: str) -> None:
        if not self.available:
            raise QueryError(f"{what} was not measured at fidelity {self.name!r} and the table has no surrogate for it")

    def rows(self, j: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(mean, std) predicted for every ``/archs`` row, at checkpoint column ``j`` (None: final)."""
        self._require("a card")
        if j is None:
            return self._table.read(f"{self._prefix}/mean"), self._table.read(f"{self._prefix}/std")
        if not self.has_curve:
            raise QueryError(
                f"the surrogate of fidelity {self.name!r} predicts only the final score (table packed before curves)"
            )
        return self._table.read(f"{self._prefix}/curve_mean")[:, j], self._table.read(f"{self._prefix}/curve_std")[:, j]

    def at_row(self, row: int, j: int | None, what: str) -> tuple[float, float]:
        self._require(what)
        mean, std = self.rows(j)
        return float(mean[row]), float(std[row])

    def new_card(
        self,
        card: Any,
        params: int,
        space: Any,
        embed: Callable[[Any], np.ndarray],
        j: int | None,
        what: str,
        prior_score: Callable[[str], float] | None = None,
    ) -> tuple[float, float]:
        """Prediction for an in-space card that has no row: build its inputs, run the stored ensemble.

        A surrogate that reads another fidelity's score gets it from ``prior_score(fidelity)``.
        """
        self._require(what)
        if j is not None:
            raise QueryError(f"{what} has no row in this table: the surrogate predicts only its final score")
        if self._model is None:
            from flexibench.bench.table_surrogate import deserialize

            self._model = deserialize(self._table.read(f"{self._prefix}/weights").tobytes())
        inputs = self._model.inputs
        embeddings = embed(card)[None, :] if inputs.features == "embedding" else None
        if inputs.prior and prior_score is None:
            raise QueryError(f"the surrogate of fidelity {self.name!r} reads the card's {inputs.prior!r} score")
        prior = np.asarray([prior_score(inputs.prior)]) if inputs.prior and prior_score else None
        mean, std = self._model.predict([card], np.asarray([params]), embeddings, space, prior)
        return float(mean[0]), float(std[0])

    # ------------------------------------------------------------------ training times
    @cached_property
    def time_model(self) -> tuple[np.ndarray, np.ndarray]:
        """Least-squares lines ``time = a + b * FLOPs`` (pretrain, fine-tune) over measured cards.

        NaN with no measured card; a flat line at the mean with fewer than two distinct FLOPs.
        """
        flops = np.asarray(self._measured_flops, float)
        if not len(flops):
            return np.full(2, np.nan), np.full(2, np.nan)
        fits = []
        for times in self._measured_times:
            if len(np.unique(flops)) >= 2:
                fits.append(np.polyfit(flops, np.asarray(times, float), 1))
            else:
                fits.append(np.array([0.0, float(np.mean(times))]))
        return fits[0], fits[1]

    def estimate_times(self, flops: Any) -> tuple[Any, Any]:
        """(pretrain, fine-tune) seconds estimated from FLOPs (scalars or arrays), never below 0."""
        pre, fine = self.time_model
        return np.maximum(0.0, np.polyval(pre, flops)), np.maximum(0.0, np.polyval(fine, flops))
