"""GED under the paper's cost model: exact MILP vs networkx, lower bound, all-pairs table."""

from __future__ import annotations

import random
import signal

import numpy as np
import pytest
from scipy.spatial.distance import squareform

from flexibench.core import DesignSpace, ModelCard, card_graph
from flexibench.core.errors import CardError
from flexibench.library.all_pairs import condensed_index, condensed_lower_bound, row
from flexibench.library.costs import CostModel
from flexibench.library.ged import edit_path_cost_x10, ged, ged_exact_mapping, ged_lower_bound_x10, ged_x10
from flexibench.library.reference import (
    CpuBudgetExceeded,
    cpu_budget,
    networkx_check,
    networkx_ged,
    networkx_pair,
    spine_first,
)

PAPER_ORDER = [
    "input", "output", "add_norm", "", "f512", "f1024", "",
    "lt_h128_dft", "lt_h128_dct", "lt_h256_dft", "lt_h256_dct", "",
    "sa_h128_sdp", "sa_h128_wma", "sa_h256_sdp", "sa_h256_wma", "",
    "dsc_h128_k5", "dsc_h128_k9", "dsc_h256_k5", "dsc_h256_k9",
]  # fmt: skip


def card(o, h, n, f, p) -> ModelCard:
    return ModelCard.from_dict({"l": len(o), "o": o, "h": h, "n": n, "f": f, "p": p})


def shape(c: ModelCard) -> tuple:
    return tuple((c.n[j], len(c.f[j])) for j in range(c.l))


def test_default_order_is_the_authors():
    assert list(CostModel.default().order) == PAPER_ORDER
    assert CostModel.default().index("input") == 0
    assert CostModel.default().index("dsc_h256_k9") == 20


def test_order_extends_to_larger_spaces():
    space = DesignSpace.from_dict(
        {
            "layers": [2],
            "operations": {"SA": ["SDP"], "LT": ["DFT"], "DSC": [5, 13]},
            "heads": [2],
            "hidden": [128, 512],
            "ff_widths": [512],
            "ff_depths": [1],
        }
    )
    order = CostModel.from_space(space).order
    assert order[:6] == ("input", "output", "add_norm", "", "f512", "")
    assert order[6:] == (
        "lt_h128_dft", "lt_h512_dft", "", "sa_h128_sdp", "sa_h512_sdp", "",
        "dsc_h128_k5", "dsc_h128_k13", "dsc_h512_k5", "dsc_h512_k13",
    )  # fmt: skip
    with pytest.raises(CardError, match="block"):
        CostModel.from_space(space).index("sa_h256_wma")


def test_known_values():
    tiny, fnet = ModelCard.named("bert-tiny"), ModelCard.named("fnet-tiny")
    # same graph shape: 4 heads substituted sa_h128_sdp (12) -> lt_h128_dft (7)
    assert ged(tiny, fnet) == 20.0
    assert ged_x10(tiny, tiny) == 0
    assert ged_x10(tiny, fnet) == ged_x10(fnet, tiny)


def test_same_shape_pairs_equal_networkx():
    """networkx is exact and fast on equal-shape pairs: compare on a fixed random sample."""
    space, rng = DesignSpace.default(), random.Random(3)
    n_two = len(space.layer_choices(2)) ** 2  # two-layer cards come first in level-2 index order
    sampled = (space.card_at(2, rng.randrange(n_two)) for _ in range(3000))
    cards = [c for c in sampled if len(card_graph(c).labels) <= 16]
    by_shape: dict[tuple, list[ModelCard]] = {}
    for c in cards:
        by_shape.setdefault(shape(c), []).append(c)
    pairs = [(group[k], group[k + 1]) for group in by_shape.values() for k in range(0, len(group) - 1, 2)]
    assert len(pairs) >= 8
    cm = CostModel.default()
    for a, b in rng.sample(pairs, 5):
        assert ged_x10(a, b) == round(10 * networkx_ged(a, b, cm))


def test_small_differing_pair_equals_networkx():
    a = card(["SA", "LT"], [128, 128], [2, 2], [[512], [512]], ["SDP", "DFT"])
    b = card(["LT", "SA"], [128, 128], [2, 2], [[512], [1024]], ["DFT", "SDP"])
    assert ged_x10(a, b) == round(10 * networkx_ged(a, b))


def test_permuted_stacks_beat_monotone_alignment():
    """[SA,SA,LT,LT] vs [LT,LT,SA,SA]: the optimum swaps the two stacks (1.4), no in-order alignment does."""
    a = card(["SA"] * 2 + ["LT"] * 2, [128] * 4, [2] * 4, [[512]] * 4, ["SDP"] * 2 + ["DFT"] * 2)
    b = card(["LT"] * 2 + ["SA"] * 2, [128] * 4, [2] * 4, [[512]] * 4, ["DFT"] * 2 + ["SDP"] * 2)
    value, mapping = ged_exact_mapping(a, b)
    assert value == 14 == edit_path_cost_x10(a, b, mapping)
    # the best in-order mapping keeps every spine and FF node in place and moves heads across layers
    ga, gb = card_graph(a), card_graph(b)
    in_order = {u: u for u, label in enumerate(ga.labels) if not label.startswith(("sa", "lt"))}
    heads_a = {lab: [u for u, x in enumerate(ga.labels) if x == lab] for lab in ("sa_h128_sdp", "lt_h128_dft")}
    heads_b = {lab: [v for v, x in enumerate(gb.labels) if x == lab] for lab in heads_a}
    for lab in heads_a:
        in_order.update(zip(heads_a[lab], heads_b[lab]))
    assert edit_path_cost_x10(a, b, in_order) == 32


def test_lower_bound_is_a_bound_and_exact_on_node_only_differences():
    space, rng = DesignSpace.default(), random.Random(11)
    for _ in range(3):
        a, b = space.sample(rng, 1), space.sample(rng, 1)
        assert ged_lower_bound_x10(a, b) <= ged_x10(a, b)
    tiny, fnet = ModelCard.named("bert-tiny"), ModelCard.named("fnet-tiny")
    assert ged_lower_bound_x10(tiny, fnet) == ged_x10(tiny, fnet)


def test_condensed_table_matches_pairwise_bound_in_squareform_order():
    cards = list(DesignSpace.default().enumerate(1))[::97][:60]
    table = condensed_lower_bound(cards)
    assert table.dtype == np.uint16 and len(table) == 60 * 59 // 2
    full = squareform(table)
    rng = random.Random(0)
    for _ in range(40):
        i, j = rng.randrange(60), rng.randrange(60)
        expected = 0 if i == j else ged_lower_bound_x10(cards[i], cards[j])
        assert full[i, j] == expected
        if i != j:
            assert table[condensed_index(i, j, 60)] == expected
    assert (row(table, 5, 60) == full[5]).all()


def test_networkx_check_semantics_on_a_small_differing_pair():
    """networkx confirms our value, finds a cheaper path below a too-high claim, and refutes a too-low one."""
    a = card(["SA", "SA"], [128, 128], [2, 2], [[512], [512]], ["SDP", "SDP"])
    b = card(["SA", "SA"], [128, 128], [2, 4], [[512], [512]], ["SDP", "SDP"])
    value, mapping = ged_exact_mapping(a, b)
    assert value == 244  # two extra sa_h128_sdp heads (2 x 12) and their four edges
    check = networkx_check(a, b, value, mapping=mapping)
    assert check.certified and not check.contradicted
    too_high = networkx_check(a, b, value + 2, find_path=False)
    assert too_high.none_cheaper is False and too_high.cheaper_x10 == value and too_high.contradicted
    too_low = networkx_check(a, b, value - 2)
    assert too_low.none_cheaper is True and too_low.path_done and too_low.path_x10 is None
    assert too_low.contradicted and not too_low.certified


def test_cpu_budget_interrupts_and_restores():
    with pytest.raises(CpuBudgetExceeded):
        with cpu_budget(0.02):
            while True:
                sum(range(1000))
    with cpu_budget(None):
        pass
    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)


def test_spine_first_order_keeps_the_graph():
    g = card_graph(ModelCard.named("bert-tiny"))
    order = spine_first(g)
    assert sorted(order) == list(range(len(g.labels)))
    assert [g.labels[u] for u in order[:6]] == ["input"] + ["add_norm"] * 4 + ["output"]
    g1, g2 = networkx_pair(g, g)
    assert list(g1.nodes) == order and set(g1.edges) == set(g.edges)


@pytest.mark.slow
def test_two_layer_pairs_agree_with_networkx():
    """Part of benchmarks/bench_ged_networkx.py: the first 100 of its 300 pairs, networkx budget 30 + 5 CPU s.

    Every pair: our mapping re-prices to our value and networkx never contradicts it; same-shape
    pairs are always certified. Costs up to ~1 CPU-hour (differing-shape pairs whose budget runs out).
    """
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_ged_networkx import check_two_layer_pair, two_layer_pairs

    rows = [check_two_layer_pair(a, b, 30.0, 5.0) for a, b in two_layer_pairs(300, 0, 60)[:100]]
    assert sum(not r["same_shape"] for r in rows) >= 50
    for r in rows:
        assert r["mapping_repriced_x10"] == r["ours_x10"]
        assert not r["contradicted"]
        assert r["certified"] or not r["same_shape"]
