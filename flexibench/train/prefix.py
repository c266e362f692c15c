"""Records of a shorter recipe cut from a longer run's learning curve (constant schedule only).

Under ``schedule: constant`` the model after ``k`` steps of a long run is exactly the model a
``k``-step recipe trains (tested in ``tests/test_train_heldout.py``), and the held-out scoring
is the same fixed masking on the same blocks. So a long run that was scored at step ``k``
already holds the ``k``-step recipe's held-out result, and a pilot run at a generous budget
becomes the record of the budget chosen afterwards without training again.

Fine-tuned tasks start from the weights after pretraining, which a record does not keep: a
shorter recipe with fine-tuned tasks is cut from runs that saved snapshots (``flexibench sweep
--snapshot-every``), and its tasks are fine-tuned from the snapshot at the cut
(:func:`~flexibench.train.evaluate.finetune_from_snapshot`), which gives what a fresh run of
that recipe gives. What cannot be read off the long run is marked rather than guessed: the
training-loss tail is not measured (``null``) and the pretraining time (wall and CPU) is the long
run's scaled by ``k / steps`` (noted in ``splits``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from flexibench.core.errors import DataError
from flexibench.core.recipes import MLM_TASK, Recipe, load_recipe, pretraining_trajectory
from flexibench.core.record import ResultRecord
from flexibench.core.tasks import mlm_score


def check_cut(long: Recipe, short: Recipe, snapshots: bool = False) -> None:
    """Raise :class:`DataError` unless ``short`` is ``long`` stopped earlier at one of its checkpoints.

    ``short`` may fine-tune tasks only when the long run's ``snapshots`` are there to start from.
    """
    where = f"cutting {long.name!r} to {short.name!r}"
    if long.pretrain.schedule != "constant":
        raise DataError(f"{where}: the long recipe's schedule is {long.pretrain.schedule!r}; only 'constant' cuts")
    if long.tasks:
        raise DataError(f"{where}: the long recipe fine-tunes tasks; only pretraining-only runs can be cut")
    if short.tasks and not snapshots:
        raise DataError(f"{where}: the short recipe fine-tunes tasks; cut it with the long run's snapshots")
    if MLM_TASK not in short.runs:
        raise DataError(f"{where}: the short recipe does not score held-out MLM ('{MLM_TASK}'), which the cut reads")
    before, after = pretraining_trajectory(long), pretraining_trajectory(short)
    if before != after:
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        raise DataError(f"{where}: the recipes differ beyond their length (in {changed})")
    steps, every = short.pretrain.steps, long.pretrain.heldout_every
    if not 0 < steps <= long.pretrain.steps or (steps < long.pretrain.steps and (every <= 0 or steps % every)):
        raise DataError(
            f"{where}: {steps} steps is not a held-out checkpoint of the long run "
            f"(every {every} steps up to {long.pretrain.steps})"
        )


def cut_record(
    record: ResultRecord,
    short: Recipe | str | dict[str, Any],
    finetune: Callable[[ResultRecord, Recipe], ResultRecord] | None = None,
) -> ResultRecord:
    """The record ``short`` would have produced, read off ``record``'s held-out curve.

    A ``short`` recipe that fine-tunes tasks needs ``finetune(cut, short)``, which completes
    the cut (e.g. :func:`~flexibench.train.evaluate.finetune_from_snapshot` from the long
    run's snapshot at the cut).
    """
    short = load_recipe(short)
    long = load_recipe(record.recipe)
    check_cut(long, short, snapshots=finetune is not None)
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
    cut = replace(
        record,
        fidelity=short.fidelity,
        recipe=short.to_dict(),
        score=metrics["score"],
        task_scores={MLM_TASK: metrics["score"]},
        task_metrics={MLM_TASK: metrics},
        heldout=record.heldout.until(steps),  # the curve up to the cut
        pretrain_loss=math.nan,  # the training-loss tail up to the cut is not in the long run's record
        pretrain_time_s=record.pretrain_time_s * share,
        cpu_time_s=None if record.cpu_time_s is None else record.cpu_time_s * share,
        tokens_seen=round(record.tokens_seen * share),
        splits={
            **record.splits,
            MLM_TASK: {"cut_from": long.name, "checkpoint": steps, "of_steps": long.pretrain.steps},
        },
    )
    return cut if not short.tasks or finetune is None else finetune(cut, short)


def main(argv: list[str] | None = None) -> None:
    """Append the cut of every ok record in ``--from`` to the shard folder ``--out`` (keys already there are kept)."""
    import argparse

    from flexibench.bench.journal import JournalWriter, read_shards
    from flexibench.train.sweep import finished_keys, shard_path

    parser = argparse.ArgumentParser(prog="python -m flexibench.train.prefix", description=main.__doc__)
    parser.add_argument("--from", dest="source", required=True, help="shard folder of the long runs")
    parser.add_argument("--recipe", required=True, help="the shorter recipe (YAML or built-in name)")
    parser.add_argument("--out", required=True, help="shard folder of the shorter recipe")
    parser.add_argument("--snapshots", default=None, help="the long sweep's --state-dir: fine-tune from its snapshots")
    parser.add_argument("--data", default=None, help="data folder for fine-tuning (default $FLEXIBENCH_DATA)")
    args = parser.parse_args(argv)
    short = load_recipe(args.recipe)
    done = finished_keys(args.out)
    longs = [r for r in read_shards([args.source]) if r.status == "ok"]
    finetune = None if args.snapshots is None else _from_snapshots(Path(args.snapshots), args.data)
    fresh, kept = 0, 0
    with JournalWriter(shard_path(args.out)) as writer:
        for record in longs:  # one at a time: each fine-tuned record is journaled before the next starts
            if (record.card_hash, short.fidelity, record.seed) in done:
                kept += 1
                continue
            writer.append(cut_record(record, short, finetune))
            fresh += 1
    print(f"{fresh} record(s) cut to {short.name} -> {args.out} ({kept} already there)")


def _from_snapshots(state_dir: Path, data_dir: str | None) -> Callable[[ResultRecord, Recipe], ResultRecord]:
    """Fine-tune a cut from the long run's snapshot at the cut's step."""
    from flexibench.core.card import ModelCard
    from flexibench.train.evaluate import finetune_from_snapshot, snapshot_folder

    def complete(cut: ResultRecord, short: Recipe) -> ResultRecord:
        card, steps = ModelCard.from_dict(cut.card), short.pretrain.steps
        folder = snapshot_folder(state_dir, card, cut.splits[MLM_TASK]["cut_from"], cut.seed, steps)
        if not folder.is_dir():
            raise DataError(f"no snapshot of {card.short()} seed {cut.seed} after {steps} steps: {folder} is missing")
        return finetune_from_snapshot(cut, short, folder, data_dir)

    return complete


if __name__ == "__main__":
    main()
