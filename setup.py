"""Build step pyproject.toml cannot express: copy the shipped data files into the wheel.

The packed table and the tokenizer live in ``data/`` of the checkout (tracked once);
``build_py`` copies what ``SHIPPED`` in ``flexibench/resources.py`` names into
``flexibench/data/`` of the build, so a wheel or ``pip install .`` carries them.
Editable installs read ``data/`` of the checkout directly and copy nothing.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


def _shipped() -> tuple[str, ...]:
    """``SHIPPED`` of flexibench/resources.py, read without importing the package (and its dependencies)."""
    spec = importlib.util.spec_from_file_location("_flexibench_resources", ROOT / "flexibench" / "resources.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(module.SHIPPED)


class build_py_with_data(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "flexibench" / "data"
        for name in _shipped():
            source = ROOT / "data" / name
            if not source.exists():
                raise FileNotFoundError(f"{source} is missing: a wheel without it cannot answer queries")
            if source.is_dir():
                shutil.copytree(source, target / name, dirs_exist_ok=True)
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / name)


setup(cmdclass={"build_py": build_py_with_data})
