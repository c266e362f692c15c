"""Where the data that ships with flexibench lives: the packed table and the tokenizer.

In a source checkout (the package sits beside ``pyproject.toml``) that is the
checkout's ``data/`` folder, the one file git tracks. An installed wheel carries
copies of the files users need, made at build time (``setup.py``) into
``flexibench/data/`` inside the package, so ``flexibench.load()`` works from any
folder without a second copy in git. Environment variables still override both
(``FLEXIBENCH_TABLE``, ``FLEXIBENCH_TOKENIZER_DIR``, read by their users).
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
#: What the wheel copies from ``data/`` into the package (paths relative to ``data/``; folders copy whole).
SHIPPED = ("flexibench.h5", "tokenizer")


def data_dir() -> Path:
    """The checkout's ``data/`` when running from a source tree, else the installed package's ``data/``."""
    checkout = PACKAGE_DIR.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "data").is_dir():
        return checkout / "data"
    return PACKAGE_DIR / "data"


def data_file(*parts: str) -> Path:
    """A path under :func:`data_dir` (it may not exist: callers say what is missing and how to make it)."""
    return data_dir().joinpath(*parts)
