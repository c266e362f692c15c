"""Algorithms by name: ``make_optimizer("boshnas", encoding=..., seed=...)``.

Baselines live in the top-level ``baselines/`` folder, installed as
``flexibench.baselines``, and BOSHNAS in ``flexibench.search.boshnas``. A class is
imported when first asked for, so importing the search package stays cheap (no
torch or BoTorch until an algorithm is built).
"""

from __future__ import annotations

from typing import Any

from flexibench.core import DesignSpace
from flexibench.search.encodings import Encoding, make_encoding
from flexibench.search.protocol import PoolOptimizer, SearchError


def _optimizer_class(kind: str) -> type[PoolOptimizer]:
    """The class of ``kind``, imported on first use (torch and BoTorch load only then)."""
    if kind == "rs":
        from flexibench.baselines.random_search import RandomSearch as cls
    elif kind == "re":
        from flexibench.baselines.evolution import RegularizedEvolution as cls
    elif kind == "reinforce":
        from flexibench.baselines.reinforce import Reinforce as cls
    elif kind == "gpbo":
        from flexibench.baselines.gp_bo import GPBO as cls
    elif kind == "bananas":
        from flexibench.baselines.bananas import Bananas as cls
    else:
        from flexibench.search.boshnas import BOSHNAS as cls
    return cls


# name -> (class, fixed keyword arguments)
OPTIMIZERS: dict[str, tuple[str, dict[str, Any]]] = {
    "rs": ("rs", {}),
    "re": ("re", {}),
    "reinforce": ("reinforce", {}),
    "gpbo": ("gpbo", {}),
    "bananas": ("bananas", {}),
    "boshnas": ("boshnas", {}),
    "boshnas-first-order": ("boshnas", {"second_order": False}),
    "boshnas-homoscedastic": ("boshnas", {"heteroscedastic": False}),
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
    """Build the optimizer called ``name``; extra keywords go to its constructor.

    ``encoding`` is a pool (an :class:`Encoding`, which carries its space and level)
    or an encoding name, built over level 1 of ``space`` (default: the paper's space).
    """
    if name not in OPTIMIZERS:
        raise SearchError(f"algorithm: {name!r} is not allowed; allowed: {sorted(OPTIMIZERS)}")
    kind, fixed = OPTIMIZERS[name]
    if isinstance(encoding, str):
        encoding = make_encoding(encoding, space=space)
    elif space is not None and space != encoding.space:
        raise SearchError(f"space: {space.name!r} is not the space of the pool ({encoding.space.name!r})")
    optimizer = _optimizer_class(kind)(encoding, seed, **{**fixed, **kwargs})
    optimizer.name = name
    return optimizer
