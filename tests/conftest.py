"""Fixtures shared across test modules."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

SWEEPS = Path(__file__).resolve().parents[1] / "data" / "sweeps" / "v2_small"


@pytest.fixture(scope="session")
def sweep_script():
    """Import a script of ``data/sweeps/v2_small`` as running it does: with its folder first on ``sys.path``."""
    sys.path.insert(0, str(SWEEPS))
    yield importlib.import_module
    sys.path.remove(str(SWEEPS))
