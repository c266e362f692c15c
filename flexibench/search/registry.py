"""Algorithms by name: ``make_optimizer("boshnas", encoding=..., seed=...)``.

Baselines live in the top-level ``baselines/`` folder, installed as
``flexibench.baselines``, and BOSHNAS in ``flexibench.search.boshnas``. Each entry
is a function that imports its class when first asked for, so importing the
search package stays cheap (no torch or BoTorch until an algorithm is built).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flexibench.search.encodings import Encoding, make_encoding
from flexibench.search.protocol import PoolOptimizer, SearchError
from flexibench.space import DesignSpace


def _random_search() -> type[PoolOptimizer]:
    from flexibench.baselines.random_search import RandomSearch

    return RandomSearch


def _evolution() -> type[PoolOptimizer]:
    from flexibench.baselines.evolution import RegularizedEvolution

    return RegularizedEvolution


def _reinforce() -> type[PoolOptimizer]:
    from flexibench.baselines.reinforce import Reinforce

    return Reinforce


def _gp_bo() -> type[PoolOptimizer]:
    from flexibench.baselines.gp_bo import GPBO

    return GPBO


def _bananas() -> type[PoolOptimizer]:
    from flexibench.baselines.bananas import Bananas

    return Bananas


def _boshnas() -> type[PoolOptimizer]:
    from flexibench.search.boshnas import BOSHNAS

    return BOSHNAS


# name -> (class loader, fixed keyword arguments)
OPTIMIZERS: dict[str, tuple[Callable[[], type[PoolOptimizer]], dict[str, Any]]] = {
    "rs": (_random_search, {}),
    "re": (_evolution, {}),
    "reinforce": (_reinforce, {}),
    "gpbo": (_gp_bo, {}),
    "bananas": (_bananas, {}),
    "boshnas": (_boshnas, {}),
    "boshnas-first-order": (_boshnas, {"second_order": False}),
    "boshnas-homoscedastic": (_boshnas, {"heteroscedastic": False}),
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
    load, fixed = OPTIMIZERS[name]
    if isinstance(encoding, str):
        encoding = make_encoding(encoding, space=space)
    elif space is not None and space != encoding.space:
        raise SearchError(f"space: {space.name!r} is not the space of the pool ({encoding.space.name!r})")
    optimizer = load()(encoding, seed, **{**fixed, **kwargs})
    optimizer.name = name
    return optimizer
