"""Performance predictors with uncertainty, all behind ``fit(X, y) -> self`` / ``predict(X) -> (mean, std)``.

- :class:`NPNRegressor`: Natural-Parameter Network, mean + aleatoric sigma (Eq. 6 NLL).
- :class:`MCDropoutTeacher` / :class:`StudentNetwork`: epistemic xi by MC dropout, and a
  differentiable student that predicts it.
- :class:`MLPRegressor`: MSE network with a constant sigma (homoscedastic ablation).
- :class:`MLPEnsemble`: ensemble mean and spread (BANANAS; the table's surrogate).
- :class:`GPSurrogate`: BoTorch ``SingleTaskGP``.
"""

from flexibench.surrogates.base import Surrogate, seeded_torch
from flexibench.surrogates.ensemble import MLPEnsemble
from flexibench.surrogates.gp import GPSurrogate
from flexibench.surrogates.mc_dropout import MCDropoutTeacher, StudentNetwork
from flexibench.surrogates.mlp import MLPRegressor
from flexibench.surrogates.npn import NPNRegressor

__all__ = [
    "GPSurrogate",
    "MCDropoutTeacher",
    "MLPEnsemble",
    "MLPRegressor",
    "NPNRegressor",
    "StudentNetwork",
    "Surrogate",
    "seeded_torch",
]
