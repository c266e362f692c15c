"""Trajectories of runs made outside FlexiBench's runner, in the runner's own JSONL form.

A syne-tune run reports trials, possibly stopped early at a partial budget; this module
turns a list of them into the ``header`` / ``query`` / ``summary`` records of
:mod:`flexibench.search.runner`, with the same incumbent rule (the best *observed* score,
here among trials that reached the fidelity's full budget) and the same regret (the
table optimum minus the incumbent's noise-free final score), so one leaderboard reads
FlexiBench's algorithms and the external ones alike. Query lines add ``budget`` (the
checkpoint the trial reached) and ``full`` (whether that is the last one).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from flexibench.core import ModelCard
from flexibench.search.objective import TableObjective


@dataclass(frozen=True)
class Finished:
    """One trial as the external tool ran it: the card, its last reported score and budget, and its timing."""

    card: ModelCard
    score: float
    budget: int
    full: bool
    cost_s: float
    start_s: float
    time_s: float
    worker: int
    trial: int


def trajectory_records(
    header: dict[str, Any], trials: list[Finished], objective: TableObjective, started: float
) -> list[dict[str, Any]]:
    """Header, one ``query`` record per trial (in completion order), and the summary."""
    best_score, best_true, best_card = float("-inf"), None, None
    rows: list[dict[str, Any]] = []
    for step, t in enumerate(trials, 1):
        true = objective.true_score(t.card) if t.full else None
        if t.full and t.score > best_score:
            best_score, best_true, best_card = t.score, true, t.card
        regret = None if best_true is None else objective.optimum - best_true
        rows.append(
            {
                "type": "query",
                "step": step,
                "card": t.card.to_dict(),
                "short": t.card.short(),
                "score": t.score,
                "true_score": true,
                "cost_s": t.cost_s,
                "pretrain_s": t.cost_s,
                "finetune_s": 0.0,
                "transferred": False,
                "start_s": t.start_s,
                "time_s": t.time_s,
                "worker": t.worker,
                "best_score": best_score if best_card is not None else None,
                "best_true": best_true,
                "regret": regret,
                "ask_latency_s": 0.0,
                "converged": False,
                "budget": t.budget,
                "full": t.full,
                "trial": t.trial,
            }
        )
    summary = {
        "type": "summary",
        "queries": len(rows),
        "full_evaluations": sum(1 for t in trials if t.full),
        "best_score": best_score if best_card is not None else None,
        "best_true": best_true,
        "best_card": best_card.to_dict() if best_card is not None else None,
        "regret": rows[-1]["regret"] if rows else None,
        "sim_time_s": trials[-1].time_s if trials else 0.0,
        "wall_s": time.perf_counter() - started,
        "converged_at_step": None,
        "transfers": 0,
    }
    return [header, *rows, summary]
