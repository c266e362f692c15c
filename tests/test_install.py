"""The table as users install it: the wheel carries the data and answers from any folder."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

from flexibench import resources

ROOT = Path(__file__).resolve().parents[1]
# What a wheel is built from (the rest of the checkout, shards and results included, is not needed).
SOURCE_FILES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE")
SOURCE_PACKAGES = ("flexibench", "baselines")


def test_checkout_reads_its_own_data_folder() -> None:
    assert resources.data_dir() == ROOT / "data"
    assert resources.data_file("flexibench.h5").is_file()
    for name in resources.SHIPPED:
        assert (ROOT / "data" / name).exists(), name


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLEXIBENCH_", "PYTHON"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _copy_sources(target: Path) -> None:
    for name in SOURCE_FILES:
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, target / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "data")
    for package in SOURCE_PACKAGES:
        shutil.copytree(ROOT / package, target / package, ignore=ignore)
    for name in resources.SHIPPED:
        source, dest = ROOT / "data" / name, target / "data" / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, dest)


def test_wheel_installs_into_a_fresh_venv_and_answers_from_another_folder(tmp_path: Path) -> None:
    src, dist, venv, elsewhere = (tmp_path / n for n in ("src", "dist", "venv", "elsewhere"))
    for folder in (src, dist, elsewhere):
        folder.mkdir()
    _copy_sources(src)
    env = _clean_env()
    pip = [sys.executable, "-m", "pip"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", dist, src], check=True, env=env)
    (wheel,) = dist.glob("flexibench-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "flexibench/data/flexibench.h5" in names
    assert any(n.startswith("flexibench/data/tokenizer/") and n.endswith(".json") for n in names)

    # A fresh venv; the dependencies come from this environment's site folders (a .pth line each,
    # so its editable install of flexibench is not activated there), flexibench only from the wheel.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True, env=env)
    python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout.strip()
    outer = [p for p in {*site.getsitepackages(), sysconfig.get_paths()["purelib"]} if Path(p).is_dir()]
    (Path(purelib) / "_outer_site.pth").write_text("\n".join(outer) + "\n")
    subprocess.run([*pip, "--python", python, "install", "--no-deps", "-q", wheel], check=True, env=env)

    script = python.parent / "flexibench"
    run = {"cwd": elsewhere, "capture_output": True, "text": True, "env": env}
    where = subprocess.run([python, "-c", "import flexibench; print(flexibench.__file__)"], check=True, **run)
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout
    query = subprocess.run([script, "query", "bert-tiny"], **run)
    assert query.returncode == 0, query.stderr
    assert query.stdout.startswith("2x[SA-SDP h128 n2 f512]") and "[table, " in query.stdout, query.stdout
    print(query.stdout)  # the closing note quotes it
    vocab = "from flexibench.train.tokenizer import get_tokenizer; print(get_tokenizer(8192).get_vocab_size())"
    tokenizer = subprocess.run([python, "-c", vocab], check=True, **run)
    assert tokenizer.stdout.strip() == "8192"
    override = subprocess.run([script, "info"], **{**run, "env": {**env, "FLEXIBENCH_TABLE": str(tmp_path / "no.h5")}})
    assert override.returncode == 2 and "no.h5 does not exist" in override.stderr
