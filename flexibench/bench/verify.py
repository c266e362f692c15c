"""``verify``: check a packed table end to end before anyone trusts a number from it.

Checks, in order: the file opens and ``/meta`` is complete; every dataset the
layout requires is present; every dataset matches its SHA-256; row counts agree
within each group; indices point at existing rows; each card is in the stored
design space at its stored level and index; each stored hash is the hash of its
card (optional: ~0.1 ms per card); every result row's record JSON agrees with its
row (card hash, seed, fidelity); no (card, seed) appears twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from flexibench.bench import schema
from flexibench.bench.store import TableFile
from flexibench.core.errors import DataError
from flexibench.core.record import STATUSES


@dataclass
class VerifyReport:
    """Outcome of :func:`verify`: counts of what was checked and every problem found."""

    path: Path
    problems: list[str] = field(default_factory=list)
    archs: int = 0
    records: dict[str, int] = field(default_factory=dict)
    surrogates: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_for_problems(self) -> VerifyReport:
        """Raise :class:`DataError` listing the problems (the first few) if there are any."""
        if self.problems:
            shown = "; ".join(self.problems[:5]) + (
                f"; ... {len(self.problems) - 5} more" if len(self.problems) > 5 else ""
            )
            raise DataError(f"table {self.path} failed verification: {shown}")
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "ok": self.ok,
            "problems": self.problems,
            "archs": self.archs,
            "records": self.records,
            "surrogates": self.surrogates,
        }


def verify(path: str | Path, *, check_hashes: bool = True) -> VerifyReport:
    """Check the table at ``path``; problems are collected in the report, never silently ignored.

    An unreadable file (missing, truncated, not HDF5) is reported as a problem too.
    """
    report = VerifyReport(Path(path))
    try:
        table = TableFile(path)
    except DataError as exc:
        report.problems.append(str(exc))
        return report
    with table:
        _check(table, report, check_hashes)
    return report


def _check(table: TableFile, report: VerifyReport, check_hashes: bool) -> None:
    problems = report.problems
    missing_meta = [key for key in schema.META_ATTRS if key not in table.meta]
    if missing_meta:
        problems.append(f"/meta lacks attribute(s) {missing_meta}")
    fidelities = table.groups(schema.RESULTS)
    surrogates = table.groups(schema.SURROGATE)
    report.surrogates = surrogates
    for name in schema.dataset_paths(fidelities, surrogates):
        if not table.has(name):
            problems.append(f"/{name} is missing")
    arrays: dict[str, np.ndarray] = {}
    for name in sorted(table.checksums):
        try:
            arrays[name] = table.read(name)
        except DataError as exc:
            problems.append(str(exc).removeprefix(f"table {table.path}: "))
    if problems:
        return
    archs = {c: arrays[f"{schema.ARCHS}/{c}"] for c in schema.ARCH_COLUMNS}
    n = len(archs["card"])
    report.archs = n
    for column, values in archs.items():
        if values.shape[0] != n:
            problems.append(f"/archs/{column} has {values.shape[0]} rows, /archs/card has {n}")
    for column in schema.OPTIONAL_ARCH_COLUMNS:  # the hardware objectives: tables without them still verify
        values = arrays.get(f"{schema.ARCHS}/{column}")
        if values is not None and values.shape != (n,):
            problems.append(f"/archs/{column} has shape {values.shape}, expected ({n},)")
    neighbours = archs["neighbours"]
    if neighbours.size and (neighbours.min() < -1 or neighbours.max() >= n):
        problems.append("/archs/neighbours points outside /archs")
    if problems:
        return
    _check_cards(table, archs, problems, check_hashes)
    for fidelity in fidelities:
        _check_results(table, fidelity, arrays, archs, report)
    for fidelity in surrogates:
        for column in ("mean", "std"):
            values = arrays[f"{schema.SURROGATE}/{fidelity}/{column}"]
            if values.shape != (n,):
                problems.append(f"/surrogate/{fidelity}/{column} has shape {values.shape}, expected ({n},)")
        curve = arrays.get(f"{schema.SURROGATE}/{fidelity}/curve_mean")
        budgets = table.attrs(f"{schema.RESULTS}/{fidelity}").get("curve_budgets")
        if curve is not None and (not isinstance(budgets, list) or curve.shape != (n, len(budgets))):
            problems.append(f"/surrogate/{fidelity}/curve_mean has shape {curve.shape}; expected ({n}, checkpoints)")
        attrs = table.attrs(f"{schema.SURROGATE}/{fidelity}")
        lacking = [a for a in schema.SURROGATE_ATTRS if a not in attrs]
        if lacking:
            problems.append(f"/surrogate/{fidelity} lacks attribute(s) {lacking}")


def _check_cards(table: TableFile, archs: dict[str, np.ndarray], problems: list[str], check_hashes: bool) -> None:
    from flexibench.core import DesignSpace, ModelCard, card_hash

    try:
        space = DesignSpace.from_yaml(str(table.meta.get("design_space_yaml", "")))
    except Exception as exc:  # noqa: BLE001 - any YAML problem is a damaged table
        problems.append(f"/meta design_space_yaml does not load ({exc})")
        return
    seen: set[ModelCard] = set()
    for i, text in enumerate(archs["card"]):
        try:
            card = ModelCard.from_json(text)
            level = int(archs["level"][i])
            if space.index_of(card, level) != int(archs["space_index"][i]):
                problems.append(f"/archs row {i}: space_index disagrees with the card")
        except Exception as exc:  # noqa: BLE001 - report any bad card and go on
            problems.append(f"/archs row {i}: card is not valid in the stored design space ({exc})")
            continue
        if card in seen:
            problems.append(f"/archs row {i}: card {card.short()} appears twice")
        seen.add(card)
        if card.l != int(archs["n_layers"][i]):
            problems.append(f"/archs row {i}: n_layers {archs['n_layers'][i]} but the card has {card.l}")
        if check_hashes and card_hash(card) != archs["hash"][i]:
            problems.append(f"/archs row {i}: stored hash is not the hash of its card")
        if len(problems) > 50:
            return


def _check_results(
    table: TableFile, fidelity: str, arrays: dict[str, np.ndarray], archs: dict[str, np.ndarray], report: VerifyReport
) -> None:
    problems = report.problems
    prefix = f"{schema.RESULTS}/{fidelity}"
    cols = {c: arrays[f"{prefix}/{c}"] for c in schema.RESULT_COLUMNS}
    rows = len(cols["arch"])
    report.records[fidelity] = rows
    for column, values in cols.items():
        if values.shape[0] != rows:
            problems.append(f"/{prefix}/{column} has {values.shape[0]} rows, /{prefix}/arch has {rows}")
    tasks = table.attrs(prefix).get("tasks")
    if not isinstance(tasks, list):
        problems.append(f"/{prefix} lacks its 'tasks' attribute")
        return
    for column in ("task_scores", "finetune_loss"):
        if cols[column].shape != (rows, len(tasks)):
            problems.append(f"/{prefix}/{column} has shape {cols[column].shape}, expected ({rows}, {len(tasks)})")
    curve = arrays.get(f"{prefix}/curve")  # optional: tables before learning curves lack it
    if curve is not None:
        budgets = table.attrs(prefix).get("curve_budgets")
        if not isinstance(budgets, list) or curve.shape != (rows, len(budgets)):
            problems.append(f"/{prefix}/curve has shape {curve.shape}; expected ({rows}, len(curve_budgets))")
    if problems:
        return
    arch, n = cols["arch"], len(archs["card"])
    if rows and (arch.min() < 0 or arch.max() >= n):
        problems.append(f"/{prefix}/arch points outside /archs")
        return
    if rows and (cols["status"].min() < 0 or cols["status"].max() >= len(STATUSES)):
        problems.append(f"/{prefix}/status holds an unknown status code")
    if len(np.unique(np.stack([arch.astype(np.int64), cols["seed"]], axis=1), axis=0)) != rows:
        problems.append(f"/{prefix}: a (card, seed) pair appears twice")
    for i in range(rows):
        try:
            record = json.loads(cols["record"][i])
        except ValueError:
            problems.append(f"/{prefix} row {i}: record JSON does not parse")
            continue
        if (
            record.get("card_hash") != archs["hash"][arch[i]]
            or record.get("seed") != int(cols["seed"][i])
            or record.get("fidelity") != fidelity
        ):
            problems.append(f"/{prefix} row {i}: record JSON disagrees with its row (card hash, seed or fidelity)")
        if len(problems) > 50:
            return
