"""What a search optimises: a synthetic function with a known optimum, or the benchmark table.

An objective turns a card into an :class:`Evaluation` (a noisy score plus the
pretrain and fine-tune seconds it would cost). The runner decides which of the
two costs to charge (weight transfer), so objectives know nothing about history.
``true_score`` (noise-free) and ``optimum`` let the leaderboard report regret.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from flexibench.bench.cost import transfer_cost_s
from flexibench.bench.cost import transfer_share as default_transfer_share
from flexibench.core import DesignSpace, ModelCard, naive_features
from flexibench.core.errors import FlexiBenchError

OBJECTIVES = ("synthetic", "table")
__all__ = ["OBJECTIVES", "Evaluation", "Objective", "SyntheticObjective", "TableObjective"]
__all__ += ["default_transfer_share", "transfer_cost_s"]  # the one price, from flexibench.bench.cost


@dataclass(frozen=True)
class Evaluation:
    """One evaluation: noisy ``score`` (higher is better) and its training costs in seconds.

    ``transfer_s`` is what the card costs when it starts from a trained neighbour's
    weights. ``None`` means the paper's rule (Appendix B.3): such a card is fine-tuned
    directly, so it costs ``finetune_s``. Fidelities that fine-tune nothing (nano)
    need a shortened pretraining instead, which the objective states explicitly.
    """

    score: float
    pretrain_s: float
    finetune_s: float
    transfer_s: float | None = None

    @property
    def full_s(self) -> float:
        """Cost from random initialisation: pretraining plus fine-tuning."""
        return self.pretrain_s + self.finetune_s

    @property
    def transferred_s(self) -> float:
        """Cost after weight transfer (see the class docstring)."""
        return self.finetune_s if self.transfer_s is None else self.transfer_s


@runtime_checkable
class Objective(Protocol):
    name: str

    def evaluate(self, card: ModelCard, rng: np.random.Generator) -> Evaluation: ...

    # An objective with learning curves also takes ``budget=`` (a checkpoint of ``budgets``) and
    # prices the evaluation at that budget; the runner passes it only for a :class:`Trial` with one.

    def true_score(self, card: ModelCard) -> float | None: ...

    @property
    def optimum(self) -> float | None: ...

    def describe(self) -> dict[str, Any]: ...


class SyntheticObjective:
    """A seeded, smooth, heteroscedastic test function over the design space with a known optimum.

    Mean score (in "percent", rescaled to [60, 80] over the level-``level`` pool) is
    a linear function of each layer's one-hot choices with per-position weights,
    plus pairwise interactions between adjacent layers (so layer order matters, as
    in heterogeneous models), plus a smooth ``tanh`` ridge of the whole naive
    feature vector. Noise is Gaussian with a card-dependent standard deviation
    between ``noise_min`` and ``noise_max`` (heteroscedastic, as real training
    runs are). Training costs grow with a parameter-count proxy. The optimum is
    found by evaluating every card of the pool (9,312 at level 1).
    """

    name = "synthetic"

    def __init__(
        self,
        seed: int = 0,
        space: DesignSpace | None = None,
        level: int = 1,
        noise_min: float = 0.2,
        noise_max: float = 1.0,
        interaction: float = 0.6,
    ) -> None:
        self.seed = int(seed)
        self.space = space or DesignSpace.default()
        self.level = level
        self.noise_min, self.noise_max, self.interaction = noise_min, noise_max, interaction
        rng = np.random.default_rng(self.seed)
        max_layers = max(self.space.layers)
        self._per_layer = naive_features([self.space.card_at(1, 0)], self.space).shape[1] // max_layers
        d = self._per_layer
        self._w = rng.normal(size=(max_layers, d))
        self._a = rng.normal(size=(d, d)) * interaction
        self._u = rng.normal(size=max_layers * d) / np.sqrt(d)
        self._v = rng.normal(size=max_layers * d) / np.sqrt(d)
        self._depth_bonus = {depth: rng.normal() for depth in self.space.layers}
        cards = list(self.space.enumerate(level))
        raw = self._raw(cards)
        self._lo, self._hi = float(raw.min()), float(raw.max())
        means = self._rescale(raw)
        self._means = dict(zip(cards, means.tolist()))
        self._optimum = float(means.max())
        self.best_card = cards[int(means.argmax())]

    # ------------------------------------------------------------------ model
    def _raw(self, cards: Sequence[ModelCard]) -> np.ndarray:
        x = naive_features(cards, self.space).astype(np.float64)
        n, d = len(cards), self._per_layer
        layers = x.reshape(n, -1, d)
        linear = np.einsum("nld,ld->n", layers, self._w)
        pairs = np.einsum("nld,de,nle->n", layers[:, :-1], self._a, layers[:, 1:])
        ridge = 3.0 * np.tanh(x @ self._u)
        depth = np.array([self._depth_bonus[c.l] for c in cards])
        return linear + pairs + ridge + depth

    def _rescale(self, raw: np.ndarray) -> np.ndarray:
        return 60.0 + 20.0 * (raw - self._lo) / (self._hi - self._lo)

    def noise_std(self, card: ModelCard) -> float:
        x = naive_features([card], self.space)[0].astype(np.float64)
        gate = 1.0 / (1.0 + np.exp(-(x @ self._v)))
        return float(self.noise_min + (self.noise_max - self.noise_min) * gate)

    def costs(self, card: ModelCard) -> tuple[float, float]:
        """(pretrain_s, finetune_s) from a parameter-count proxy: 1 to 5 hours pretraining."""
        params = sum(4 * h * h + 2 * h * sum(f) for h, f in zip(card.h, card.f))
        largest = max(self.space.layers) * (4 * max(self.space.hidden) ** 2 + 2 * max(self.space.hidden) * 3 * 1024)
        pretrain = 3600.0 * (1.0 + 4.0 * params / largest)
        return pretrain, 0.2 * pretrain

    # ------------------------------------------------------------------ objective API
    def true_score(self, card: ModelCard) -> float:
        mean = self._means.get(card)
        if mean is None:
            self.space.validate(card, 3)
            mean = float(self._rescale(self._raw([card]))[0])
        return mean

    budgets: tuple[int, ...] = ()  # no learning curve: every evaluation is at the full budget

    def evaluate(self, card: ModelCard, rng: np.random.Generator, budget: int | None = None) -> Evaluation:
        if budget is not None:
            raise FlexiBenchError("the synthetic objective has no learning curve: evaluate at the full budget only")
        score = self.true_score(card) + self.noise_std(card) * rng.standard_normal()
        pretrain, finetune = self.costs(card)
        return Evaluation(float(score), pretrain, finetune)

    @property
    def optimum(self) -> float:
        return self._optimum

    def describe(self) -> dict[str, Any]:
        return {"objective": self.name, "seed": self.seed, "level": self.level, "optimum": self._optimum}


class TableObjective:
    """The benchmark table as an objective: ``bench.query(card, fidelity, seed=...)``.

    Each evaluation draws one of the measured training seeds (``seed="sample"``)
    so the search sees run-to-run variation; regret uses the mean over seeds (the
    surrogate's mean for unmeasured cards). The optimum is the best such score over
    ``cards``, by default every card of the table, so regret never goes negative
    when a search finds an unmeasured card the surrogate rates above every measured one.

    A transferred card (weights from a trained neighbour) costs its fine-tuning plus
    ``transfer_pretrain_share`` of its pretraining, priced by :mod:`flexibench.bench.cost`
    as ``Benchmark.training_cost`` prices it: the paper fine-tunes such cards directly
    (share 0); a recipe that fine-tunes nothing and is scored on held-out MLM (nano) is
    charged the shortest pretraining it scores, ``heldout_every / steps`` (nano: 50 of
    200 steps). ``paper_repro/table6_transfer.py`` measures the share a transfer really needs.

    ``evaluate(card, rng, budget=b)`` answers at checkpoint ``b`` of the fidelity's learning
    curve (``budgets``: e.g. nano's 50, 100, 150 and 200 steps), priced at that checkpoint's
    share of the pretraining time (``bench.query(card, budget=b)``; the schedule is constant,
    so a checkpoint is exactly a shorter run). ``seed="mean"`` evaluates noise-free (the seed
    mean) instead of drawing one measured seed.
    """

    name = "table"

    def __init__(
        self,
        bench: Any,
        fidelity: str,
        cards: Sequence[ModelCard] | None = None,
        transfer_pretrain_share: float | None = None,
        seed: str = "sample",
    ) -> None:
        if seed not in ("sample", "mean"):
            raise FlexiBenchError(f"seed: {seed!r} is not allowed; allowed: 'sample' or 'mean'")
        self.bench = bench
        self.fidelity = fidelity
        self.seed = seed
        self._takes_rng = _accepts(bench.query, "rng")
        reference = list(cards) if cards is not None else list(bench.cards())
        if not bench.cards(fidelity=fidelity):
            raise FlexiBenchError(f"the table has no measured cards at fidelity {fidelity!r}")
        if not reference:
            raise FlexiBenchError("TableObjective: cards is empty; give the cards the optimum is taken over")
        self._optimum = max(self.true_score(card) for card in reference)
        if transfer_pretrain_share is None:
            transfer_pretrain_share = default_transfer_share(getattr(bench, "recipes", {}).get(fidelity) or {})
        if not 0.0 <= transfer_pretrain_share <= 1.0:
            raise FlexiBenchError(
                f"transfer_pretrain_share: {transfer_pretrain_share} is not allowed; allowed: 0 <= share <= 1"
            )
        self.transfer_pretrain_share = float(transfer_pretrain_share)

    @classmethod
    def from_path(cls, path: str, fidelity: str) -> TableObjective:
        """Open a packed table with :func:`flexibench.bench.load` (imported here: the search package stays light)."""
        from flexibench.bench import load

        return cls(load(path), fidelity)

    def true_score(self, card: ModelCard) -> float:
        return float(self.bench.query(card, fidelity=self.fidelity, seed="mean").score)

    @property
    def budgets(self) -> tuple[int, ...]:
        """The checkpoints ``evaluate(..., budget=)`` takes (empty for a fidelity without learning curves)."""
        budgets = getattr(self.bench, "budgets", None)
        return tuple(budgets(self.fidelity)[0]) if callable(budgets) else ()

    def evaluate(self, card: ModelCard, rng: np.random.Generator, budget: int | None = None) -> Evaluation:
        at = {} if budget is None else {"budget": budget}
        if self._takes_rng and self.seed == "sample":
            result = self.bench.query(card, fidelity=self.fidelity, seed="sample", rng=rng, **at)
        else:
            result = self.bench.query(card, fidelity=self.fidelity, seed=self.seed, **at)
        pretrain, finetune = float(result.pretrain_time_s), float(result.finetune_time_s)
        transferred = transfer_cost_s(pretrain, finetune, self.transfer_pretrain_share)
        return Evaluation(float(result.score), pretrain, finetune, transferred)

    @property
    def optimum(self) -> float:
        return self._optimum

    def describe(self) -> dict[str, Any]:
        return {
            "objective": self.name,
            "fidelity": self.fidelity,
            "optimum": self._optimum,
            "transfer_pretrain_share": self.transfer_pretrain_share,
            "seed": self.seed,
        }


def _accepts(func: Any, name: str) -> bool:
    import inspect

    try:
        return name in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
