"""Every algorithm keeps one colour across figures, and no two fixed algorithms share one."""

from __future__ import annotations

from matplotlib.colors import to_rgb

from flexibench.search.palette import _SPARE, COLOURS, colour
from flexibench.search.registry import OPTIMIZERS


def test_every_registered_algorithm_has_its_own_fixed_colour() -> None:
    assert set(OPTIMIZERS) <= set(COLOURS)
    rgb = [to_rgb(c) for c in COLOURS.values()]
    assert len(set(rgb)) == len(rgb)


def test_unknown_names_get_a_stable_spare_that_no_fixed_algorithm_uses() -> None:
    fixed = {to_rgb(c) for c in COLOURS.values()}
    assert not fixed & {to_rgb(c) for c in _SPARE}
    assert colour("my-new-method") == colour("my-new-method")
    assert colour("my-new-method") in _SPARE
    assert colour("boshnas") == COLOURS["boshnas"]
