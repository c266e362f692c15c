"""Fitted layers (the embedding, each fidelity's surrogate) kept from an earlier table when their inputs are unchanged.

A fidelity's surrogate is an ensemble of small networks trained with torch, and the same
fit on another CPU (AVX2 against AVX-512 kernels sum in another order) lands on other
weights: repacking the shipped table on an AMD EPYC moved nano's predicted scores by up to
0.15 points (median 0.009). The library's Transformer2vec embedding is fitted too, and a
rebuild agrees with the stored one to about 1e-4 GED units. A table is a reference, so adding
a fidelity (or latency columns) must not move another fidelity's answers. ``pack --keep-from
OLD.h5`` therefore keeps the /archs embedding and neighbours of ``OLD.h5`` when its rows and
GED cost model are the same, and copies a fidelity's ``/surrogate`` group verbatim when its
*fit key* is the same in both tables; everything else is fitted afresh.

The fit key is a SHA-256 over everything the fit reads: the row order and sizes of
/archs (``card``, ``params``, ``embedding`` checksums), the fidelity's measurements
(``arch``, ``status``, ``score``, ``curve``), the design space, the fit's settings (the
ensemble's options, the validation split, the cross-validation folds),
and, for a fidelity fitted beside a more measured one, that prior fidelity's name and its
score for every row. Both sides are computed from table contents, so tables packed before
this module existed are keyed the same way.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from flexibench.bench import schema
from flexibench.bench.store import TableFile, checksum
from flexibench.bench.table_surrogate import row_scores, stored_fit_settings

#: /archs and /results/<fidelity> columns a surrogate fit reads (their checksums enter the key).
FIT_ARCH_COLUMNS = ("card", "params", "embedding")
FIT_RESULT_COLUMNS = ("arch", "status", "score", "curve")
#: /archs columns fitted from the graph library (kept together: the neighbours are the embedding's).
LIBRARY_COLUMNS = ("embedding", "neighbours")


def fit_key(
    arch_digests: dict[str, str],
    result_digests: dict[str, str],
    design_space: str,
    settings: dict[str, Any],
    prior: tuple[str, str] | None,
) -> str:
    """SHA-256 of a fit's inputs: column checksums, design space, settings, (prior name, its scores' checksum)."""
    plain = {
        "archs": {k: arch_digests.get(k) for k in FIT_ARCH_COLUMNS},
        "results": {k: result_digests.get(k) for k in FIT_RESULT_COLUMNS},
        "design_space": design_space,
        "settings": json.loads(json.dumps(settings, sort_keys=True, default=list)),
        "prior": list(prior) if prior else None,
    }
    return hashlib.sha256(json.dumps(plain, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class KeptLayer:
    """Datasets of one group of the earlier table (a fidelity's ``/surrogate``, or /archs' library
    columns) and attributes to store with them, exactly as they were stored."""

    columns: dict[str, np.ndarray]
    attrs: dict[str, Any]


class EarlierTable:
    """What ``pack`` may keep of an earlier table, read once (the file is closed again at once).

    Holding it in memory (a few MB) lets ``keep_from`` be the very file that ``pack`` replaces.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        with TableFile(self.path) as table:
            self._keys = _fit_keys(table)
            self._layers = {fid: _group(table, f"{schema.SURROGATE}/{fid}") for fid in self._keys}
            self._library = _group(table, schema.ARCHS, LIBRARY_COLUMNS)
            self._cost_model = table.meta_json("ged_cost_model")
            self._card_digest = table.checksums.get(f"{schema.ARCHS}/card")

    def library_columns(self, archs: dict[str, np.ndarray], cost_model: dict[str, Any]) -> KeptLayer | None:
        """The stored ``embedding`` and ``neighbours`` columns if the rows and the GED cost model are unchanged.

        The embedding is fitted (MDS, then Adam) like the surrogate, so a rebuilt library agrees
        with the stored one only to float rounding; keeping it keeps every fit that reads it.
        ``cost_model`` is the new /meta ``ged_cost_model``; the kept columns come with the stored
        one's ``library`` build notes (they describe the stored fit), in ``attrs``.
        """
        stored = self._cost_model
        same_model = {k: v for k, v in stored.items() if k != "library"} == {
            k: v for k, v in json.loads(json.dumps(cost_model)).items() if k != "library"
        }
        same_rows = self._card_digest == checksum(archs["card"])
        columns = self._library.columns
        same_shapes = all(c in columns and columns[c].shape == archs[c].shape for c in LIBRARY_COLUMNS)
        if not (same_model and same_rows and same_shapes):
            return None
        return KeptLayer(columns, {"ged_cost_model": stored})

    def layer(self, fidelity: str, key: str) -> KeptLayer | None:
        """The stored layer of ``fidelity`` if it was fitted from the inputs ``key`` names, else None."""
        return self._layers[fidelity] if self._keys.get(fidelity) == key else None


def _fit_keys(table: TableFile) -> dict[str, str]:
    """:func:`fit_key` of every surrogate the table stores, from its own contents."""
    space = str(table.meta.get("design_space_yaml", ""))
    archs = _digests(table, schema.ARCHS, FIT_ARCH_COLUMNS)
    fitted = table.groups(schema.SURROGATE)
    keys = {}
    for fidelity in fitted:
        attrs = table.attrs(f"{schema.SURROGATE}/{fidelity}")
        prior_name = attrs.get("prior")
        prior = None
        if prior_name:
            if prior_name not in fitted:
                continue
            group = f"{schema.RESULTS}/{prior_name}"
            columns = {c: table.read(f"{group}/{c}") for c in ("arch", "status", "score")}
            scores = row_scores(columns, table.read(f"{schema.SURROGATE}/{prior_name}/mean"))
            prior = (str(prior_name), checksum(scores))
        settings = stored_fit_settings(attrs)
        results = _digests(table, f"{schema.RESULTS}/{fidelity}", FIT_RESULT_COLUMNS)
        keys[fidelity] = fit_key(archs, results, space, settings, prior)
    return keys


def _group(table: TableFile, group: str, columns: tuple[str, ...] | None = None) -> KeptLayer:
    """A group's datasets (all, or ``columns``) and its attributes exactly as stored."""
    prefix = f"{group}/"
    names = [n for n in table.checksums if n.startswith(prefix) and "/" not in n[len(prefix) :]]
    if columns is not None:
        names = [n for n in names if n[len(prefix) :] in columns]
    return KeptLayer({n[len(prefix) :]: np.array(table.read(n)) for n in names}, table.stored_attrs(group))


def _digests(table: TableFile, group: str, columns: tuple[str, ...]) -> dict[str, str]:
    """Stored checksums of the ``columns`` of ``group`` that the table holds (absent ones are left out)."""
    return {c: table.checksums[f"{group}/{c}"] for c in columns if table.has(f"{group}/{c}")}
