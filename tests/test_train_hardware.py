"""bf16 recipes on a CPU without native bfloat16 are refused up front, with a message that names the problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from test_train_fixtures import data_dir, tiny_recipe  # noqa: F401 - pytest fixture

from flexibench.cli import main
from flexibench.core.errors import DataError
from flexibench.core.recipes import load_recipe
from flexibench.models import hardware
from flexibench.train.evaluate import emulated_precision, evaluate
from flexibench.train.sweep import run_sweep


def cpu_flags() -> set[str]:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


@pytest.mark.skipif(not Path("/proc/cpuinfo").exists(), reason="needs /proc/cpuinfo")
def test_native_bf16_agrees_with_the_kernels_cpu_flags() -> None:
    flags = cpu_flags()
    assert hardware.native_bf16(torch.device("cpu")) == bool({"avx512_bf16", "amx_bf16"} & flags)
    model_names = [line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")]
    assert not model_names or hardware.cpu_model() in model_names[0]


@pytest.fixture
def without_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process's CPU as one without AVX512-BF16 or AMX (the AMD EPYC case), whatever it really is."""
    monkeypatch.setattr(hardware, "native_bf16", lambda device: device.type != "cpu")


def bf16_recipe(tmp_path: Path, fine_tune: bool = True) -> Path:
    import yaml

    recipe = tiny_recipe("tiny-bf16", precision="bf16")
    recipe["finetune"]["precision"] = "bf16"
    if not fine_tune:
        recipe.update(tasks={}, scored=["MLM"])
        recipe["pretrain"].update(precision="fp32", heldout_blocks=4)
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def test_the_problem_names_the_stages_the_cpu_and_the_way_out(tmp_path, without_bf16) -> None:
    problem = emulated_precision(load_recipe(bf16_recipe(tmp_path)), "cpu")
    assert problem and "pretraining and fine-tuning in bf16" in problem and hardware.cpu_model() in problem
    assert "--allow-emulated-bf16" in problem
    # a bf16 fine-tuning setting in a recipe that fine-tunes nothing runs nothing in bf16
    assert emulated_precision(load_recipe(bf16_recipe(tmp_path, fine_tune=False)), "cpu") is None
    assert emulated_precision(load_recipe("nano"), "cpu") is None  # fp32


def test_a_sweep_refuses_before_writing_and_runs_when_allowed(data_dir, tmp_path, without_bf16, capsys) -> None:  # noqa: F811
    out = tmp_path / "shards"
    args = ["sweep", "--named", "--limit", "1", "--recipe", str(bf16_recipe(tmp_path)), "--data", str(data_dir)]
    assert main([*args, "--out", str(out), "--no-progress"]) == 2
    assert "has no native bfloat16" in capsys.readouterr().err
    assert not out.exists()  # nothing written, so nothing to clean up or to be skipped on a rerun
    with pytest.raises(DataError, match="no native bfloat16"):
        next(run_sweep(["bert-tiny"], load_recipe(bf16_recipe(tmp_path)), [0], out, data_dir=str(data_dir)))
    assert main([*args, "--out", str(out), "--no-progress", "--allow-emulated-bf16"]) == 0
    assert len(list(out.glob("*.jsonl"))) == 1


def test_train_refuses_and_evaluate_warns(data_dir, tmp_path, without_bf16, capsys) -> None:  # noqa: F811
    recipe = bf16_recipe(tmp_path)
    assert main(["train", "bert-tiny", "--recipe", str(recipe), "--data", str(data_dir), "--device", "cpu"]) == 2
    assert "has no native bfloat16" in capsys.readouterr().err
    with pytest.warns(RuntimeWarning, match="no native bfloat16"):
        record = evaluate("bert-tiny", load_recipe(recipe), 0, data_dir=data_dir, device="cpu")
    assert record.status == "ok" and hardware.cpu_model() in record.machine
