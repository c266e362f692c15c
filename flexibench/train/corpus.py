"""Pretraining text: plain-text files or WikiExtractor ``<doc>`` dumps, as a stream of paragraphs.

WikiExtractor output wraps each article in ``<doc ...>`` / ``</doc>`` lines and repeats
the title as the first line; both are markup, not prose, so they are dropped here
rather than taught to the masked-language model.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from flexibench.core.errors import DataError

DATA_ENV = "FLEXIBENCH_DATA"


def corpus_files(path: str | Path) -> list[Path]:
    """Every regular file under ``path`` (or ``path`` itself), sorted so reading order is reproducible."""
    root = Path(path)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise DataError(f"corpus path {root} does not exist")
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
    if not files:
        raise DataError(f"corpus folder {root} holds no files")
    return files


def iter_paragraphs(lines: Iterable[str], keep_titles: bool = False) -> Iterator[str]:
    """Yield non-empty paragraphs, dropping ``<doc>`` markup lines and (by default) article titles.

    Plain text (no ``<doc`` line) passes through unchanged apart from blank lines.
    """
    title_next = False
    for raw in lines:
        line = raw.strip()
        if line.startswith("<doc ") or line.startswith("<doc>"):
            title_next = not keep_titles
            continue
        if line == "</doc>":
            title_next = False
            continue
        if not line:
            continue
        if title_next:
            title_next = False
            continue
        yield line


def iter_corpus(path: str | Path, keep_titles: bool = False) -> Iterator[str]:
    """Paragraphs of every file under ``path``, in sorted file order."""
    for file in corpus_files(path):
        with open(file, encoding="utf-8", errors="replace") as handle:
            yield from iter_paragraphs(handle, keep_titles=keep_titles)


def read_corpus(path: str | Path, max_chars: int | None = None, keep_titles: bool = False) -> list[str]:
    """Paragraphs under ``path`` until about ``max_chars`` characters are collected (all if None)."""
    out: list[str] = []
    total = 0
    for paragraph in iter_corpus(path, keep_titles=keep_titles):
        out.append(paragraph)
        total += len(paragraph)
        if max_chars is not None and total >= max_chars:
            break
    if not out:
        raise DataError(f"corpus {path} holds no text")
    return out
