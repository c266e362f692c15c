"""Records of a shorter recipe cut from a longer run's learning curve (constant schedule only).

Under ``schedule: constant`` the model after ``k`` steps of a long run is exactly the model a
``k``-step recipe trains (tested in ``tests/test_train_heldout.py``), and the held-out scoring
is the same fixed masking on the same blocks. So a long run that was scored at step ``k``
already holds the ``k``-step recipe's held-out result, and a pilot run at a generous budget
becomes the record of the budget chosen afterwards without training again.

Only the held-out MLM task can be cut this way: fine-tuned tasks start from the final weights
of pretraining, which a checkpoint's record does not keep. What cannot be read off the long
run is marked rather than guessed: the training-loss tail is not measured (``null``) and the
pretraining time is the long run's time scaled by ``k / steps`` (noted in ``splits``).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from flexibench.core.errors import DataError
from flexibench.core.recipes import MLM_TASK, Recipe, comparable_recipe, load_recipe
from flexibench.core.record import ResultRecord
from flexibench.core.tasks import mlm_score

FREE = ("name", "description", "pretrain.steps")  # what may differ between the long recipe and the cut one


def comparable(recipe: Recipe) -> dict[str, Any]:
    """The recipe without its name, description and pretraining length: what a cut must leave unchanged."""
    return comparable_recipe(recipe.to_dict(), free=FREE)


def check_cut(long: Recipe, short: Recipe) -> None:
    """Raise :class:`DataError` unless ``short`` is ``long`` stopped earlier at one of its checkpoints."""
    where = f"cutting {long.name!r} to {short.name!r}"
    if long.pretrain.schedule != "constant":
        raise DataError(f"{where}: the long recipe's schedule is {long.pretrain.schedule!r}; only 'constant' cuts")
    if long.tasks or short.tasks:
        raise DataError(f"{where}: recipes with fine-tuned tasks cannot be cut (the checkpoint's weights are gone)")
    before, after = comparable(long), comparable(short)
    if before != after:
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        raise DataError(f"{where}: the recipes differ beyond their length (in {changed})")
    steps, every = short.pretrain.steps, long.pretrain.heldout_every
    if not 0 < steps <= long.pretrain.steps or (steps < long.pretrain.steps and (every <= 0 or steps % every)):
        raise DataError(
            f"{where}: {steps} steps is not a held-out checkpoint of the long run "
            f"(every {every} steps up to {long.pretrain.steps})"
        )


def cut_record(record: ResultRecord, short: Recipe | str | dict[str, Any]) -> ResultRecord:
    """The record ``short`` would have produced, read off ``record``'s held-out curve."""
    short = load_recipe(short)
    long = load_recipe(record.recipe)
    check_cut(long, short)
    if record.status != "ok":
        raise DataError(f"record {record.key}: status {record.status!r}; only ok records can be cut")
    steps = short.pretrain.steps
    if record.heldout is None or steps not in record.heldout.steps:
        raise DataError(f"record {record.key}: no held-out loss at step {steps}")
    loss, accuracy = record.heldout.at(steps)
    metrics = {
        "loss": loss,
        "accuracy": accuracy,
        "perplexity": math.exp(min(loss, 50.0)),
        "score": mlm_score(loss, short.vocab_size),
    }
    share = steps / long.pretrain.steps
    return replace(
        record,
        fidelity=short.fidelity,
        recipe=short.to_dict(),
        score=metrics["score"],
        task_scores={MLM_TASK: metrics["score"]},
        task_metrics={MLM_TASK: metrics},
        heldout=record.heldout.until(steps),  # the curve up to the cut
        pretrain_loss=math.nan,  # the training-loss tail up to the cut is not in the long run's record
        pretrain_time_s=record.pretrain_time_s * share,
        tokens_seen=round(record.tokens_seen * share),
        splits={
            **record.splits,
            MLM_TASK: {"cut_from": long.name, "checkpoint": steps, "of_steps": long.pretrain.steps},
        },
    )


def main(argv: list[str] | None = None) -> None:
    """Append the cut of every ok record in ``--from`` to the shard folder ``--out`` (keys already there are kept)."""
    import argparse

    from flexibench.bench.journal import JournalWriter, read_shards
    from flexibench.train.sweep import finished_keys, shard_path

    parser = argparse.ArgumentParser(prog="python -m flexibench.train.prefix", description=main.__doc__)
    parser.add_argument("--from", dest="source", required=True, help="shard folder of the long runs")
    parser.add_argument("--recipe", required=True, help="the shorter recipe (YAML or built-in name)")
    parser.add_argument("--out", required=True, help="shard folder of the shorter recipe")
    args = parser.parse_args(argv)
    short = load_recipe(args.recipe)
    done = finished_keys(args.out)
    cuts = [cut_record(r, short) for r in read_shards([args.source]) if r.status == "ok"]
    fresh = [c for c in cuts if c.key not in done]
    with JournalWriter(shard_path(args.out)) as writer:
        for record in fresh:
            writer.append(record)
    print(f"{len(fresh)} record(s) cut to {short.name} -> {args.out} ({len(cuts) - len(fresh)} already there)")


if __name__ == "__main__":
    main()
