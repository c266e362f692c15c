"""Local cache for graph-library artefacts (GED tables, libraries); never committed.

The cache directory is :func:`flexibench.core.cache.cache_dir`. File names
carry a short digest of the design-space YAML and cost model so that a different
space never reads a stale table.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from flexibench.core.design_space import DesignSpace
from flexibench.core.errors import DataError
from flexibench.library.costs import CostModel


def space_digest(space: DesignSpace, cost_model: CostModel) -> str:
    """12-hex digest of the space's allowed values and the cost order."""
    payload = json.dumps(
        {
            "layers": space.layers,
            "ops": {k: [str(p) for p in v] for k, v in space.operations.items()},
            "heads": space.heads,
            "hidden": space.hidden,
            "ff_widths": space.ff_widths,
            "ff_depths": space.ff_depths,
            "stack": space.stack,
            "order": cost_model.order,
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def save_table(path: str | os.PathLike, condensed: np.ndarray, meta: dict) -> Path:
    """Write a condensed table with its metadata atomically (``.npz``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, ged_x10=condensed, meta=np.array(json.dumps(meta)))
    os.replace(tmp, path)
    return path


def load_table(path: str | os.PathLike) -> tuple[np.ndarray, dict]:
    """Read a table written by :func:`save_table`; a DataError if missing or corrupt."""
    path = Path(path)
    try:
        with np.load(path) as data:
            return data["ged_x10"], json.loads(str(data["meta"]))
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(f"{path}: not a readable GED table ({exc})") from None
