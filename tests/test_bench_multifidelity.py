"""A sparse long fidelity reads the cheap fidelity's score: stored only where it ranks unseen cards better."""

from __future__ import annotations

import math
import warnings
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from flexibench.bench import load
from flexibench.bench.pack import pack
from flexibench.bench.testing import fixture_library, synthetic_record, synthetic_score, write_shard
from flexibench.core import ModelCard


def _long_score(card: ModelCard, seed: int) -> float:
    """The long fidelity: a monotone, non-linear function of the cheap one's noise-free score, plus small noise."""
    cheap = synthetic_score(card, seed=0)
    return 40.0 + 3.0 * math.exp((cheap - 60.0) / 3.0) + float(np.random.default_rng([seed, 7]).normal(0, 0.05))


@pytest.fixture(scope="module")
def two_fidelities(tmp_path_factory):
    library = fixture_library(96)
    cards = library.cards
    records = [synthetic_record(c, s) for c in cards[:80] for s in (0, 1)]
    for card in cards[:30]:
        record = synthetic_record(card, 0, fidelity="long")
        records.append(replace(record, score=_long_score(card, 0), recipe={**record.recipe, "name": "long"}))
    root = tmp_path_factory.mktemp("mf")
    shard = write_shard(root / "shards" / "w.jsonl", records)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = pack(
            [shard], root / "t.h5", library=library, surrogate_options={"epochs": 60, "n_members": 3, "cv_repeats": 1}
        )
    return root / "t.h5", report, cards


def test_the_long_fidelity_reads_the_cheap_score_when_it_ranks_better(two_fidelities) -> None:
    path, report, _ = two_fidelities
    long, nano = report.surrogates["long"], report.surrogates["nano"]
    assert "prior" not in nano  # the most measured fidelity reads no other
    assert long["prior"] == "nano" and long["prior_used"]
    assert long["prior_with_kendall_tau"] > long["prior_without_kendall_tau"] + 0.1
    assert long["prior_with_rmse"] < long["prior_without_rmse"]
    info = load(path).info()["fidelities"]["long"]["surrogate"]
    assert info["model"]["inputs"][-1] == "prior:nano" and info["prior_used"]


def test_unmeasured_cards_are_answered_through_their_cheap_score(two_fidelities) -> None:
    path, _, cards = two_fidelities
    bench = load(path)
    unmeasured = cards[30:80]  # measured at nano, not at long: their long answers follow their nano scores
    answers = [bench.query(card, "long") for card in unmeasured]
    assert {a.source for a in answers} == {"surrogate"}
    tau = stats.kendalltau([a.score for a in answers], [_long_score(c, 0) for c in unmeasured]).statistic
    assert tau > 0.7
    outside = ModelCard.named("flexibert-mini")  # no table row: the ensemble runs on its predicted nano score
    assert math.isfinite(bench.query(outside, "long").score)


def test_info_gives_no_rank_correlation_over_a_handful_of_held_out_cards(two_fidelities, capsys) -> None:
    from flexibench.cli import main

    path, report, _ = two_fidelities
    assert report.surrogates["long"]["n_val"] == 6 and report.surrogates["nano"]["n_val"] == 16
    assert main(["info", "--table", str(path)]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "held-out" in line]
    assert len(lines) == 2
    nano, long = sorted(lines, key=lambda line: "6 of 30" in line)
    assert "Kendall tau" in nano and "Kendall tau" not in long and "too few cards" in long
