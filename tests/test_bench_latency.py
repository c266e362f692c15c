"""Hardware objectives: drift normalisation, pack into /archs columns, query and Pareto fronts over them."""

from __future__ import annotations

import itertools
import json
import warnings

import numpy as np
import pytest

from flexibench.bench import schema
from flexibench.bench.benchmark import load
from flexibench.bench.journal import JournalWriter, shard_kind
from flexibench.bench.latency_table import _SOURCE, COLUMNS, read_latency, summarise
from flexibench.bench.pack import pack
from flexibench.bench.pareto import ParetoError, directions, front_mask
from flexibench.bench.testing import fixture_library, fixture_records, fixture_table, write_shard
from flexibench.core import ModelCard, card_hash
from flexibench.core.errors import DataError

MACHINE = {"cpu_model": "Test CPU", "threads": 1, "torch": "0.0", "cpu_capability": "AVX512", "cpu_count": 2}
SETTINGS = {"seq_len": 128, "batch_sizes": [1, 32], "repeats": [15, 5], "warmup": [3, 1], "vocab_size": 8192}


def payload(card: ModelCard, seq: int, role: str, b1: float, b32: float, session: str = "s1", **extra) -> dict:
    return {
        "kind": "latency",
        "format": 1,
        "role": role,
        "card": card.to_json(),
        "card_hash": card_hash(card),
        "space_index": seq,
        "seq": seq,
        "session": session,
        "timestamp": f"2026-01-01T00:00:{seq % 60:02d}+00:00",
        "settings": extra.pop("settings", SETTINGS),
        "machine": extra.pop("machine", MACHINE),
        "batches": [
            {"batch_size": 1, "cpu_median_ms": b1, "wall_median_ms": 2 * b1, "peak_mib": 10.0 + b1},
            {"batch_size": 32, "cpu_median_ms": b32, "wall_median_ms": 2 * b32, "peak_mib": 50.0 + b1},
        ],
        **extra,
    }


def test_every_column_has_a_source():
    assert set(_SOURCE) == set(COLUMNS) == set(schema.OPTIONAL_ARCH_COLUMNS)


def drifting_run(cards: list[ModelCard], true_b1: list[float], every: int = 3) -> list[dict]:
    """A run whose machine slows down linearly (x1.0 -> x1.5): every time measured is true x drift."""
    ref = ModelCard.named("bert-mini")
    out, seq, n = [], 0, len(cards) + len(cards) // every + 2
    drift = lambda s: 1.0 + 0.5 * s / n  # noqa: E731
    for i, (card, t) in enumerate(zip(cards, true_b1)):
        if i % every == 0:
            out.append(payload(ref, seq, "reference", 10.0 * drift(seq), 300.0 * drift(seq)))
            seq += 1
        out.append(payload(card, seq, "card", t * drift(seq), 30 * t * drift(seq)))
        seq += 1
    out.append(payload(ref, seq, "reference", 10.0 * drift(seq), 300.0 * drift(seq)))
    return out


def test_normalisation_removes_a_linear_drift():
    library = fixture_library(40)
    cards, true = library.cards[3:33], [1.0 + i for i in range(30)]
    summary = summarise(drifting_run(cards, true))
    got = np.array([summary.values[card_hash(c)]["latency_ms"] for c in cards])
    raw = np.array([summary.values[card_hash(c)]["latency_raw_ms"] for c in cards])
    # normalised = true x (typical reference / reference's true 10 ms): one constant factor for every card
    factor = got / np.array(true)
    np.testing.assert_allclose(factor, factor[0], rtol=1e-9)
    assert 1.0 < factor[0] < 1.5
    # in units of the run's typical reference time, each card reads its true ratio to the reference (10 ms)
    np.testing.assert_allclose(got / summary.typical_cpu_ms[1], np.array(true) / 10.0, rtol=1e-9)
    assert np.ptp(raw / np.array(true)) > 0.3  # the raw times carry the drift
    b32 = np.array([summary.values[card_hash(c)]["latency_b32_ms"] for c in cards])
    np.testing.assert_allclose(b32 / (30 * np.array(true)), factor[0] * 1.0, rtol=1e-9)
    assert summary.spread(1)["n"] == 11 and summary.spread(1)["range_over_median"] > 0.3


def test_running_median_keeps_a_line_and_drops_a_spike():
    from flexibench.bench.latency_table import running_median

    assert running_median([1.0, 2.0, 3.0, 4.0, 5.0]) == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert running_median([9.0, 13.0, 9.0, 9.0, 9.0]) == [9.0] * 5
    assert running_median([13.0, 9.0, 9.0, 9.0]) == [9.0] * 4
    assert running_median([9.0, 9.0, 9.0, 13.0]) == [9.0] * 4
    assert running_median([9.0, 13.0]) == [9.0, 13.0]  # too short to judge


def test_one_spiked_reference_does_not_rescale_its_neighbours():
    library = fixture_library(40)
    cards, true = library.cards[3:33], [1.0 + i for i in range(30)]
    run = drifting_run(cards, true)
    refs = [p for p in run if p["role"] == "reference"]
    spiked = refs[4]
    for timing in spiked["batches"]:
        timing["cpu_median_ms"] *= 1.44  # a burst of load during one reference measurement
    clean = summarise(drifting_run(cards, true))
    got = summarise(run)
    error = [got.values[card_hash(c)]["latency_ms"] / clean.values[card_hash(c)]["latency_ms"] - 1 for c in cards]
    # interpolating through the raw spike instead (independent arithmetic) mis-scales its neighbours by over 20%
    seqs = np.array([p["seq"] for p in refs])
    raw = np.array([p["batches"][0]["cpu_median_ms"] for p in refs])
    naive = []
    for c in cards:
        row = next(p for p in run if p["role"] == "card" and p["card_hash"] == card_hash(c))
        naive_value = row["batches"][0]["cpu_median_ms"] * np.median(raw) / np.interp(row["seq"], seqs, raw)
        naive.append(naive_value / clean.values[card_hash(c)]["latency_ms"] - 1)
    assert max(abs(e) for e in naive) > 0.2
    assert max(abs(e) for e in error) < 0.06  # the median filter puts a neighbour's value in its place


def test_neighbour_noise_ignores_steady_drift_and_sees_a_spike():
    library = fixture_library(40)
    cards, true = library.cards[3:33], [1.0 + i for i in range(30)]
    steady = summarise(drifting_run(cards, true))
    assert steady.neighbour_noise(1) < 0.01  # a slow drift is what the neighbours predict
    run = drifting_run(cards, true)
    refs = sorted((p for p in run if p["role"] == "reference"), key=lambda p: p["seq"])
    for p in refs[1::2]:
        for timing in p["batches"]:
            timing["cpu_median_ms"] *= 1.5  # every other reference under a burst of load
    # interior references alternate: log(1.5) above their neighbours, or log(1.5) below
    assert summarise(run).neighbour_noise(1) == pytest.approx(np.log(1.5), rel=0.02)
    assert "neighbour_log_deviation" in summarise(run).spread(1)
    two = summarise([p for p in run if p["role"] == "card" or p["seq"] in {refs[0]["seq"], refs[1]["seq"]}])
    assert two.neighbour_noise(1) is None and "neighbour_log_deviation" not in two.spread(1)


def test_other_machine_or_settings_are_refused(tmp_path):
    card = ModelCard.named("bert-tiny")
    with JournalWriter(tmp_path / "a.jsonl") as writer:
        writer.append_payload(payload(card, 0, "reference", 1.0, 30.0))
        writer.append_payload(payload(card, 1, "card", 1.0, 30.0, machine={**MACHINE, "cpu_model": "Other"}))
    with pytest.raises(DataError, match="different machines"):
        read_latency([tmp_path])
    with JournalWriter(tmp_path / "b.jsonl") as writer:
        writer.append_payload(payload(card, 0, "reference", 1.0, 30.0, settings={**SETTINGS, "seq_len": 64}))
    with pytest.raises(DataError, match="different settings"):
        read_latency([tmp_path / "b.jsonl", tmp_path / "a.jsonl"])


def test_a_payload_without_kind_or_with_nan_is_not_written(tmp_path):
    with JournalWriter(tmp_path / "x.jsonl") as writer:
        with pytest.raises(DataError, match="kind"):
            writer.append_payload({"a": 1})
        with pytest.raises(ValueError):
            writer.append_payload({"kind": "latency", "x": float("nan")})
    assert (tmp_path / "x.jsonl").read_bytes() == b""


def brute_front(values: np.ndarray, maximise: list[bool]) -> set[int]:
    costs = values * np.where(maximise, -1.0, 1.0)
    keep = set()
    for i, c in enumerate(costs):
        if not np.isfinite(c).all():
            continue
        if not any(np.all(d <= c) and np.any(d < c) for j, d in enumerate(costs) if j != i and np.isfinite(d).all()):
            keep.add(i)
    return keep


@pytest.mark.parametrize("k", [2, 3])
def test_front_mask_matches_the_quadratic_definition(k):
    rng = np.random.default_rng(k)
    values = rng.integers(0, 12, size=(300, k)).astype(float)  # small integers: many ties
    values[rng.random(300) < 0.05, 0] = np.nan
    maximise = [True] + [False] * (k - 1)
    assert set(np.flatnonzero(front_mask(values, maximise))) == brute_front(values, maximise)


def test_directions_score_up_costs_down_prefixes_override():
    assert directions(("score", "latency_ms")) == [("score", True), ("latency_ms", False)]
    assert directions(("-score", "+params")) == [("score", False), ("params", True)]
    with pytest.raises(ParetoError):
        directions(("score",))
    with pytest.raises(ParetoError):
        directions(("score", "score"))


@pytest.fixture(scope="module")
def latency_table(tmp_path_factory):
    """The pack fixture's records plus latency shards for 30 of its 64 cards (one machine, one session)."""
    root = tmp_path_factory.mktemp("latency")
    library = fixture_library(64)
    shard = write_shard(root / "shards" / "nano" / "worker0.jsonl", fixture_records(library))
    measured = library.cards[10:40]
    rng = np.random.default_rng(0)
    true = {c: float(rng.uniform(1, 20)) for c in measured}
    with JournalWriter(root / "shards" / "latency" / "chunk-000.jsonl") as writer:
        for p in drifting_run(measured, [true[c] for c in measured], every=5):
            writer.append_payload(p)
    assert shard_kind(root / "shards" / "latency" / "chunk-000.jsonl") == "latency" and shard_kind(shard) == "result"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pack([root / "shards"], root / "t.h5", library=library, surrogate_options={"epochs": 60})
    return root / "t.h5", library, true


def test_pack_merges_latency_shards_as_columns_nan_where_unmeasured(latency_table):
    path, library, true = latency_table
    with load(path, library=library) as bench:
        frame = bench.query_many(range(len(bench)))
        measured = np.isfinite(frame["latency_ms"])
        assert measured.sum() == 30
        rows = [bench.cards().index(c) for c in true]
        assert set(np.flatnonzero(measured)) == set(rows)
        factor = frame["latency_ms"][rows] / np.array(list(true.values()))
        np.testing.assert_allclose(factor, factor[0], rtol=1e-9)  # drift normalised away
        raw = bench._table.read("archs/latency_raw_ms")
        np.testing.assert_allclose(frame["peak_memory_mib"][rows], 10.0 + raw[rows])  # the fixture's rule
        hw = bench.hardware
        assert hw["machine"]["cpu_model"] == "Test CPU" and hw["cards_measured"] == 30
        assert hw["reference_card"] == ModelCard.named("bert-mini").to_json()
        sources = bench.meta["data_sources"]  # latency shards are named apart from the records' journals
        assert "records from 1 journal shard(s):\n  worker0.jsonl\n" in sources
        assert sources.endswith("hardware objectives from 1 latency shard(s):\n  latency/chunk-000.jsonl")
        card = next(iter(true))
        result = bench.query(card)
        assert result.latency_ms == pytest.approx(frame["latency_ms"][rows[0]])
        assert json.loads(json.dumps(result.to_dict()))["latency_ms"] == pytest.approx(result.latency_ms)
        assert bench.query(library.cards[0]).latency_ms is None  # unmeasured: None, not 0 (query_many: NaN)
        assert bench.query(library.cards[0]).to_dict()["latency_ms"] is None


def test_pareto_over_score_and_latency_matches_brute_force(latency_table):
    path, library, _ = latency_table
    with load(path, library=library) as bench:
        table = bench.query_many(range(len(bench)))
        values = np.stack([table["score"], table["latency_ms"]], axis=1)
        values[~table["measured"]] = np.nan
        expected = {bench.cards()[i] for i in brute_front(values, [True, False])}
        front = bench.pareto(("score", "latency_ms"))
        assert {r.card for r in front} == expected and len(front) >= 1
        assert [r.score for r in front] == sorted((r.score for r in front), reverse=True)
        assert all(r.latency_ms is not None and np.isfinite(r.latency_ms) for r in front)
        three = bench.pareto(("score", "latency_ms", "peak_memory_b32_mib"))
        assert {r.card for r in front} <= {r.card for r in three}
        with pytest.raises(ParetoError, match="unknown objective"):
            bench.pareto(("score", "speed"))


def test_older_tables_without_latency_still_load_and_answer_nan(tmp_path):
    path, library = fixture_table(tmp_path)
    with load(path, library=library) as bench:
        assert bench.hardware is None
        assert np.isnan(bench.query_many(range(len(bench)))["latency_ms"]).all()
        assert bench.pareto(("score", "latency_ms")) == []
        assert len(bench.pareto(("score", "params"))) >= 1


def test_pairs_of_columns_are_all_accepted(latency_table):
    path, library, _ = latency_table
    with load(path, library=library) as bench:
        for a, b in itertools.combinations(("score", "params", "flops", "latency_b32_ms", "total_time_s"), 2):
            bench.pareto((a, b))


def test_cli_query_shows_the_hardware_objectives_and_status_reads_the_shards(latency_table, capsys):
    from flexibench.cli import main

    path, library, true = latency_table
    card = next(iter(true))
    assert main(["query", card.to_json(), "--table", str(path)]) == 0
    assert "CPU latency" in capsys.readouterr().out
    assert main(["query", library.cards[0].to_json(), "--table", str(path)]) == 0
    assert "CPU latency" not in capsys.readouterr().out  # unmeasured: no line, not a zero
    shards = path.parent / "shards" / "latency"
    assert main(["latency", "status", "--out", str(shards), "--json"]) == 0
    state = json.loads(capsys.readouterr().out)
    assert state["measured"] == 30 and state["references"] == 7 and state["reference_spread"]["1"]["n"] == 7
    assert "neighbour_log_deviation" in state["reference_spread"]["1"]


def test_info_says_which_hardware_objectives_the_table_has(latency_table, capsys, tmp_path):
    from flexibench.cli import main

    path, library, _ = latency_table
    assert main(["info", "--table", str(path)]) == 0
    out = capsys.readouterr().out
    assert (
        "hardware objectives: latency_b32_ms, latency_ms, peak_memory_b32_mib, peak_memory_mib for 30 of 65 cards"
        in out
    )
    assert "Test CPU" in out and "from its neighbours" in out
    assert main(["info", "--table", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["hardware"]["cards_measured"] == 30
    plain, _ = fixture_table(tmp_path)  # no latency shards: no line
    assert main(["info", "--table", str(plain)]) == 0
    assert "hardware objectives" not in capsys.readouterr().out


def test_table_front_over_latency_leaves_out_the_cards_without_one(latency_table):
    from flexibench.interop.pareto import table_front

    path, library, true = latency_table
    with load(path, library=library) as bench:
        front = table_front(bench, None, ("score", "latency_ms"))
        timed = {bench.cards().index(c) for c in true}
        assert set(front.rows.tolist()) == timed and np.isfinite(front.lower).all() and np.isfinite(front.upper).all()
        assert {bench.cards()[r] for r in front.rows[front.mask]} == {
            r.card for r in bench.pareto(("score", "latency_ms"), measured=False)
        }
