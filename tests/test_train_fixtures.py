"""Tiny data folders and recipes for the training-harness tests (built in tmp dirs, seconds to train)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

WORDS = "the a film movie story plot actor scene music city river king war people time year world".split()
POS = "good great wonderful moving brilliant charming".split()
NEG = "bad awful boring dull terrible weak".split()


def write_corpus(root: Path, docs: int = 30, seed: int = 0) -> Path:
    """A WikiExtractor-style corpus: ``<doc>`` line, title line, blank line, paragraphs, ``</doc>``."""
    rng = random.Random(seed)
    folder = root / "corpus" / "AA"
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for d in range(docs):
        lines += [f'<doc id="{d}" url="http://x/{d}" title="Title{d}">', f"Title{d}", ""]
        for _ in range(4):
            lines.append(" ".join(rng.choice(WORDS + POS + NEG) for _ in range(40)) + ".")
        lines.append("</doc>")
    (folder / "wiki_00").write_text("\n".join(lines) + "\n")
    return root / "corpus"


def write_sst2(root: Path, n_train: int = 300, n_dev: int = 80, seed: int = 0) -> None:
    rng = random.Random(seed)
    folder = root / "glue" / "SST-2"
    folder.mkdir(parents=True, exist_ok=True)
    for name, n in (("train.tsv", n_train), ("dev.tsv", n_dev)):
        rows = ["sentence\tlabel"]
        for i in range(n):
            label = rng.randint(0, 1)
            word = rng.choice(POS if label else NEG)
            rows.append(f"{rng.choice(WORDS)} {word} {rng.choice(WORDS)} {i} \t{label}")
        (folder / name).write_text("\n".join(rows) + "\n")


def make_data_dir(root: Path) -> Path:
    write_corpus(root)
    write_sst2(root)
    return root


def tiny_recipe(name: str = "tiny", **pretrain: Any) -> dict[str, Any]:
    """A recipe that trains in about a second: 3 MLM steps, one epoch on 300 examples; QNLI has no data here."""
    return {
        "name": name,
        "vocab_size": 120,
        "pretrain": {"steps": 3, "batch_size": 4, "seq_len": 16, "warmup_steps": 1, "corpus_chars": 20000, **pretrain},
        "finetune": {"epochs": 1, "batch_size": 16, "max_seq_len": 16, "lr": 1e-3},
        "tasks": {"SST-2": {"max_val": 40}, "QNLI": {}},
        "scored": ["SST-2"],
    }


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FLEXIBENCH_TOKENIZER_DIR", str(tmp_path / "tok"))
    monkeypatch.setenv("FLEXIBENCH_CACHE", str(tmp_path / "cache"))  # encoded corpora stay out of the user's cache
    return make_data_dir(tmp_path / "data")


def test_fixture_corpus_is_wikiextractor_format(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path, docs=2)
    text = (corpus / "AA" / "wiki_00").read_text()
    assert text.startswith('<doc id="0"') and text.count("</doc>") == 2
