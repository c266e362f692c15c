"""Where FlexiBench keeps what it can rebuild: ``$FLEXIBENCH_CACHE``, else ``~/.cache/flexibench``.

GED tables, graph libraries, encoded corpora and training states live here, never in
the repository; every file name carries a digest of what it was built from, so a
changed input never reads a stale file.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(path: str | os.PathLike | None = None) -> Path:
    """The cache directory (created if missing): ``path``, else ``$FLEXIBENCH_CACHE``, else ``~/.cache/flexibench``."""
    root = Path(path) if path is not None else Path(os.environ.get("FLEXIBENCH_CACHE", "~/.cache/flexibench"))
    root = root.expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root
