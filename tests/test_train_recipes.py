"""Recipes load from YAML, carry the paper's Appendix B.2 values and reject typos."""

from __future__ import annotations

import pytest
from test_train_fixtures import tiny_recipe

from flexibench.core.errors import DataError
from flexibench.core.recipes import BUILTIN, Recipe, load_recipe


def test_builtin_recipes_load_and_round_trip() -> None:
    for name in BUILTIN:
        recipe = load_recipe(name)
        assert recipe.name == name and set(recipe.scored) <= set(recipe.runs)
        assert Recipe.from_dict(recipe.to_dict()) == recipe


def test_paper_recipe_is_appendix_b2() -> None:
    r = load_recipe("paper")
    p = r.pretrain
    assert (p.batch_size, p.lr, p.warmup_steps, p.steps) == (256, 1e-5, 10_000, 1_000_000)
    assert (p.weight_decay, p.betas, p.eps) == (0.01, (0.9, 0.98), 1e-6)
    f = r.finetune
    assert f.epochs == 5 and f.patience >= 1
    assert (f.hpo.lr_min, f.hpo.lr_max, f.hpo.batch_sizes) == (2e-5, 5e-4, (32, 64, 128))
    assert set(r.scored) == {"CoLA", "SST-2", "MRPC", "STS-B", "QQP", "MNLI", "QNLI", "RTE"}


def test_bad_recipes_are_named_errors(tmp_path) -> None:
    with pytest.raises(DataError, match="unknown key"):
        Recipe.from_dict({**tiny_recipe(), "pretrian": {}})
    with pytest.raises(DataError, match="recipe.pretrain: unknown key"):
        Recipe.from_dict({**tiny_recipe(), "pretrain": {"stepz": 1}})
    with pytest.raises(DataError, match="are not run"):
        Recipe.from_dict({**tiny_recipe(), "scored": ["CoLA"]})
    with pytest.raises(DataError, match="unknown task"):
        Recipe.from_dict({**tiny_recipe(), "tasks": {"XYZ": {}}, "scored": ["XYZ"]})
    with pytest.raises(DataError, match="neither a built-in"):
        load_recipe("no-such-recipe")
    path = tmp_path / "r.yaml"
    path.write_text("name: from-file\ntasks: {SST-2: {}}\n")
    assert load_recipe(str(path)).scored == ("SST-2",)


def test_a_recipe_must_run_some_task() -> None:
    with pytest.raises(DataError, match="runs no task"):
        Recipe.from_dict({**tiny_recipe(), "tasks": {}, "scored": []})
    pretrain_only = Recipe.from_dict({**tiny_recipe(heldout_blocks=4), "tasks": {}, "scored": []})
    assert pretrain_only.runs == pretrain_only.scored == ("MLM",)


def test_recipe_refuses_text_where_a_number_belongs():
    """YAML reads ``1e-3`` as the string '1e-3'; a recipe must refuse it, not train with a string rate."""
    with pytest.raises(DataError, match=r"pretrain\.lr: expected a number.*1\.0e-3"):
        load_recipe({"name": "x", "pretrain": {"lr": "1e-3", "heldout_blocks": 4}})
    with pytest.raises(DataError, match=r"pretrain\.steps: expected an integer"):
        load_recipe({"name": "x", "pretrain": {"steps": 2.5, "heldout_blocks": 4}})


def test_recipe_precision_is_checked_and_defaults_to_fp32():
    assert load_recipe("nano").pretrain.precision == "fp32"
    bf16 = load_recipe({"name": "x", "pretrain": {"precision": "bf16", "heldout_blocks": 4}})
    assert bf16.pretrain.precision == "bf16"
    with pytest.raises(DataError, match="precision"):
        load_recipe({"name": "x", "pretrain": {"precision": "fp16", "heldout_blocks": 4}})
    with pytest.raises(DataError, match="finetune.precision"):
        load_recipe({"name": "x", "finetune": {"precision": "fp16"}, "pretrain": {"heldout_blocks": 4}})


def test_settings_added_later_leave_the_recipe_form_unchanged_at_their_old_default():
    """A recipe's dict (kept in records, hashed into training-state fingerprints) does not grow with the schema."""
    for name in ("nano", "micro", "paper"):
        recipe = load_recipe(name)
        data = recipe.to_dict()
        if name == "micro":  # bf16 by choice: its settings are written out
            assert data["pretrain"]["precision"] == data["finetune"]["precision"] == "bf16"
        else:
            assert "precision" not in data["pretrain"] and "precision" not in data["finetune"]
        assert load_recipe(data) == recipe
    mixed = load_recipe({"name": "x", "pretrain": {"precision": "bf16", "heldout_blocks": 4}})
    assert mixed.to_dict()["pretrain"]["precision"] == "bf16" and "precision" not in mixed.to_dict()["finetune"]
    assert load_recipe(mixed.to_dict()) == mixed
