"""What GLUE fine-tuning costs per task on this CPU, fp32 against bf16, from one pretrained snapshot.

The long fidelity fine-tunes every anchor card on six GLUE tasks after pretraining, so the
fine-tuning plan (examples per task, epochs, precision) is sized from these rates. Each task is
fine-tuned by the harness's own code (:func:`flexibench.train.finetune.finetune_task`, through
:func:`flexibench.train.evaluate.finetune_from_snapshot`) for one epoch on at most ``--examples``
training examples, in both precisions, one thread; the figure is training examples per CPU-second
of this process (other load on a shared machine stretches wall time, not CPU time), validation and
test scoring included in the CPU time. The test score is reported for both precisions: one epoch on
a slice is not a result, only a check that bf16 fine-tuning lands where fp32 does.

    python benchmarks/bench_finetune.py --snapshot STATE_DIR/snapshots/<run>/step-6000 \\
        --record-from data/shards/small-pilot --data $FLEXIBENCH_DATA --out benchmarks/results/finetune.json
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import torch

from flexibench.bench.journal import read_shards
from flexibench.core.recipes import load_recipe
from flexibench.train.evaluate import finetune_from_snapshot

TASKS = ("CoLA", "SST-2", "MRPC", "STS-B", "QQP", "RTE")


def plan(task: str) -> dict:
    """The task's split plan as ``micro`` carves it (QQP's test from its train subset)."""
    return dict(load_recipe("micro").to_dict()["tasks"][task])


def time_task(record, snapshot: Path, data: str, task: str, precision: str, examples: int, base: dict) -> dict:  # noqa: ANN001
    recipe = copy.deepcopy(base)
    recipe["name"] = f"bench-finetune-{precision}"
    recipe["finetune"].update(epochs=1, precision=precision)
    recipe["tasks"] = {task: {**plan(task), "max_train": examples}}
    recipe["scored"] = [task]
    start = time.process_time()
    done = finetune_from_snapshot(record, recipe, snapshot, data_dir=data, device="cpu")
    cpu = time.process_time() - start
    if done.status != "ok":
        raise RuntimeError(f"{task} {precision}: {done.error}")
    n = int(done.splits[task]["n_train"])
    return {"task": task, "precision": precision, "cpu_s": cpu, "n_train": n, "examples_per_cpu_s": n / cpu,
            "score": done.task_scores[task]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot", required=True, type=Path, help="STATE_DIR/snapshots/RUN/step-N")
    parser.add_argument("--record-from", required=True, help="shard folder holding the snapshot's pretraining record")
    parser.add_argument("--data", required=True)
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--examples", type=int, default=2000, help="training examples per task (one epoch)")
    parser.add_argument("--finetune", default="micro", help="recipe whose finetune section is timed (default micro)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    digest = args.snapshot.parent.name.split("-")[-2]
    (record,) = [r for r in read_shards([args.record_from]) if r.card_hash.startswith(digest)]
    base = record.recipe | {"finetune": load_recipe(args.finetune).to_dict()["finetune"]}
    rows = []
    for task in args.tasks.split(","):
        for precision in ("fp32", "bf16"):
            rows.append(time_task(record, args.snapshot, args.data, task, precision, args.examples, base))
            print(json.dumps(rows[-1]), flush=True)
    if args.out:
        args.out.write_text(json.dumps({"snapshot": str(args.snapshot), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
