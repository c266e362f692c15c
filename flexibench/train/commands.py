"""CLI: ``flexibench train`` (one evaluation) and ``flexibench sweep`` (many, resumable)."""

from __future__ import annotations

import argparse
import json
import math
import signal
from contextlib import closing
from typing import Any

from flexibench.core.errors import DataError

ALLOW_EMULATED_HELP = "run a bf16 recipe even where this CPU has no native bfloat16 (tens of times slower)"


def register(subparsers: Any) -> None:
    train = subparsers.add_parser("train", help="pretrain + fine-tune one card under a recipe; print its record")
    train.add_argument("card", help="card name (e.g. bert-tiny) or card JSON")
    train.add_argument("--recipe", default="nano", help="nano, micro, paper or a recipe YAML file")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--data", default=None, help="data folder (default: $FLEXIBENCH_DATA)")
    train.add_argument("--out", default=None, help="append the record to this journal shard")
    train.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: cuda when available)")
    train.add_argument("--threads", type=int, default=None, help="torch threads")
    train.add_argument("--transfer-from", default=None, help="saved model folder to transfer weights from")
    train.add_argument("--save", default=None, help="save the pretrained model to this folder")
    train.add_argument("--allow-emulated-bf16", action="store_true", help=ALLOW_EMULATED_HELP)
    train.set_defaults(handler=_train)

    sweep = subparsers.add_parser("sweep", help="evaluate many cards x seeds into journal shards (resumable)")
    which = sweep.add_mutually_exclusive_group(required=True)
    which.add_argument("--cards", help="file with one card (name or JSON) per line")
    which.add_argument("--sample", type=int, help="N random level-1 cards")
    which.add_argument("--named", action="store_true", help="every card named in the paper")
    which.add_argument("--order", choices=["paper"], help="paper: initial, homogeneous, FlexiBERT-Mini, heterogeneous")
    sweep.add_argument("--limit", type=int, default=None, help="keep the first N cards of the queue")
    sweep.add_argument("--sample-seed", type=int, default=0, help="seed of --sample / the heterogeneous order")
    sweep.add_argument("--recipe", default="nano")
    sweep.add_argument("--seeds", default="0", help="comma-separated seeds, e.g. 0,1")
    sweep.add_argument("--workers", type=int, default=1)
    sweep.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    sweep.add_argument("--backend", choices=["local", "ray"], default="local")
    sweep.add_argument("--address", default=None, help="Ray cluster address (e.g. auto or ray://host:10001)")
    sweep.add_argument("--data", default=None)
    sweep.add_argument("--out", required=True, help="folder of journal shards (reruns skip finished keys)")
    sweep.add_argument("--no-progress", action="store_true")
    sweep.add_argument(
        "--state-dir", default=None, help="keep mid-run training state here; a restarted sweep continues from it"
    )
    sweep.add_argument(
        "--snapshot-every",
        type=int,
        default=0,
        metavar="STEPS",
        help="with --state-dir: also save each pretrained model every STEPS steps (under STATE_DIR/snapshots)",
    )
    sweep.add_argument("--allow-emulated-bf16", action="store_true", help=ALLOW_EMULATED_HELP)
    sweep.set_defaults(handler=_sweep)


def _train(args: argparse.Namespace) -> int:
    import torch

    from flexibench.bench.journal import JournalWriter
    from flexibench.core import ModelCard
    from flexibench.core.recipes import load_recipe
    from flexibench.train.evaluate import emulated_precision, evaluate, resolve_data_dir

    if args.threads:
        torch.set_num_threads(args.threads)
    card = ModelCard.parse(args.card)
    recipe = load_recipe(args.recipe)
    problem = None if args.allow_emulated_bf16 else emulated_precision(recipe, args.device)
    if problem:
        raise DataError(problem)
    data = resolve_data_dir(args.data)
    record = evaluate(
        card, recipe, args.seed, data_dir=data, transfer_from=args.transfer_from, device=args.device, save_dir=args.save
    )
    if args.out:
        with JournalWriter(args.out) as writer:
            writer.append(record)
    print(record.to_json())
    return 0 if record.status == "ok" else 1


def _seeds(text: str) -> list[int]:
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise DataError(f"--seeds must be comma-separated integers, not {text!r}") from None


def _sweep(args: argparse.Namespace) -> int:
    from flexibench.core import NAMED_CARDS, ModelCard
    from flexibench.core.recipes import load_recipe
    from flexibench.train.evaluate import resolve_data_dir
    from flexibench.train.sweep import paper_queue, read_cards_file, run_sweep, sample_cards

    recipe = load_recipe(args.recipe)
    data = str(resolve_data_dir(args.data))
    if args.cards:
        cards = read_cards_file(args.cards)
    elif args.sample is not None:
        cards = sample_cards(args.sample, seed=args.sample_seed)
    elif args.named:
        cards = [ModelCard.named(name) for name in NAMED_CARDS]
    else:
        cards = paper_queue(seed=args.sample_seed)
    if args.limit is not None:
        cards = cards[: args.limit]
    counts = {"ok": 0, "diverged": 0, "failed": 0}
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # unwinds the sweep, which stops its workers
    records = run_sweep(
        cards,
        recipe,
        _seeds(args.seeds),
        args.out,
        data_dir=data,
        workers=args.workers,
        threads=args.threads,
        backend=args.backend,
        address=args.address,
        progress=not args.no_progress,
        state_dir=args.state_dir,
        snapshot_every=args.snapshot_every,
        allow_emulated_bf16=args.allow_emulated_bf16,
    )
    with closing(records):
        for record in records:
            counts[record.status] += 1
            score = "nan" if math.isnan(record.score) else f"{record.score:.2f}"
            print(
                json.dumps(
                    {
                        "card": record.card_hash[:12],
                        "seed": record.seed,
                        "status": record.status,
                        "score": score,
                        "time_s": round(record.total_time_s, 1),
                    }
                ),
                flush=True,
            )
    print(json.dumps({"finished": counts}))
    return 0


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    """``kill`` of a sweep behaves like Ctrl-C: unwind, stop the workers, exit 143."""
    raise SystemExit(128 + signum)
