"""The one builder of evaluation records (flexibench.train.outcome) and what evaluate raises instead of recording."""

from __future__ import annotations

import math

import pytest

from flexibench.core import ModelCard, card_hash
from flexibench.core.errors import CardError
from flexibench.train.outcome import Measured, record_of


def test_failed_record_of_a_valid_and_of_a_malformed_card() -> None:
    card = ModelCard.named("bert-tiny")
    record = record_of(card.to_dict(), {"name": "nano"}, 3, error="boom")
    assert (record.status, record.card_hash, record.fidelity, record.seed) == ("failed", card_hash(card), "nano", 3)
    assert math.isnan(record.score) and record.error == "boom" and record.timestamp
    raw = {"l": 1, "o": ["XX"], "h": [128], "n": [2], "f": [[64]], "p": ["SDP"]}
    bad = record_of(raw, {}, 0, error="o[0]: XX is not allowed")
    assert bad.card == raw and bad.card_hash == "invalid" and bad.fidelity == "?"


def test_measured_fields_travel_into_the_record_and_only_ok_keeps_a_score() -> None:
    measured = Measured.for_tasks(("SST-2", "MLM"))
    measured.task("SST-2", 81.0, {"accuracy": 81.0}, 0.4, {"status": "run"})
    measured.pretrain_time_s, measured.params = 12.5, 1000
    ok = record_of(ModelCard.named("bert-tiny"), {"name": "micro"}, 0, status="ok", score=81.0, measured=measured)
    assert ok.score == 81.0 and ok.task_scores["SST-2"] == 81.0 and math.isnan(ok.task_scores["MLM"])
    assert ok.finetune_losses == {"SST-2": 0.4} and ok.splits == {"SST-2": {"status": "run"}} and ok.params == 1000
    diverged = record_of(ModelCard.named("bert-tiny"), {"name": "micro"}, 0, status="diverged", score=81.0)
    assert math.isnan(diverged.score)


def test_evaluate_raises_for_a_malformed_card_before_any_training() -> None:
    pytest.importorskip("torch")
    from flexibench.train.evaluate import evaluate

    with pytest.raises(CardError, match="o\\[0\\]"):
        evaluate(
            {"l": 1, "o": ["XX"], "h": [128], "n": [2], "f": [[64]], "p": ["SDP"]}, "nano", 0, data_dir="/nonexistent"
        )


def test_training_outcome_records_errors_and_lets_interrupts_through() -> None:
    from flexibench.train.outcome import Diverged, Outcome

    outcomes = [Outcome() for _ in range(3)]
    with outcomes[0]:
        pass
    with outcomes[1]:
        raise Diverged("pretrain", 7, float("nan"))
    with outcomes[2]:
        {}["missing"]  # noqa: B018
    assert (outcomes[0].status, outcomes[0].error) == ("ok", None)
    assert outcomes[1].status == "diverged" and outcomes[1].error == str(Diverged("pretrain", 7, float("nan")))
    assert outcomes[2].status == "failed" and outcomes[2].error.startswith("KeyError: 'missing'\nTraceback")
    with pytest.raises(KeyboardInterrupt), Outcome():
        raise KeyboardInterrupt
