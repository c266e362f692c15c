"""Every Python example of docs/interop.md runs as written (from the repository root)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

pytest.importorskip("syne_tune")
pytest.importorskip("ConfigSpace")

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "interop.md").read_text(), flags=re.S)


def test_the_doc_has_one_example_per_library() -> None:
    text = "\n".join(BLOCKS)
    for name in ("to_configspace", "syne_tune", "optuna_study", "table_front", "run_scheduler"):
        assert name in text


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_example_runs(index: int, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # examples that write runs/ write them here
    monkeypatch.setenv("SYNETUNE_FOLDER", str(tmp_path / "syne-tune"))
    monkeypatch.setenv("FLEXIBENCH_TABLE", os.environ.get("FLEXIBENCH_TABLE", str(ROOT / "data" / "flexibench.h5")))
    exec(compile(BLOCKS[index], f"docs/interop.md example {index}", "exec"), {})
