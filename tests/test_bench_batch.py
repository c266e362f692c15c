"""query_many: whole-table answers as arrays, equal to the per-card loop."""

from __future__ import annotations

import random

import numpy as np
import pytest

from flexibench.bench import QueryError, load
from flexibench.bench.testing import fixture_table
from flexibench.core import DesignSpace, ModelCard

COLUMNS = ("score", "score_std", "n_seeds", "params", "flops", "pretrain_time_s", "finetune_time_s")


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    path, _ = fixture_table(tmp_path_factory.mktemp("batch"))
    return load(path)


def test_every_row_at_once_equals_the_loop(bench) -> None:
    out = bench.query_many(range(len(bench)))
    assert out["row"].tolist() == list(range(len(bench)))
    for i, card in enumerate(bench.cards()):
        one = bench.query(card)
        for name in COLUMNS:
            assert out[name][i] == pytest.approx(getattr(one, name), nan_ok=True), (name, card.short())
        assert out["measured"][i] == one.measured
    assert out["measured"].sum() == len(bench.cards("nano"))


def test_cards_in_any_form_and_a_card_without_a_row(bench) -> None:
    outside = DesignSpace.default().sample(random.Random(0), level=2)
    cards = ["bert-tiny", ModelCard.named("bert-mini"), ModelCard.named("bert-tiny").to_dict(), outside]
    out = bench.query_many(cards)
    assert out["row"][3] == -1 and out["row"][:3].min() >= 0
    assert out["score"][3] == pytest.approx(bench.query(outside).score)
    assert out["score"][0] == out["score"][2] == bench.query("bert-tiny").score
    frame = bench.query_many(np.array([0, 1, 2]), frame=True)
    assert list(frame.columns[:2]) == ["card", "score"] and len(frame) == 3
    assert frame.attrs["fidelity"] == "nano" and frame["card"][0] == bench.cards()[0].to_json()
    with pytest.raises(QueryError, match="out of range"):
        bench.query_many([len(bench)])


def test_sampled_batches_draw_measured_seeds_and_surrogate_noise(bench) -> None:
    rows = np.arange(len(bench))
    a = bench.query_many(rows, seed="sample", rng=1)
    b = bench.query_many(rows, seed="sample", rng=1)
    assert np.array_equal(a["score"], b["score"], equal_nan=True)
    mean = bench.query_many(rows)
    for i in np.flatnonzero(mean["measured"])[:10]:
        card = bench.cards()[i]
        seeds = {bench.query(card, seed=s).score for s in (0, 1) if _has_seed(bench, card, s)}
        assert a["score"][i] in seeds and a["n_seeds"][i] == 1 and a["score_std"][i] == 0.0
    predicted = ~mean["measured"]
    assert not np.allclose(a["score"][predicted], mean["score"][predicted])
    with pytest.raises(QueryError, match="seed"):
        bench.query_many(rows, seed=0)


def _has_seed(bench, card, seed) -> bool:
    try:
        bench.query(card, seed=seed)
    except QueryError:
        return False
    return True
