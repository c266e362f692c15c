"""The long fidelity's budget projection (data/sweeps/v2_small/budget_projection.py) on curves whose future is known.

The projection is what the budget decision rests on while the pilot's stages fail, so its pieces are
checked against exact answers: a noiseless power law is recovered, the projected tau_half of two
crossing power laws matches where they cross, the backtest of an exact family is exact, and the cost
adds up the runs the anchor set needs.
"""

from __future__ import annotations

import numpy as np
import pytest

STEPS = range(500, 10001, 250)


@pytest.fixture(scope="module")
def projection(sweep_script):
    return sweep_script("budget_projection")


def curve(projection, a: float, b: float, c: float) -> dict[int, float]:
    return {t: float(projection.power_law(t, a, b, c)) for t in STEPS}


def test_a_noiseless_power_law_is_recovered(projection):
    fitted = projection.fit_curve(curve(projection, 2.5, 2.0, 0.6), 3000, 10000)
    assert fitted == pytest.approx((2.5, 2.0, 0.6), rel=1e-4)


def test_too_few_checkpoints_in_the_window_is_an_error_that_names_the_window(projection):
    with pytest.raises(ValueError, match=r"\[9000, 9500\]"):
        projection.fit_curve(curve(projection, 2.5, 2.0, 0.6), 9000, 9500)


def test_projected_tau_half_sees_a_crossing_beyond_the_measured_steps(projection):
    # "slow" leads early and learns slower; "fast" passes it at step 20,000 exactly (both at 3.0 nats there)
    fast, slow = (2.0, 20.0, 1.0), (2.5, 0.5 * np.sqrt(20.0), 0.5)
    assert projection.power_law(20000, *fast) == pytest.approx(3.0)
    assert projection.power_law(20000, *slow) == pytest.approx(3.0)
    others = {f"c{i}": curve(projection, 7.0 + i, 1.0, 0.5) for i in range(3)}  # behind both from step 5,000 on
    curves = {"fast": curve(projection, *fast), "slow": curve(projection, *slow), **others}
    taus = projection.projection(curves, [3000, 4000], 10000, [10000, 30000, 50000])
    one_swap = 1 - 2 * 1 / 10  # one of the ten pairs reversed
    assert taus[10000] == [pytest.approx(1.0)] * 2  # measured: no crossing by 10,000
    assert taus[30000] == [pytest.approx(one_swap)] * 2  # 15,000 before the crossing, 30,000 after it
    assert taus[50000] == [pytest.approx(1.0)] * 2  # 25,000 and 50,000 both after it


def test_the_backtest_of_exact_power_laws_forecasts_exactly(projection):
    curves = {f"c{i}": curve(projection, 2.0 + 0.3 * i, 3.0 - 0.4 * i, 0.4 + 0.1 * i) for i in range(5)}
    rmse, forecast, measured = projection.backtest(curves, 3000, 7000, 10000)
    assert rmse < 1e-5
    assert forecast == pytest.approx(measured)


def test_the_anchor_set_cost_runs_the_pilot_twice_and_every_run_from_scratch(projection):
    per_step = {"p1": 0.2, "p2": 0.3, "o1": 0.5}
    cost = projection.anchor_cost(["p1", "p2"], ["o1"], per_step, budget=20000)
    assert cost == pytest.approx(2 * 0.5 * 20000 + 0.5 * 20000)


def test_the_ranking_forecast_sees_a_crossing_that_the_checkpoint_misses(projection):
    # "fast" is behind "slow" at 10,000 and ahead at 30,000: the exact curves' forecast knows, the checkpoint not
    fast, slow = (2.0, 20.0, 1.0), (2.5, 0.5 * np.sqrt(20.0), 0.5)
    steps = range(500, 30001, 250)
    curves = {
        name: {t: float(projection.power_law(t, *p)) for t in steps} for name, p in (("fast", fast), ("slow", slow))
    }
    curves["c"] = {t: float(projection.power_law(t, 7.0, 1.0, 0.5)) for t in steps}  # behind both throughout
    checkpoint, forecast = projection.ranking_forecast(curves, 3000, 10000, 30000)
    assert checkpoint == pytest.approx(1 / 3)  # one of three pairs reversed between 10,000 and 30,000
    assert forecast == pytest.approx(1.0)
