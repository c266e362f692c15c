"""Algorithms by name: ``make_optimizer("boshnas", space=..., encoding=..., seed=...)``.

Baselines live in the top-level ``baselines`` package and BOSHNAS in
``flexibench.search.boshnas``; they are imported lazily so that importing the
search package stays cheap and free of import cycles.
"""

from __future__ import annotations

import importlib
from typing import Any

from flexibench.search.encodings import Encoding, make_encoding
from flexibench.search.protocol import PoolOptimizer, SearchError
from flexibench.space import DesignSpace

# name -> (module, class, fixed keyword arguments)
OPTIMIZERS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "rs": ("baselines.random_search", "RandomSearch", {}),
    "re": ("baselines.evolution", "RegularizedEvolution", {}),
    "reinforce": ("baselines.reinforce", "Reinforce", {}),
    "gpbo": ("baselines.gp_bo", "GPBO", {}),
    "bananas": ("baselines.bananas", "Bananas", {}),
    "boshnas": ("flexibench.search.boshnas", "BOSHNAS", {}),
    "boshnas-first-order": ("flexibench.search.boshnas", "BOSHNAS", {"second_order": False}),
    "boshnas-homoscedastic": ("flexibench.search.boshnas", "BOSHNAS", {"heteroscedastic": False}),
}
MAIN_ALGORITHMS = ("rs", "re", "reinforce", "gpbo", "bananas", "boshnas")


def make_optimizer(
    name: str,
    *,
    space: DesignSpace | None = None,
    encoding: Encoding | str = "naive",
    seed: int = 0,
    **kwargs: Any,
) -> PoolOptimizer:
    """Build the optimizer called ``name``; extra keywords go to its constructor."""
    if name not in OPTIMIZERS:
        raise SearchError(f"algorithm: {name!r} is not allowed; allowed: {sorted(OPTIMIZERS)}")
    module, cls_name, fixed = OPTIMIZERS[name]
    cls = getattr(importlib.import_module(module), cls_name)
    enc = make_encoding(encoding) if isinstance(encoding, str) else encoding
    return cls(space or DesignSpace.default(), enc, seed, **{**fixed, **kwargs})
