"""The leaderboard by simulated time reads FlexiBench's and syne-tune's trajectories alike."""

from __future__ import annotations

import json
import math

import pytest

pytest.importorskip("syne_tune")

import flexibench  # noqa: E402
from flexibench.interop.compare import Protocol  # noqa: E402
from flexibench.interop.synetune import run_scheduler  # noqa: E402
from flexibench.interop.timeboard import build, regret_at, write_timeboard  # noqa: E402
from flexibench.search.objective import TableObjective  # noqa: E402
from flexibench.search.runner import read_trajectory, run_search  # noqa: E402

HORIZON = 900.0


def test_board_by_simulated_time(tmp_path) -> None:
    bench = flexibench.load()
    objective = TableObjective(bench, "nano", transfer_pretrain_share=1.0)
    for seed in (0, 1):
        run_search("rs", objective, budget=None, seed=seed, workers=2, time_budget_s=HORIZON, out_dir=tmp_path)
        run_scheduler(
            "st-asha", bench, "nano", seed=seed, workers=2, time_budget_s=HORIZON, out_dir=tmp_path, objective=objective
        )
    groups, rows = build([tmp_path], HORIZON)
    assert {r["label"] for r in rows} == {"rs", "st-asha"}
    by_label = {r["label"]: r for r in rows}
    for label, runs in groups.items():
        finals = []
        for seed in (0, 1):
            records = read_trajectory(tmp_path / f"{label}-seed{seed}.jsonl")
            queries = [q for q in records if q["type"] == "query"]
            seen = [q["regret"] for q in queries if q["time_s"] <= HORIZON and q["regret"] is not None]
            finals.append(seen[-1])
            if label == "st-asha":  # partial trials count by their share of the 200 steps
                share = sum(q["budget"] / 200 for q in queries)
                assert records[0]["max_budget"] == 200
                assert share < len(queries)
        assert by_label[label]["final"][0] == pytest.approx(sum(finals) / 2)
        assert math.isnan(regret_at(runs[0], -1.0))
    asha = by_label["st-asha"]
    assert asha["full_eq"] < asha["trials"] and by_label["rs"]["full_eq"] == by_label["rs"]["trials"]
    protocol = Protocol(str(bench.path), "nano", workers=2, time_budget_s=HORIZON, seeds=2)
    paths = write_timeboard([tmp_path], tmp_path / "board", protocol, command="test")
    text = paths[0].read_text()
    assert "| st-asha | syne-tune | 2 |" in text and "| rs | FlexiBench | 2 |" in text
    assert all(p.exists() for p in paths)
    assert json.loads(json.dumps(protocol.describe()))["workers"] == 2
