"""`flexibench query|info|pack|verify` through the CLI entry point."""

from __future__ import annotations

import json

import pytest

from flexibench.bench.testing import fixture_records, fixture_table, write_shard
from flexibench.cli import main
from flexibench.core import ModelCard


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return fixture_table(tmp_path_factory.mktemp("cli"))


def test_query_json(table, capsys):
    path, _ = table
    assert main(["query", "bert-tiny", "--table", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["source"] == "table" and out["n_seeds"] == 2 and out["card"] == ModelCard.named("bert-tiny").to_dict()


def test_query_text_and_seed(table, capsys):
    path, _ = table
    card = ModelCard.named("bert-mini").to_json()
    assert main(["query", card, "--table", str(path), "--seed", "1"]) == 0
    assert "seed 1" in capsys.readouterr().out
    assert main(["query", card, "--table", str(path), "--seed", "sample"]) == 0
    drawn = capsys.readouterr().out
    assert "(drawn)" in drawn and "+-" not in drawn  # one seed's record has no spread to show
    assert main(["query", card, "--table", str(path)]) == 0
    assert "+-" in capsys.readouterr().out  # two seeds: their spread


def test_a_surrogate_answer_says_how_far_the_surrogate_misses(table, capsys):
    path, library = table
    unmeasured = library.cards[-1].to_json()  # the fixture measures the first 40 of 64 cards
    assert main(["query", unmeasured, "--table", str(path)]) == 0
    printed = capsys.readouterr().out
    assert "[surrogate, not measured]" in printed
    assert main(["info", "--table", str(path), "--json"]) == 0
    cv_rmse = json.loads(capsys.readouterr().out)["fidelities"]["nano"]["surrogate"]["cv_rmse"]
    assert f"misses measured cards it never saw by {cv_rmse:.2f} points RMSE (5-fold" in printed
    assert main(["query", "bert-tiny", "--table", str(path)]) == 0
    assert "misses" not in capsys.readouterr().out  # a measured card's spread is its seeds'


def test_query_errors_are_one_line(table, capsys):
    path, _ = table
    bad = json.dumps(ModelCard.named("bert-tiny").to_dict() | {"n": [3, 3]})
    assert main(["query", bad, "--table", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("flexibench: error: n[0]") and err.count("\n") == 1
    assert main(["query", "bert-tiny", "--table", str(path), "--seed", "abc"]) == 2
    assert main(["query", "bert-tiny", "--table", str(path.parent / "missing.h5")]) == 2


def test_info_json_has_the_documented_keys(table, capsys):
    path, library = table
    assert main(["info", "--table", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["library"]["cards"] == len(library.cards)
    nano = info["fidelities"]["nano"]
    assert nano["measured_cards"] == 42 and nano["records"] == 84 and nano["seeds"] == [0, 1]
    assert {"kendall_tau", "spearman", "rmse"} <= set(nano["surrogate"])
    assert main(["info", "--table", str(path)]) == 0
    printed = capsys.readouterr().out
    assert "surrogate inputs: naive + log_params" in printed
    assert "surrogate (held-out" in printed and "surrogate (5-fold cross-validation, 3 repeats)" in printed


@pytest.fixture
def shards(tmp_path, table, monkeypatch):
    """30 fixture records in ``tmp_path/shards``, packed against the fixture library; returns the folder."""
    _, library = table
    write_shard(tmp_path / "shards" / "w0.jsonl", fixture_records(library)[:30])
    monkeypatch.setattr("flexibench.library.load_or_build_library", lambda level=1, **kw: library, raising=False)
    return tmp_path / "shards"


def test_pack_then_verify(tmp_path, shards, capsys):
    out = tmp_path / "table.h5"
    assert main(["pack", str(shards), "--out", str(out), "--no-surrogate", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["records"] == {"nano": 30} and report["measured_cards"] == {"nano": 15}
    assert main(["verify", str(out)]) == 0
    assert capsys.readouterr().out.startswith("ok:")
    out.write_bytes(out.read_bytes()[:1000])
    assert main(["verify", str(out)]) == 1
    assert "unreadable" in capsys.readouterr().err


def test_pack_out_writes_only_a_new_path_or_a_table(tmp_path, table, monkeypatch, capsys):
    _, library = table
    shards = tmp_path / "shards"
    shard = write_shard(shards / "shard-vm.jsonl", fixture_records(library)[:10])
    other = tmp_path / "notes.txt"
    other.write_text("mine")
    monkeypatch.setattr("flexibench.library.load_or_build_library", lambda level=1, **kw: library, raising=False)
    journal = shard.read_bytes()
    for out, why in [
        (shard, "is one of the inputs"),  # would replace the journal with an HDF5 file
        (shards, "is one of the inputs"),
        (shards / "table.jsonl", ".jsonl name is for journal shards"),
        (other, "is not a FlexiBench table"),
        (tmp_path, "is a directory"),
    ]:
        assert main(["pack", str(shards), "--out", str(out), "--no-surrogate"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and why in err[0], err
    assert shard.read_bytes() == journal and other.read_text() == "mine"
    new = tmp_path / "table.h5"
    assert main(["pack", str(shards), "--out", str(new), "--no-surrogate"]) == 0
    assert main(["pack", str(shards), "--out", str(new), "--no-surrogate"]) == 0  # an existing table is replaced


@pytest.mark.parametrize(
    ("budgets", "shown"),
    [
        ([50, 100, 150, 200], "[50, 100, 150, 200]"),  # few: every checkpoint
        (list(range(250, 10001, 250)), "250 to 10000 every 250 (40 checkpoints)"),
        ([100, 200, 400, 800, 1600, 3200, 6400], "[100, 200, 400, 800, 1600, 3200, 6400]"),  # uneven: listed
    ],
)
def test_info_shows_many_evenly_spaced_checkpoints_as_a_range(budgets, shown):
    from flexibench.bench.commands import checkpoints

    assert checkpoints(budgets) == shown


def test_pack_keep_from_says_what_it_kept(tmp_path, shards, capsys):
    out = tmp_path / "table.h5"
    assert main(["pack", str(shards), "--out", str(out), "--no-surrogate", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["kept_library"] is False
    args = ["pack", str(shards), "--out", str(out), "--no-surrogate", "--keep-from", str(out)]
    assert main([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["kept_library"] is True
    assert main(args) == 0
    assert f"embedding kept unchanged from {out}" in capsys.readouterr().out
    assert main([*args[:-1], str(tmp_path / "missing.h5")]) == 2
    assert "missing.h5 does not exist" in capsys.readouterr().err
