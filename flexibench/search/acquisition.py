"""Acquisition functions, one module for every model-based searcher (GP-BO, BANANAS, BOSHNAS).

All take the surrogate's predictions (``mean`` and one or more spreads, numpy arrays
or torch tensors where noted) and return one value per candidate, higher is better:

- :func:`upper_confidence_bound`: ``mean + sum_k weight_k * spread_k``. GP-BO uses
  ``(sqrt(beta), std)`` (BoTorch's ``UpperConfidenceBound``), BANANAS ``(kappa, std)``
  and BOSHNAS Eq. (5), ``(k1, sigma), (k2, xi_hat)``, on torch tensors for GOBI.
- :func:`exploration`: the spread term alone (BOSHNAS's uncertainty-sampling step).
- :func:`log_expected_improvement`: log EI over the incumbent, stable in the tail.
- :func:`thompson`: independent Thompson sampling, one normal draw per candidate.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import erfcx


def exploration(*weighted: tuple[float, Any]) -> Any:
    """``sum_k weight_k * spread_k`` for ``(weight, spread)`` pairs (arrays or tensors)."""
    if not weighted:
        raise ValueError("exploration: give at least one (weight, spread) pair")
    total = weighted[0][0] * weighted[0][1]
    for weight, spread in weighted[1:]:
        total = total + weight * spread
    return total


def upper_confidence_bound(mean: Any, *weighted: tuple[float, Any]) -> Any:
    """``mean + sum_k weight_k * spread_k``; differentiable when the inputs are torch tensors."""
    return mean + exploration(*weighted)


def thompson(mean: np.ndarray, std: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw per candidate from N(mean, std^2) (independent Thompson sampling, as in BANANAS)."""
    return rng.normal(mean, np.asarray(std) + 1e-12)


def log_expected_improvement(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """log E[max(f - best, 0)] for f ~ N(mean, std^2), stable far into the tail.

    Uses ``phi(u) + u Phi(u) = phi(u) (1 + u sqrt(pi/2) erfcx(-u / sqrt(2)))`` with
    ``u = (mean - best) / std``, so no term underflows (the same quantity as
    BoTorch's ``LogExpectedImprovement``).
    """
    std = np.maximum(np.asarray(std, dtype=np.float64), 1e-12)
    u = (np.asarray(mean, dtype=np.float64) - best) / std
    ratio = np.sqrt(np.pi / 2) * erfcx(-u / np.sqrt(2))
    inner = np.log(np.maximum(1.0 + u * ratio, 1e-300))
    return np.log(std) - 0.5 * u**2 - 0.5 * np.log(2 * np.pi) + inner
