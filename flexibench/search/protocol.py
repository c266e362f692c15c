"""The search protocol: every algorithm is an :class:`Optimizer` with ``ask()`` / ``tell()``.

One small interface lets the runner drive random search, evolution, REINFORCE,
GP-BO, BANANAS and BOSHNAS identically (same budget, seeds, simulated workers
and cost clock), so leaderboard differences come from the algorithms alone.

Optimizers search a finite *pool* of cards (the rows of an
:class:`~flexibench.search.encodings.Encoding`) and never propose a card twice;
the pool-keeping logic lives once in :class:`PoolOptimizer`. Every source of
randomness is an instance (``numpy.random.Generator`` / ``random.Random``) owned
by the optimizer, so two optimizers with the same seed make the same choices and
no global RNG state is read or changed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from flexibench.core import DesignSpace, ModelCard
from flexibench.core.errors import FlexiBenchError
from flexibench.search.encodings import Encoding


class SearchError(FlexiBenchError, ValueError):
    """A search was configured wrongly (unknown algorithm, empty pool, bad budget ...)."""


def check_choice(name: str, value: Any, allowed: tuple[Any, ...]) -> None:
    """ValueError naming the argument, its value and the allowed values, unless ``value`` is allowed."""
    if value not in allowed:
        raise ValueError(f"{name}: {value!r} is not allowed; allowed: {list(allowed)}")


@dataclass(frozen=True)
class Trial:
    """What ``ask()`` may return instead of a bare card: the card and the training budget to evaluate it at.

    ``budget`` is a checkpoint of the objective's learning curve (``objective.budgets``; the
    table: pretraining steps), None for the full budget. A multi-fidelity scheduler
    (successive halving, Hyperband, ASHA) asks cheap budgets first and promotes the best
    cards, asking the same card again at a larger budget; the runner charges each
    evaluation only what its budget costs (:mod:`flexibench.search.runner`).
    """

    card: ModelCard
    budget: int | None = None


@dataclass(frozen=True)
class Observation:
    """What an optimizer learns from one evaluation.

    ``score`` is the (noisy) measured score, higher is better (GLUE percent for the
    table). ``cost_s`` is the simulated training cost the runner charged: pretrain +
    fine-tune seconds, or less when weight transfer applied (``transferred``; see ``Evaluation.transferred_s``)
    or the card continued from its own earlier, smaller budget (``resumed``). ``budget`` is
    the budget evaluated (None: the full one).
    """

    score: float
    cost_s: float
    pretrain_s: float = 0.0
    finetune_s: float = 0.0
    transferred: bool = False
    budget: int | None = None
    resumed: bool = False


@runtime_checkable
class Optimizer(Protocol):
    """Everything the runner (:func:`flexibench.search.run_search`) uses of a search algorithm."""

    name: str
    """Short label for trajectories and leaderboards (e.g. ``"re"``)."""
    encoding: Encoding
    """The pool it searches: the runner stops launching when every card was asked."""

    def ask(self) -> ModelCard | Trial:
        """The next card to evaluate (never one already asked), or a :class:`Trial` naming a budget too.

        Only a multi-fidelity optimizer asks a card twice, each time at a larger budget.
        """
        ...

    def tell(self, card: ModelCard, result: Observation) -> None:
        """Report the evaluation of a card returned by :meth:`ask`."""
        ...

    def state(self) -> dict[str, Any]:
        """Small JSON-able status recorded with every query; ``converged`` (bool) is read by the runner."""
        ...


class PoolOptimizer:
    """Base class for optimizers over a finite pool of encoded cards.

    Subclasses implement :meth:`propose` (return a pool index that is still
    available) and may extend :meth:`observe`. This class keeps the asked/observed
    bookkeeping, the incumbent and the convergence flag of Algorithm 1 (best score
    changed by less than ``tol`` for ``patience`` consecutive observations).
    The design space and the level that moves happen in are the pool's own
    (``encoding.space``, ``encoding.level``).
    """

    name = "pool"

    def __init__(self, encoding: Encoding, seed: int = 0, *, tol: float = 1e-4, patience: int = 5) -> None:
        if len(encoding) == 0:
            raise SearchError("the encoding's pool of cards is empty")
        self.encoding = encoding
        self.space: DesignSpace = encoding.space
        self.level: int = encoding.level
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.pyrng = random.Random(self.seed)
        self.available = np.ones(len(encoding), dtype=bool)  # not yet asked
        self.obs_index: list[int] = []
        self.obs_score: list[float] = []
        self.best_score = -np.inf
        self.best_card: ModelCard | None = None
        self.tol = tol
        self.patience = patience
        self._stable = 0
        self.converged = False

    # ------------------------------------------------------------------ protocol
    def ask(self) -> ModelCard:
        if not self.available.any():
            raise SearchError(f"every one of the {len(self.encoding)} pool cards has been asked")
        index = int(self.propose())
        if not self.available[index]:
            raise AssertionError(f"{type(self).__name__} proposed pool index {index} twice")
        self.available[index] = False
        return self.encoding.cards[index]

    def tell(self, card: ModelCard, result: Observation) -> None:
        index = self.encoding.index_of(card)
        self.available[index] = False
        score = float(result.score)
        self.obs_index.append(index)
        self.obs_score.append(score)
        previous = self.best_score
        if score > self.best_score:
            self.best_score, self.best_card = score, card
        if np.isfinite(previous) and abs(self.best_score - previous) < self.tol:
            self._stable += 1
        else:
            self._stable = 0
        self.converged = self._stable >= self.patience
        self.observe(index, score, result)

    # ------------------------------------------------------------------ hooks
    def propose(self) -> int:
        raise NotImplementedError

    def observe(self, index: int, score: float, result: Observation) -> None:
        """Called after bookkeeping for every :meth:`tell`; default does nothing."""

    # ------------------------------------------------------------------ helpers
    def random_available(self) -> int:
        """A uniformly random pool index that has not been asked."""
        free = np.flatnonzero(self.available)
        return int(free[self.rng.integers(len(free))])

    @property
    def n_observed(self) -> int:
        return len(self.obs_index)

    def training_data(self) -> tuple[np.ndarray, np.ndarray]:
        """Encoded inputs and scores of every observation so far."""
        return self.encoding.X[np.asarray(self.obs_index, dtype=np.int64)], np.asarray(self.obs_score)

    def state(self) -> dict[str, Any]:
        """Small JSON-able status for trajectories (convergence flag, observations)."""
        return {"converged": bool(self.converged), "observed": self.n_observed}
