"""The long fidelity's budget gate (data/sweeps/v2_small/pilot_report.py): criteria, swapped pairs, family order.

``run_anchors.sh`` refuses to start the anchor set unless ``criteria`` passes, so the gate is checked
here on synthetic curves whose answers are known, and the swap count against scipy's Kendall tau.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import kendalltau

from flexibench.bench.noise import budget_agreement


@pytest.fixture(scope="module")
def pilot_report(sweep_script):
    return sweep_script("pilot_report")


NAMES = [f"{family}-{size}" for family in ("bert", "convbert", "fnet") for size in ("mini", "2-256", "4-128", "tiny")]
BUDGETS = [1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000]


def curves(final: dict[str, float], half_order: list[str] | None = None) -> dict[str, dict[int, float]]:
    """Falling curves ending at ``final``; at half of 8,000 the cards rank as ``half_order`` (default: as at 8,000).

    Every card sits at 6.5 at step 1,000 (BERT's plateau), falls linearly to its step-4,000 loss, then to
    its final loss.
    """
    half_order = half_order or sorted(final, key=final.get)
    at_half = {name: 4.0 + 0.05 * rank for rank, name in enumerate(half_order)}
    out = {}
    for name in final:
        points = {1000: 6.5, 4000: at_half[name], 8000: final[name]}
        xs = sorted(points)
        out[name] = {b: float(np.interp(b, xs, [points[x] for x in xs])) for b in BUDGETS}
    return out


def agreement_of(losses: dict[str, dict[int, float]]):
    scores = np.array([[-losses[n][b] for b in BUDGETS] for n in losses])
    return budget_agreement(scores, BUDGETS)


def settled_final() -> dict[str, float]:
    return {name: 3.0 + 0.04 * i for i, name in enumerate(NAMES)}  # bert-mini lowest, fnet-tiny highest


def test_a_settled_budget_passes_every_criterion(pilot_report):
    losses = curves(settled_final())
    checks = pilot_report.criteria(losses, agreement_of(losses), 8000)
    assert all(ok for _, ok in checks), checks
    assert pilot_report.swapped_pairs(losses, 8000) == []


def test_a_moving_ranking_fails_tau_half_and_the_swaps_give_kendall_tau(pilot_report):
    final = settled_final()
    half = sorted(final, key=final.get)
    half = half[3:] + half[:3]  # the three best at the budget were the last three at half of it
    losses = curves(final, half)
    checks = dict(pilot_report.criteria(losses, agreement_of(losses), 8000))
    assert [ok for text, ok in checks.items() if text.startswith("tau_half")] == [False]
    swaps = pilot_report.swapped_pairs(losses, 8000)
    assert len(swaps) == 3 * 9  # each of the three moved cards passes the nine others
    pairs = math.comb(len(final), 2)
    tau = kendalltau([losses[n][4000] for n in NAMES], [losses[n][8000] for n in NAMES]).statistic
    assert tau == pytest.approx(1 - 2 * len(swaps) / pairs)
    assert all(row.startswith("| bert-") for row in swaps)  # the card ahead at the budget comes first


def test_bert_on_its_plateau_or_below_bert_tiny_fails(pilot_report):
    losses = curves(settled_final())
    losses["bert-mini"] = {b: 6.5 - 0.1 * (b / 8000) for b in BUDGETS}  # never leaves the plateau
    checks = pilot_report.criteria(losses, agreement_of(losses), 8000)
    failed = [text for text, ok in checks if not ok]
    assert any("nats under step 1000" in t for t in failed)
    assert any(t.startswith("bert-mini below bert-tiny") for t in failed)


def test_fewer_than_twelve_cards_fail(pilot_report):
    losses = curves(settled_final())
    del losses["fnet-tiny"]
    checks = pilot_report.criteria(losses, agreement_of(losses), 8000)
    assert not checks[0][1]


def test_family_order_marks_fnet_ahead_of_bert(pilot_report):
    final = settled_final()
    final["fnet-tiny"] = final["bert-tiny"] - 0.01
    rows = pilot_report.family_order(curves(final), [8000])
    by_size = dict(zip(pilot_report.SIZES, rows))
    assert by_size["tiny"] == "| tiny | F < B < C (FNet ahead) |"
    assert by_size["mini"] == "| mini | B < C < F |"


def test_known_orders_hold_on_a_settled_pilot_and_name_the_pair_that_breaks(pilot_report):
    final = settled_final()
    assert all(ok for _, ok in pilot_report.known_orders(curves(final), 8000))
    final["bert-tiny"] = 3.50  # behind FNet-Tiny (3.44), still the highest BERT
    failed = [text for text, ok in pilot_report.known_orders(curves(final), 8000) if not ok]
    assert failed == ["BERT-tiny below FNet-tiny at 8000 (3.50 < 3.44)"]
    final["convbert-4-128"] = 3.10  # under ConvBERT-Mini (3.16): the family's size order breaks
    failed = [text for text, ok in pilot_report.known_orders(curves(final), 8000) if not ok]
    assert len(failed) == 2 and failed[1].startswith("convbert: mini lowest, tiny highest")


def test_seed_agreement_is_kendall_tau_between_seeds_on_common_checkpoints(pilot_report):
    first = curves(settled_final())
    rng = np.random.default_rng(0)
    second = {n: {b: v + rng.normal(0, 0.05) for b, v in c.items() if b <= 6000} for n, c in first.items()}
    second["bert-mini"].pop(3000)  # a checkpoint one card lacks is compared over the others
    rows = pilot_report.seed_agreement(first, second, every=1000)
    assert [t for t, *_ in rows] == [1000, 2000, 3000, 4000, 5000, 6000]  # 7000, 8000: the second seed stops at 6000
    for t, n, tau, diff in rows:
        both = [k for k in NAMES if t in second[k]]
        assert n == len(both) == (11 if t == 3000 else 12)
        expected = kendalltau([first[k][t] for k in both], [second[k][t] for k in both]).statistic
        assert tau == pytest.approx(expected, nan_ok=True)
        assert diff == pytest.approx(np.mean([abs(first[k][t] - second[k][t]) for k in both]))
    assert rows[-1][2] > 0.5 and math.isnan(rows[0][2])  # at 1,000 the first seed ties every card at 6.5
    same = pilot_report.seed_agreement(first, first)
    assert all(tau == pytest.approx(1.0) and diff == 0 for t, _, tau, diff in same if t > 1000)
    assert pilot_report.seed_agreement(first, {"bert-mini": first["bert-mini"], "bert-tiny": first["bert-tiny"]}) == []


def test_family_agreement_finds_the_one_family_that_moves_the_ranking(pilot_report):
    # the BERT cards start last and end first; every other order (within families, among the rest) holds
    final = settled_final()
    half_order = [n for n in NAMES if not n.startswith("bert")] + [n for n in NAMES if n.startswith("bert")]
    losses = curves(final, half_order)
    scores = np.array([[-losses[n][b] for b in BUDGETS] for n in NAMES])
    rows = {
        row.split(" | ")[0].lstrip("| "): row for row in pilot_report.family_agreement(NAMES, scores, BUDGETS, [8000])
    }
    cell = {label: float(row.rstrip(" |").split(" | ")[-1]) for label, row in rows.items()}
    expected_all = kendalltau([losses[n][4000] for n in NAMES], [losses[n][8000] for n in NAMES]).statistic
    assert cell["all cards"] == pytest.approx(expected_all, abs=0.005) and cell["all cards"] < 0.5
    assert cell["without bert"] == 1.0 and cell["bert only"] == 1.0
    assert cell["without convbert"] < 1.0 and cell["without fnet"] < 1.0
    assert rows["without bert"].split(" | ")[1] == "8"  # the row says how many cards it ranks
