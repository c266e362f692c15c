"""Corpus, tokenizer, GLUE/SuperGLUE readers and deterministic split carving."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import numpy as np
import pytest
from test_train_fixtures import write_corpus

from flexibench.core.errors import DataError
from flexibench.core.tasks import task_spec
from flexibench.train.corpus import iter_paragraphs, read_corpus
from flexibench.train.glue import carve, from_hub_dataset, read_local, read_tsv, take
from flexibench.train.tokenizer import (
    SPECIAL_TOKENS,
    get_tokenizer,
    load_tokenizer,
    save_tokenizer,
    tokenizer_file,
    train_tokenizer,
)


def test_wikiextractor_markup_and_titles_are_stripped() -> None:
    lines = ['<doc id="1" url="u" title="Anarchism">', "Anarchism", "", "First para.", "Second para.", "</doc>"]
    assert list(iter_paragraphs(lines)) == ["First para.", "Second para."]
    assert list(iter_paragraphs(lines, keep_titles=True)) == ["Anarchism", "First para.", "Second para."]
    assert list(iter_paragraphs(["plain text", "", "more"])) == ["plain text", "more"]


def test_read_corpus_folder_and_limit(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path, docs=3)
    paragraphs = read_corpus(corpus)
    assert len(paragraphs) == 12 and not any(p.startswith("<doc") or p.startswith("Title") for p in paragraphs)
    assert len(read_corpus(corpus, max_chars=10)) == 1
    with pytest.raises(DataError, match="does not exist"):
        read_corpus(tmp_path / "missing")


def test_tokenizer_training_saving_and_pair_template(tmp_path: Path) -> None:
    texts = read_corpus(write_corpus(tmp_path))
    tok = train_tokenizer(texts, vocab_size=100)
    assert tok.get_vocab_size() <= 100
    assert [tok.token_to_id(t) for t in SPECIAL_TOKENS] == [0, 1, 2, 3, 4]
    enc = tok.encode("good film", "bad movie")
    assert enc.tokens[0] == "[CLS]" and enc.tokens.count("[SEP]") == 2
    assert enc.type_ids[-1] == 1 and enc.type_ids[0] == 0
    path = tokenizer_file(100, tmp_path / "tok")
    save_tokenizer(tok, path)
    assert load_tokenizer(path).encode("good film").ids == tok.encode("good film").ids
    assert get_tokenizer(100, directory=tmp_path / "tok").get_vocab_size() == tok.get_vocab_size()


def test_shipped_tokenizer_has_8192_tokens() -> None:
    tok = load_tokenizer(tokenizer_file(8192, Path(__file__).resolve().parents[1] / "data" / "tokenizer"))
    assert tok.get_vocab_size() == 8192
    assert tok.encode("the film").tokens == ["[CLS]", "the", "film", "[SEP]"]


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_cola_without_header(tmp_path: Path) -> None:
    _write(tmp_path / "glue/CoLA/train.tsv", "gj04\t1\t\tThe sailors rode.\ngj04\t0\t*\tRode the sailors the.\n")
    data = read_local(tmp_path, "cola", "train")
    assert data.text_a == ["The sailors rode.", "Rode the sailors the."] and data.labels.tolist() == [1, 0]
    assert data.text_b is None


def test_mrpc_bom_header_and_bare_quotes(tmp_path: Path) -> None:
    text = '\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tHe said " it\t" The pie .\n'
    data = read_tsv(_write(tmp_path / "MRPC/train.tsv", text), task_spec("MRPC"))
    assert data.text_a == ['He said " it'] and data.text_b == ['" The pie .'] and data.labels.tolist() == [1]


def test_stsb_scores_are_floats(tmp_path: Path) -> None:
    header = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
    row = "0\tmain\tMSRvid\t2012\t0\tnone\tnone\tA man.\tA person.\t4.750\n"
    data = read_tsv(_write(tmp_path / "STS-B/dev.tsv", header + row), task_spec("STS-B"))
    assert data.labels.dtype == np.float32 and data.labels.tolist() == [4.75]


def test_qqp_fused_label_is_repaired_and_broken_rows_skipped(tmp_path: Path) -> None:
    text = (
        "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n"
        "1\t2\t3\tHow is life?\tWhich level for jlpt5? 0\n"  # label fused onto question2 (the real first row)
        "4\t5\t6\tWhat is x?\tWhat is y?\t1\n"
        "7\t8\ttruncated row\n"
    )
    data = read_local(_write(tmp_path / "glue/QQP/train_subset.tsv", text).parents[2], "QQP", "train")
    assert data.text_b == ["Which level for jlpt5?", "What is y?"] and data.labels.tolist() == [0, 1]
    assert data.repaired_rows == 1 and data.skipped_rows == 1


def test_rte_string_labels_map_to_hub_order(tmp_path: Path) -> None:
    text = "index\tsentence1\tsentence2\tlabel\n0\tA.\tB.\tnot_entailment\n1\tC.\tD.\tentailment\n"
    data = read_local(_write(tmp_path / "glue/RTE/dev.tsv", text).parents[2], "RTE", "dev")
    assert data.labels.tolist() == [1, 0]  # hub: 0 = entailment, 1 = not_entailment


def test_missing_split_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="QNLI: no train file"):
        read_local(tmp_path, "QNLI", "train")
    with pytest.raises(DataError, match="unknown task"):
        task_spec("nope")


def test_hub_columns_map_onto_task_data() -> None:
    mrpc = datasets.Dataset.from_dict(
        {"sentence1": ["a", "b"], "sentence2": ["c", "d"], "label": [1, 0], "idx": [0, 1]}
    )
    data = from_hub_dataset(mrpc, "mrpc")
    assert data.text_a == ["a", "b"] and data.text_b == ["c", "d"] and data.labels.tolist() == [1, 0]
    stsb = datasets.Dataset.from_dict({"sentence1": ["a"], "sentence2": ["b"], "label": [3.2], "idx": [0]})
    assert from_hub_dataset(stsb, "stsb").labels.dtype == np.float32
    sst2 = datasets.Dataset.from_dict({"sentence": ["x"], "label": [-1], "idx": [0]})
    with pytest.raises(DataError, match="unlabeled"):
        from_hub_dataset(sst2, "sst2")
    with pytest.raises(DataError, match="lacks column"):
        from_hub_dataset(sst2, "qqp")


def test_carving_is_deterministic_disjoint_and_order_free(tmp_path: Path) -> None:
    rows = "".join(f"sentence number {i}\t{i % 2}\n" for i in range(400))
    data = read_tsv(_write(tmp_path / "a.tsv", "sentence\tlabel\n" + rows), task_spec("SST-2"))
    rest, part = carve(data, 0.1, "salt")
    assert len(rest) + len(part) == 400 and 20 < len(part) < 70
    assert not set(rest.text_a) & set(part.text_a)
    shuffled = data.subset(np.random.default_rng(0).permutation(400), "shuffled")
    assert sorted(carve(shuffled, 0.1, "salt")[1].text_a) == sorted(part.text_a)
    assert sorted(carve(data, 0.1, "other")[1].text_a) != sorted(part.text_a)
    assert sorted(take(shuffled, 50, "s").text_a) == sorted(take(data, 50, "s").text_a)


def test_superglue_jsonl(tmp_path: Path) -> None:
    rows = [
        {"premise": "p", "hypothesis": "h", "label": "neutral", "idx": 0},
        {"premise": "q", "hypothesis": "i", "label": "entailment", "idx": 1},
    ]
    _write(tmp_path / "superglue/CB/train.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    data = read_local(tmp_path, "SG-CB", "train")
    assert data.labels.tolist() == [2, 0] and data.text_b == ["h", "i"]
