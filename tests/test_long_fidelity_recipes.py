"""The long fidelity's recipe files share one pretraining trajectory, so no stage's CPU is spent twice.

Every pilot stage, the anchors' pretraining stage and ``small.yaml`` itself continue one another's
kept runs only while their pretraining differs in length alone (``pretraining_trajectory``); an edit
to one file's rate, warm-up, batch or precision would silently start every card from scratch. The
pretraining-only stages must also stay pretraining-only, and the stages' lengths must be what their
names say.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flexibench.core.recipes import load_recipe
from flexibench.train.evaluate import pretraining_trajectory

HERE = Path(__file__).resolve().parents[1] / "data" / "sweeps" / "v2_small"
STAGES = sorted(HERE.glob("small-*.yaml"))


def test_there_are_stages_to_check():
    names = {p.stem for p in STAGES}
    assert {"small-pilot", "small-pilot-12k", "small-anchors-12k"} <= names


@pytest.mark.parametrize("path", STAGES, ids=lambda p: p.stem)
def test_every_stage_continues_the_long_fidelity_trajectory(path):
    assert pretraining_trajectory(load_recipe(path)) == pretraining_trajectory(load_recipe(HERE / "small.yaml"))


@pytest.mark.parametrize("path", STAGES, ids=lambda p: p.stem)
def test_every_stage_is_pretraining_only_and_as_long_as_its_name_says(path):
    recipe = load_recipe(path)
    assert recipe.name == path.stem and not recipe.tasks and tuple(recipe.scored) == ("MLM",)
    if match := re.search(r"-(\d+)k$", path.stem):
        assert recipe.pretrain.steps == int(match.group(1)) * 1000
