"""The table: result records, crash-safe journal shards, the packed HDF5 store and its query API.

Names are imported on first use, so ``flexibench.bench.cost`` (the search prices cards with
it) does not pull in h5py.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Benchmark": "flexibench.bench.benchmark",
    "QueryError": "flexibench.bench.result",
    "QueryResult": "flexibench.bench.result",
    "LearningCurve": "flexibench.bench.result",
    "default_table_path": "flexibench.bench.benchmark",
    "load": "flexibench.bench.benchmark",
    "JournalWriter": "flexibench.bench.journal",
    "read_shard": "flexibench.bench.journal",
    "read_shards": "flexibench.bench.journal",
    "ResultRecord": "flexibench.core.record",
}

if TYPE_CHECKING:  # pragma: no cover
    from flexibench.bench.benchmark import Benchmark, default_table_path, load
    from flexibench.bench.journal import JournalWriter, read_shard, read_shards
    from flexibench.bench.result import LearningCurve, QueryError, QueryResult
    from flexibench.core.record import ResultRecord


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'flexibench.bench' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "Benchmark",
    "JournalWriter",
    "LearningCurve",
    "QueryError",
    "QueryResult",
    "ResultRecord",
    "default_table_path",
    "load",
    "read_shard",
    "read_shards",
]
