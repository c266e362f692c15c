"""ConfigSpace export: level-1 cards round-trip, ConfigSpace's own grid is level 1, bad configurations refused."""

from __future__ import annotations

import random

import pytest

from flexibench.core import DesignSpace, ModelCard
from flexibench.core.errors import CardError

CS = pytest.importorskip("ConfigSpace")
from ConfigSpace.util import generate_grid  # noqa: E402

from flexibench.interop.configspace import card_to_configuration, configuration_to_card, to_configspace  # noqa: E402

SPACE = DesignSpace.default()


@pytest.fixture(scope="module")
def level1():
    return to_configspace(SPACE, 1, seed=0)


def test_every_level1_card_round_trips_to_a_distinct_configuration(level1) -> None:
    cards = list(SPACE.enumerate(1))
    assert len(cards) == SPACE.count(1) == 9312
    seen = set()
    for card in cards:
        configuration = card_to_configuration(card, level1, SPACE, 1)
        configuration.check_valid_configuration()  # ConfigSpace accepts it (conditions, forbidden clauses)
        assert configuration_to_card(configuration, SPACE, 1, level1) == card
        seen.add(tuple(sorted(dict(configuration).items())))
    assert len(seen) == len(cards)


def test_configspace_own_grid_is_exactly_the_level1_cards(level1) -> None:
    """ConfigSpace enumerates the conditional space itself: its grid must be the design space's level 1, once each."""
    grid = generate_grid(level1)
    assert len(grid) == SPACE.count(1)
    assert {configuration_to_card(c, SPACE, 1, level1) for c in grid} == set(SPACE.enumerate(1))


def test_the_second_stack_is_conditional_on_four_layers(level1) -> None:
    two = card_to_configuration(SPACE.card_at(1, 0), level1, SPACE, 1)
    four = card_to_configuration(SPACE.card_at(1, SPACE.count(1) - 1), level1, SPACE, 1)
    assert not any(name.startswith("stack1_") for name in dict(two))
    assert {name for name in dict(four) if name.startswith("stack1_")} >= {"stack1_operation", "stack1_hidden"}
    assert sum(name.endswith(("param_sa", "param_lt", "param_dsc")) for name in dict(four)) == 2


@pytest.mark.parametrize("level", [2, 3])
def test_finer_levels_round_trip_per_layer(level: int) -> None:
    cs = to_configspace(SPACE, level, seed=1)
    rng = random.Random(level)
    cards = [SPACE.sample(rng, level) for _ in range(300)]
    cards += [m for c in cards[:5] for m in SPACE.mutations(c, level)]
    for card in cards:
        configuration = card_to_configuration(card, cs, SPACE, level)
        assert configuration_to_card(configuration, SPACE, level, cs) == card
    assert len({tuple(sorted(dict(card_to_configuration(c, cs, SPACE, level)).items())) for c in cards}) == len(
        set(cards)
    )
    for configuration in cs.sample_configuration(300):  # ConfigSpace's own sampler decides what is active
        card = configuration_to_card(configuration, SPACE, level, cs)
        assert SPACE.level_of(card) <= level
        assert dict(card_to_configuration(card, cs, SPACE, level)) == dict(configuration)


def test_level3_has_one_width_per_feed_forward_layer() -> None:
    cs = to_configspace(SPACE, 3)
    layers = {"l": 2, "o": ["SA", "LT"], "h": [128, 256], "n": [2, 4], "f": [[512, 1024, 512], [1024]]}
    card = SPACE.validate(ModelCard.from_dict({**layers, "p": ["SDP", "DCT"]}), 3)
    values = dict(card_to_configuration(card, cs, SPACE, 3))
    assert [values.get(f"layer0_ff_width{m}") for m in range(3)] == [512, 1024, 512]
    assert "layer1_ff_width1" not in values


def test_bad_configurations_are_refused_with_card_errors(level1) -> None:
    good = dict(card_to_configuration(SPACE.card_at(1, SPACE.count(1) - 1), level1, SPACE, 1))
    with pytest.raises(CardError, match="stack0_hidden: 512 is not allowed"):
        configuration_to_card({**good, "stack0_hidden": 512}, SPACE, 1)
    missing = {k: v for k, v in good.items() if k != "stack1_heads"}
    with pytest.raises(CardError, match="stack1_heads: <missing>"):
        configuration_to_card(missing, SPACE, 1)
    two = {k: v for k, v in good.items() if not k.startswith("stack1_")} | {"layers": 2}
    assert configuration_to_card(two, SPACE, 1).l == 2
    with pytest.raises(CardError, match="inactive unless layers"):
        configuration_to_card({**two, "stack1_hidden": 128}, SPACE, 1)
    with pytest.raises(CardError, match="hyperparameters of level 1"):
        configuration_to_card({**good, "dropout": 0.1}, SPACE, 1)
    heterogeneous = SPACE.card_at(2, SPACE.count(2) - 2)  # layers 0 and 1 differ: not a level-1 card
    with pytest.raises(CardError):
        card_to_configuration(heterogeneous, level1, SPACE, 1)


def test_heads_that_do_not_divide_the_hidden_size_are_forbidden() -> None:
    space = DesignSpace.from_dict(
        {
            "layers": [2],
            "operations": {"SA": ["SDP"]},
            "heads": [2, 3],
            "hidden": [128, 192],
            "ff_widths": [512],
            "ff_depths": [1],
        }
    )
    cs = to_configspace(space, 1)
    assert len(generate_grid(cs)) == space.count(1) == 3  # (128, 2), (192, 2), (192, 3)
    bad = {
        "layers": 2,
        "stack0_operation": "SA",
        "stack0_param_sa": "SDP",
        "stack0_hidden": 128,
        "stack0_heads": 3,
        "stack0_ff_depth": 1,
        "stack0_ff_width": 512,
    }
    with pytest.raises(CardError, match="a divisor of the hidden size"):
        configuration_to_card(bad, space, 1)
    with pytest.raises(ValueError):
        CS.Configuration(cs, values=bad).check_valid_configuration()
