"""Import direction: the shared types import neither torch nor a higher layer; nothing imports the package root."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "flexibench").rglob("*.py")) + sorted((ROOT / "baselines").rglob("*.py"))
HIGHER = (
    "flexibench.bench",
    "flexibench.interop",
    "flexibench.library",
    "flexibench.models",
    "flexibench.search",
    "flexibench.train",
)


CORE_MODULES = sorted(f"flexibench.core.{path.stem}" for path in (ROOT / "flexibench" / "core").glob("*.py"))
#: Each layer may import the layers listed here (and itself); nothing else of the package.
ALLOWED = {
    "core": set(),
    "library": {"core"},
    "models": {"core"},
    "surrogates": {"core"},
    "bench": {"core", "library", "models", "surrogates", "resources"},
    "search": {"core", "library", "bench", "surrogates", "baselines"},
    "baselines": {"core", "search", "surrogates"},
    "train": {"core", "models", "bench", "resources"},
    "interop": {"core", "library", "bench", "surrogates", "search"},
}


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_imports_neither_torch_nor_a_higher_layer(module: str) -> None:
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('flexibench')))"
    loaded = set(eval(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout))
    assert "torch" not in loaded
    assert not [m for m in loaded if m.startswith(HIGHER)], loaded


def _layer(path: Path) -> str:
    parts = path.relative_to(ROOT).parts
    return "baselines" if parts[0] == "baselines" else parts[1] if len(parts) > 2 else path.stem


def test_imports_run_one_way() -> None:
    """core <- library/models/surrogates <- bench (the table) <- search/train, statically, lazy imports included."""
    offenders = []
    for path in SOURCES:
        layer = _layer(path)
        if layer not in ALLOWED:
            continue
        for module, _ in _imports(path):
            parts = module.split(".")
            if parts[0] == "flexibench" and len(parts) > 1 and parts[1] != layer and parts[1] not in ALLOWED[layer]:
                offenders.append(f"{path.relative_to(ROOT)} ({layer}) imports {module}")
    assert offenders == []


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
    return found


def test_nothing_imports_the_package_root() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {module} {names}"
        for path in SOURCES
        if path != ROOT / "flexibench" / "__init__.py"
        for module, names in _imports(path)
        if module == "flexibench"
    ]
    assert offenders == []


def test_nothing_is_loaded_from_an_import_string_in_search() -> None:
    for path in sorted((ROOT / "flexibench" / "search").rglob("*.py")) + sorted((ROOT / "baselines").rglob("*.py")):
        assert "import_module" not in path.read_text(), path


def test_baselines_install_inside_the_project_namespace() -> None:
    import flexibench.baselines

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    assert Path(flexibench.baselines.__file__).parent == ROOT / "baselines"
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert all(name == "flexibench" or name.startswith("flexibench.") for name in setuptools["packages"])
    assert setuptools["package-dir"]["flexibench.baselines"] == "baselines"


def test_every_attribute_read_off_an_imported_module_exists() -> None:
    """``module.name`` where ``module`` was imported from the package: the name must be there (moves break it)."""
    import importlib
    import types

    missing = []
    for path in SOURCES + sorted((ROOT / "paper_repro").glob("*.py")):
        tree = ast.parse(path.read_text())
        modules: dict[str, types.ModuleType] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("flexibench"):
                for alias in node.names:
                    try:
                        modules[alias.asname or alias.name] = importlib.import_module(f"{node.module}.{alias.name}")
                    except ImportError:
                        pass  # a name, not a module
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
                if not hasattr(modules[node.value.id], node.attr):
                    missing.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value.id}.{node.attr}")
    assert not missing, missing
