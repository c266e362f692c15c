"""Alignment upper bound and bound-agreement certificates vs the exact MILP."""

from __future__ import annotations

import random

from flexibench.core import DesignSpace, ModelCard
from flexibench.library.bounds import alignment_upper_bound_x10, certified_exact_x10
from flexibench.library.ged import edit_path_cost_x10, ged_lower_bound_x10, ged_x10


def card(o, h, n, f, p) -> ModelCard:
    return ModelCard.from_dict({"l": len(o), "o": o, "h": h, "n": n, "f": f, "p": p})


def test_stack_swap_is_found_but_not_certified():
    """[SA,SA,LT,LT] vs [LT,LT,SA,SA]: layer matching in any order finds the optimum (1.4); bound is 0."""
    a = card(["SA"] * 2 + ["LT"] * 2, [128] * 4, [2] * 4, [[512]] * 4, ["SDP"] * 2 + ["DFT"] * 2)
    b = card(["LT"] * 2 + ["SA"] * 2, [128] * 4, [2] * 4, [[512]] * 4, ["DFT"] * 2 + ["SDP"] * 2)
    value, mapping = alignment_upper_bound_x10(a, b)
    assert value == 14 == edit_path_cost_x10(a, b, mapping)
    assert ged_lower_bound_x10(a, b) == 0 and certified_exact_x10(a, b) is None


def test_certificate_on_a_node_only_difference():
    tiny, fnet = ModelCard.named("bert-tiny"), ModelCard.named("fnet-tiny")
    assert certified_exact_x10(tiny, fnet) == 200 == ged_x10(tiny, fnet)
    assert certified_exact_x10(tiny, tiny) == 0


def test_bounds_bracket_the_exact_value_on_random_pairs():
    space, rng = DesignSpace.default(), random.Random(5)
    for _ in range(2):
        a, b = space.sample(rng, 1), space.sample(rng, 1)
        exact = ged_x10(a, b)
        upper, mapping = alignment_upper_bound_x10(a, b)
        assert ged_lower_bound_x10(a, b) <= exact <= upper == edit_path_cost_x10(a, b, mapping)
        plain, _ = alignment_upper_bound_x10(a, b, descent=False)
        assert upper <= plain
        certified = certified_exact_x10(a, b)
        assert certified is None or certified == exact
    # mixed depths: a two-layer card against a four-layer one
    a, b = space.sample(random.Random(2), 1), ModelCard.named("bert-tiny")
    upper, mapping = alignment_upper_bound_x10(b, a)
    assert ged_x10(a, b) <= upper == edit_path_cost_x10(b, a, mapping)
