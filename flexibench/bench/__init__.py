"""The table: result records, crash-safe journal shards, the packed HDF5 store and its query API."""

from flexibench.bench.journal import JournalWriter, read_shard, read_shards
from flexibench.bench.record import ResultRecord

__all__ = ["JournalWriter", "ResultRecord", "read_shard", "read_shards"]
