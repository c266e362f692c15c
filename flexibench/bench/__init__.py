"""The table: result records, crash-safe journal shards, the packed HDF5 store and its query API."""

from flexibench.bench.benchmark import Benchmark, QueryError, default_table_path, load
from flexibench.bench.journal import JournalWriter, read_shard, read_shards
from flexibench.bench.record import ResultRecord
from flexibench.bench.result import QueryResult

__all__ = [
    "Benchmark",
    "JournalWriter",
    "QueryError",
    "QueryResult",
    "ResultRecord",
    "default_table_path",
    "load",
    "read_shard",
    "read_shards",
]
