"""Surrogates: NPN moments and loss vs references, heteroscedastic sigma, ensembles, MC dropout, GP vs BoTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from botorch.acquisition import LogExpectedImprovement
from scipy.stats import norm
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from flexibench.search.acquisition import log_expected_improvement
from flexibench.surrogates import (
    GPSurrogate,
    MCDropoutTeacher,
    MLPEnsemble,
    MLPRegressor,
    NPNRegressor,
    StudentNetwork,
    Surrogate,
)
from flexibench.surrogates.npn import gaussian_nll, npn_relu

torch.set_num_threads(1)


def heteroscedastic_data(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(n, 1))
    noise = np.where(x[:, 0] > 0, 0.6, 0.02)  # noisy right half, clean left half
    return x.astype(np.float32), np.sin(3 * x[:, 0]) + noise * rng.standard_normal(n)


def test_npn_relu_matches_gaussian_moments() -> None:
    mean = torch.tensor([-2.0, -0.3, 0.0, 0.7, 3.0], dtype=torch.float64)
    var = torch.tensor([0.5, 1.0, 2.0, 0.1, 4.0], dtype=torch.float64)
    out_mean, out_var = npn_relu(mean, var)
    m, s = mean.numpy(), np.sqrt(var.numpy())
    # E[max(z, 0)] and E[max(z, 0)^2] for z ~ N(m, s^2), closed forms via scipy's normal
    first = m * norm.cdf(m / s) + s * norm.pdf(m / s)
    second = (m**2 + s**2) * norm.cdf(m / s) + m * s * norm.pdf(m / s)
    np.testing.assert_allclose(out_mean.numpy(), first, rtol=1e-6)
    np.testing.assert_allclose(out_var.numpy(), second - first**2, rtol=1e-5)


def test_npn_loss_is_torch_gaussian_nll() -> None:
    mu, sigma, target = torch.randn(50), torch.rand(50) + 0.1, torch.randn(50)
    reference = torch.nn.GaussianNLLLoss(full=False, eps=0.0)(mu, target, sigma**2)
    assert gaussian_nll(mu, sigma, target).item() == pytest.approx(reference.item(), rel=1e-6)


def test_npn_learns_mean_and_heteroscedastic_sigma() -> None:
    x, y = heteroscedastic_data()
    model = NPNRegressor(hidden=(32, 32), epochs=1500, lr=1e-2, seed=0).fit(x, y)
    grid = np.linspace(-0.9, 0.9, 19, dtype=np.float32)[:, None]
    mu, sigma = model.predict(grid)
    assert np.abs(mu - np.sin(3 * grid[:, 0])).mean() < 0.2
    assert sigma[grid[:, 0] > 0.2].mean() > 3 * sigma[grid[:, 0] < -0.2].mean()


def test_homoscedastic_mlp_has_one_sigma() -> None:
    x, y = heteroscedastic_data()
    _, sigma = MLPRegressor(epochs=200, seed=0).fit(x, y).predict(x[:20])
    assert np.allclose(sigma, sigma[0]) and sigma[0] > 0


def test_surrogates_follow_the_protocol_and_restore_global_rng() -> None:
    x, y = heteroscedastic_data(60)
    state = torch.get_rng_state()
    for model in (NPNRegressor(epochs=5), MCDropoutTeacher(epochs=5), MLPEnsemble(epochs=5), GPSurrogate()):
        assert isinstance(model, Surrogate)
        mean, std = model.fit(x, y).predict(x)
        assert mean.shape == std.shape == (60,) and np.all(std >= 0)
    assert torch.equal(state, torch.get_rng_state())


def test_same_seed_same_predictions() -> None:
    x, y = heteroscedastic_data(60)
    a = MLPEnsemble(n_members=3, epochs=30, seed=7).fit(x, y).predict(x)
    b = MLPEnsemble(n_members=3, epochs=30, seed=7).fit(x, y).predict(x)
    c = MLPEnsemble(n_members=3, epochs=30, seed=8).fit(x, y).predict(x)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.allclose(a[0], c[0])


def test_ensemble_fits_data_and_is_unsure_away_from_it() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(200, 2)).astype(np.float32)
    y = x[:, 0] ** 2 + x[:, 1]
    model = MLPEnsemble(n_members=5, hidden=(32, 32), epochs=600, lr=1e-2, seed=0, bootstrap=True).fit(x, y)
    mean, std_in = model.predict(x)
    assert np.corrcoef(mean, y)[0, 1] > 0.98
    _, std_out = model.predict(np.full((20, 2), 4.0, dtype=np.float32))
    assert std_out.mean() > 3 * std_in.mean()
    assert model.predict_members(x).shape == (5, 200)


def test_mc_dropout_student_tracks_teacher_spread() -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=(100, 2)).astype(np.float32)
    teacher = MCDropoutTeacher(epochs=300, n_samples=30, seed=0).fit(x, x[:, 0] + x[:, 1])
    probe = rng.uniform(-3, 3, size=(300, 2)).astype(np.float32)
    _, xi = teacher.predict(probe)
    assert np.all(xi > 0)
    student = StudentNetwork(epochs=800, lr=1e-2, seed=0).fit(probe, xi)
    xi_hat, _ = student.predict(probe)
    assert np.corrcoef(xi_hat, xi)[0, 1] > 0.8


def test_gp_predict_and_logei_match_botorch() -> None:
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, size=(40, 3))
    y = np.sin(3 * x[:, 0]) + x[:, 1] * x[:, 2] + 0.05 * rng.standard_normal(40)
    gp = GPSurrogate(seed=0).fit(x, y)
    probe = rng.uniform(-1, 1, size=(200, 3))
    mean, std = gp.predict(probe)
    with torch.no_grad():
        posterior = gp.model_.posterior(torch.from_numpy(probe))
    np.testing.assert_allclose(mean, posterior.mean.squeeze(-1).numpy(), atol=1e-5)
    np.testing.assert_allclose(std, posterior.variance.sqrt().squeeze(-1).numpy(), atol=1e-5)
    best = float(y.max())
    with torch.no_grad():
        reference = LogExpectedImprovement(gp.model_, best_f=best)(torch.from_numpy(probe).unsqueeze(1)).numpy()
    np.testing.assert_allclose(log_expected_improvement(mean, std, best), reference, rtol=1e-4, atol=1e-4)


def test_bad_inputs_are_named() -> None:
    with pytest.raises(ValueError, match="y: has 3 values for 2 rows"):
        NPNRegressor(epochs=1).fit(np.zeros((2, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="X: expected a non-empty 2-D array"):
        MLPEnsemble(epochs=1).fit(np.zeros(4), np.zeros(4))
    with pytest.raises(NotFittedError, match="not fitted"):
        NPNRegressor().predict(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="n_members"):
        MLPEnsemble(n_members=1).fit(np.zeros((4, 2)), np.zeros(4))  # validated in fit, as scikit-learn does


def all_surrogates() -> list:
    return [
        NPNRegressor(epochs=5),
        MCDropoutTeacher(epochs=5),
        StudentNetwork(epochs=5),
        MLPRegressor(epochs=5),
        MLPEnsemble(n_members=3, epochs=5, bootstrap=True),
        GPSurrogate(maxiter=5),
    ]


def _same(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> None:
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize("model", all_surrogates(), ids=lambda m: type(m).__name__)
def test_clone_and_refit_reproduce_the_same_model(model) -> None:
    x, y = heteroscedastic_data(40)
    copy = clone(model)
    assert copy.get_params() == model.get_params() and not hasattr(copy, "n_features_in_")
    first = copy.fit(x, y).predict(x)
    _same(first, clone(model).fit(x, y).predict(x))  # same seed, same data: the same model
    cold = clone(model).set_params(warm_start=False) if "warm_start" in model.get_params() else clone(model)
    cold.fit(x, y)
    _same(cold.predict(x), cold.fit(x, y).predict(x))  # refitting the same instance starts over
    if not isinstance(model, GPSurrogate):  # the GP's marginal-likelihood fit draws nothing
        assert not np.array_equal(first[0], clone(model).set_params(seed=1).fit(x, y).predict(x)[0])


@pytest.mark.parametrize("model", all_surrogates(), ids=lambda m: type(m).__name__)
def test_predict_is_pure_and_does_not_change_the_next_fit(model) -> None:
    x, y = heteroscedastic_data(40)
    a, b = clone(model).fit(x, y), clone(model).fit(x, y)
    _same(a.predict(x), a.predict(x))
    for _ in range(3):
        a.predict(x[:7])  # b predicts nothing in between
    _same(a.fit(x[:30], y[:30]).predict(x), b.fit(x[:30], y[:30]).predict(x))  # warm or cold, the same


SKLEARN_CHECKS = [  # scikit-learn's own estimator checks that apply to fit(X, y) / predict(X) -> (mean, std)
    "check_estimator_cloneable",
    "check_estimator_repr",
    "check_no_attributes_set_in_init",
    "check_parameters_default_constructible",
    "check_get_params_invariance",
    "check_set_params",
    "check_dont_overwrite_parameters",
    "check_estimators_overwrite_params",
    "check_estimators_fit_returns_self",
    "check_estimators_unfitted",
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_n_features_in",
    "check_estimators_dtypes",
    "check_estimators_nan_inf",
    "check_estimators_pickle",
    "check_dict_unchanged",
    "check_fit2d_1sample",
    "check_fit2d_1feature",
    "check_methods_subset_invariance",
]


@pytest.mark.parametrize("model", all_surrogates(), ids=lambda m: type(m).__name__)
def test_scikit_learn_estimator_checks(model) -> None:
    from sklearn.utils import estimator_checks

    for name in SKLEARN_CHECKS:
        if name == "check_methods_subset_invariance" and isinstance(model, MCDropoutTeacher):
            continue  # dropout masks are drawn per batch: a subset gets other masks
        getattr(estimator_checks, name)(type(model).__name__, clone(model))


@pytest.mark.parametrize("cls", [NPNRegressor, MCDropoutTeacher, StudentNetwork, MLPRegressor, MLPEnsemble])
def test_state_round_trip_rebuilds_the_fitted_estimator(cls) -> None:
    x, y = heteroscedastic_data(40)
    model = cls(epochs=10, hidden=(8, 4)).fit(x, y)
    tensors, metadata = model.get_state()
    assert all(isinstance(v, str) for v in metadata.values())
    _same(cls.from_state(tensors, metadata).predict(x), model.predict(x))
