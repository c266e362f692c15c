"""One evaluation: card + recipe + seed -> pretrain (MLM) -> fine-tune every task -> ResultRecord.

Configuration problems found before training (no data folder, unknown recipe) raise
:class:`FlexiBenchError`; anything that goes wrong while training is caught and
recorded: a NaN/exploding loss gives status ``diverged``, any other exception
``failed`` with the error text, so a sweep never stops on one bad architecture.
Tasks the data cannot support (no train split, hub unreachable) get NaN and a
note in ``splits``; they are never reported as run.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import os
import platform
import random
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from flexibench.core import ModelCard, card_hash
from flexibench.core.errors import DataError
from flexibench.core.heldout import HeldoutCurve
from flexibench.core.recipes import MLM_TASK, PretrainConfig, Recipe, TaskPlan, load_recipe, pretraining_trajectory
from flexibench.core.record import ResultRecord
from flexibench.core.tasks import glue_average, mlm_score, task_spec
from flexibench.models.hardware import cpu_model, emulated_bf16_problem
from flexibench.train.corpus import DATA_ENV
from flexibench.train.glue import TaskData, carve, local_split_file, read_hub, read_local, take
from flexibench.train.outcome import Measured, Outcome, record_of
from flexibench.train.pretrain import TrainingState, pretrain
from flexibench.train.tokenizer import get_tokenizer

log = logging.getLogger(__name__)  # one line per fine-tuned task at INFO, like pretraining's checkpoints


def resolve_data_dir(data_dir: str | Path | None) -> Path:
    """``data_dir`` or $FLEXIBENCH_DATA; a clear error when neither names an existing folder."""
    chosen = data_dir if data_dir is not None else os.environ.get(DATA_ENV)
    if not chosen:
        raise DataError(f"no data folder: pass --data DIR or set {DATA_ENV}")
    path = Path(chosen)
    if not path.is_dir():
        raise DataError(f"data folder {path} does not exist")
    return path


def corpus_and_tokenizer(root: Path, recipe: Recipe) -> tuple[Path, Any]:
    """The pretraining corpus under a data folder (its ``corpus/``, else the folder) and the recipe's tokenizer."""
    corpus = root / "corpus" if (root / "corpus").is_dir() else root
    return corpus, get_tokenizer(recipe.vocab_size, corpus_dir=corpus)


def resolve_device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def emulated_precision(recipe: Recipe, device: str | torch.device | None = None) -> str | None:
    """Why ``recipe``'s bf16 stages would be emulated on ``device`` (default: where runs land), or None.

    Fine-tuning counts only when the recipe fine-tunes a task; see :mod:`flexibench.models.hardware`.
    """
    stages = [
        stage
        for stage, precision in (("pretraining", recipe.pretrain.precision), ("fine-tuning", recipe.finetune.precision))
        if precision == "bf16" and (stage == "pretraining" or recipe.tasks)
    ]
    return emulated_bf16_problem(recipe.name, stages, resolve_device(device))


def _read_split(data_dir: Path, task: str, split: str, source: str) -> TaskData:
    spec = task_spec(task)
    if source == "hub" or (source == "auto" and local_split_file(data_dir, spec, split) is None):
        return read_hub(task, split)
    return read_local(data_dir, task, split)


def prepare_task(
    data_dir: Path, task: str, plan: TaskPlan, recipe: Recipe
) -> tuple[TaskData, TaskData, TaskData, dict[str, Any]]:
    """Carve (train, validation, test) for one task deterministically; raises DataError if it cannot run.

    Test is the public dev split (``plan.test == "dev"``) or, for a task whose local
    copy has only training rows (e.g. a QQP subset), a hash slice of train
    (``plan.test == "train-slice"``). Validation is always a hash slice of train.
    """
    salt = f"{recipe.split_salt}:{task}"
    full = _read_split(data_dir, task, "train", recipe.data_source)
    notes: dict[str, Any] = {
        "train_file": full.source,
        "skipped_rows": full.skipped_rows,
        "repaired_rows": full.repaired_rows,
    }
    if plan.test == "dev":
        test = _read_split(data_dir, task, "dev", recipe.data_source)
        notes["test_file"] = test.source
        notes["test_is"] = "public dev split (GLUE test labels are hidden)"
        pool = full
    elif plan.test == "train-slice":
        pool, test = carve(full, 0.1, salt + ":test")
        notes["test_is"] = "10% sha256 hash slice of train (no labelled dev split available)"
    else:
        raise DataError(f"recipe {recipe.name}: task {task}: test must be 'dev' or 'train-slice', not {plan.test!r}")
    train, val = carve(pool, plan.val_fraction, salt + ":val")
    train = take(train, plan.max_train, salt + ":take")
    val = take(val, plan.max_val, salt + ":val-take")
    test = take(test, plan.max_test, salt + ":test-take")
    notes.update(
        {
            "train": train.source,
            "val": val.source,
            "test": test.source,
            "n_train": len(train),
            "n_val": len(val),
            "n_test": len(test),
        }
    )
    return train, val, test, notes


def library_versions() -> dict[str, str]:
    import tokenizers

    from flexibench.core.version import __version__

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "tokenizers": tokenizers.__version__,
        "flexibench": __version__,
    }


def machine_description(device: torch.device) -> tuple[str, str]:
    """(device, machine) strings for the record: GPU name or CPU threads, host and processor."""
    if device.type == "cuda":
        name = f"cuda:{torch.cuda.get_device_name(device)}"
    else:
        name = f"cpu:{torch.get_num_threads()}threads"
    machine = f"{platform.node()} {platform.machine()} {cpu_model()} cpus={os.cpu_count()}"
    return name, machine


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def evaluate(
    card: ModelCard | str | dict[str, Any],
    recipe: Recipe | str | dict[str, Any],
    seed: int,
    data_dir: str | Path | None = None,
    transfer_from: str | Path | torch.nn.Module | None = None,
    device: str | torch.device | None = None,
    save_dir: str | Path | None = None,
    state_dir: str | Path | None = None,
    snapshot_every: int = 0,
) -> ResultRecord:
    """Pretrain and fine-tune ``card`` under ``recipe`` with ``seed``.

    Returns a record for every outcome of training: ``ok``, ``diverged`` or
    ``failed`` (with the error). What is checked before training raises instead:
    a malformed card (:class:`CardError`), an unknown recipe, a missing data folder
    or tokenizer (:class:`DataError`); a sweep's worker turns those into ``failed``
    records too (:func:`flexibench.train.runners.run_one`).

    ``transfer_from`` (a saved model folder or a model) starts from a neighbour's
    weights via :func:`flexibench.models.transfer_weights`; ``save_dir`` keeps the
    pretrained MLM model so later evaluations can transfer from it. With ``state_dir``,
    pretraining keeps its state there at every held-out checkpoint and a rerun of the same
    evaluation continues from it (:class:`~flexibench.train.pretrain.TrainingState`); the
    file is removed once the record is made. ``snapshot_every`` > 0 (with ``state_dir``) also
    saves the pretrained model every that many steps, under ``state_dir/snapshots/``
    (:func:`snapshot_folder`), where a shorter recipe's fine-tuning can start from it, and
    keeps the finished run's state under ``state_dir/kept/``, where a longer recipe of the same
    pretraining trajectory (constant schedule) continues it instead of starting again.
    """
    from flexibench.models import FlexiBERTForMaskedLM

    card = ModelCard.parse(card) if not isinstance(card, dict) else ModelCard.from_dict(card)
    recipe = load_recipe(recipe)
    root = resolve_data_dir(data_dir)
    dev = resolve_device(device)
    problem = emulated_precision(recipe, dev)
    if problem:  # the CLI and sweeps refuse this up front; a library caller may mean it (tests, a probe)
        warnings.warn(problem, RuntimeWarning, stacklevel=2)
    corpus, tokenizer = corpus_and_tokenizer(root, recipe)
    vocab = tokenizer.get_vocab_size()
    device_name, machine = machine_description(dev)
    measured = Measured.for_tasks(recipe.runs)
    snapshots = _snapshots(state_dir, card, recipe, seed, snapshot_every)  # raises before any training
    state: TrainingState | None = None  # built once the transfer source (part of its fingerprint) is known
    outcome = Outcome()
    with outcome:
        seed_everything(seed)
        max_len = max(recipe.pretrain.seq_len, recipe.finetune.max_seq_len)
        model = FlexiBERTForMaskedLM.from_card(card, vocab, seed=seed, dropout=recipe.pretrain.dropout, max_len=max_len)
        measured.params = sum(p.numel() for p in model.parameters())  # encoder + MLM head, as trained
        if transfer_from is not None:
            measured.transfer_source = _transfer(transfer_from, model)
        every = recipe.pretrain.heldout_every
        checkpoints = tuple(range(every, recipe.pretrain.steps, every)) if every > 0 else ()
        if state_dir is not None:
            state = training_state(state_dir, card, recipe, seed, measured.transfer_source)
        result = pretrain(
            model,
            tokenizer,
            corpus,
            recipe.pretrain,
            seed,
            dev,
            checkpoints=checkpoints,
            state=state,
            snapshots=snapshots,
        )
        measured.pretrain_loss, measured.pretrain_time_s = result.loss, result.time_s
        measured.cpu_time_s = result.cpu_s
        measured.tokens_seen = result.tokens_seen
        if result.heldout:
            _record_mlm(measured, result.heldout_curve, recipe.pretrain, vocab)
        if save_dir is not None:
            from flexibench.models import save_model

            save_model(model, save_dir)
        tasks = _Tasks(recipe, root, model.encoder.cpu(), tokenizer, int(seed), dev)
        for task, plan in recipe.tasks.items():
            tasks.run(task, plan, measured)
    status, error = outcome.status, outcome.error
    if state is not None and status == "ok" and snapshots is not None:
        state.keep(recipe.pretrain.steps)  # a longer recipe of the same trajectory continues from it
    elif state is not None:  # the record below replaces it (a run that failed before pretraining wrote none)
        state.clear()
    score = glue_average(measured.task_scores, list(recipe.scored)) if status == "ok" else math.nan
    return record_of(
        card,
        recipe.to_dict(),
        seed,
        status=status,
        score=score,
        error=error,
        measured=measured,
        device=device_name,
        machine=machine,
        versions=library_versions(),
    )


def finetune_from_snapshot(
    record: ResultRecord,
    recipe: Recipe | str | dict[str, Any],
    snapshot: str | Path,
    data_dir: str | Path | None = None,
    device: str | torch.device | None = None,
) -> ResultRecord:
    """``record`` (pretraining only, e.g. a cut of a longer run) completed by ``recipe``'s fine-tuning.

    Fine-tuning starts from the pretrained model saved in ``snapshot`` (the model after
    ``recipe.pretrain.steps`` steps, :func:`snapshot_folder`) with the record's seed; since
    fine-tuning seeds itself, the result equals :func:`evaluate` of ``recipe`` run from
    scratch (tested). The record keeps its pretraining results, provenance and times.
    """
    from flexibench.models import load_model

    recipe = load_recipe(recipe)
    if record.status != "ok":
        raise DataError(f"record {record.key}: status {record.status!r}; only ok records are fine-tuned")
    model = load_model(snapshot)
    if model.card != ModelCard.from_dict(record.card):
        raise DataError(f"snapshot {snapshot} holds {model.card.short()}, not the record's card")
    root, dev = resolve_data_dir(data_dir), resolve_device(device)
    _, tokenizer = corpus_and_tokenizer(root, recipe)
    measured = Measured.for_tasks(recipe.runs)
    measured.task_scores.update({k: v for k, v in record.task_scores.items() if k in recipe.runs})
    measured.task_metrics.update({k: v for k, v in record.task_metrics.items() if k in recipe.runs})
    measured.splits.update(record.splits)
    outcome = Outcome()
    with outcome:
        tasks = _Tasks(recipe, root, model.encoder.cpu(), tokenizer, int(record.seed), dev)
        for task, plan in recipe.tasks.items():
            tasks.run(task, plan, measured)
    status, error = outcome.status, outcome.error
    return replace(
        record,
        fidelity=recipe.fidelity,
        recipe=recipe.to_dict(),
        status=status,
        error=error,
        score=glue_average(measured.task_scores, list(recipe.scored)) if status == "ok" else math.nan,
        task_scores=measured.task_scores,
        task_metrics=measured.task_metrics,
        finetune_losses=measured.finetune_losses,
        finetune_time_s=measured.finetune_time_s,
        cpu_time_s=None if record.cpu_time_s is None else record.cpu_time_s + measured.cpu_time_s,
        splits=measured.splits,
    )


def snapshot_folder(state_dir: str | Path, card: ModelCard, fidelity: str, seed: int, step: int) -> Path:
    """Where :func:`evaluate` saves the model of (card, fidelity, seed) after ``step`` pretraining steps."""
    return Path(state_dir) / "snapshots" / f"{fidelity}-{card_hash(card)[:16]}-seed{int(seed)}" / f"step-{step}"


def _snapshots(
    state_dir: str | Path | None, card: ModelCard, recipe: Recipe, seed: int, every: int
) -> dict[int, Path] | None:
    if every <= 0:
        return None
    if state_dir is None:
        raise DataError("snapshot_every needs a state_dir to keep the snapshots in")
    steps = range(every, recipe.pretrain.steps + 1, every)
    return {step: snapshot_folder(state_dir, card, recipe.fidelity, seed, step) for step in steps}


def training_state(
    state_dir: str | Path, card: ModelCard, recipe: Recipe, seed: int, transfer_source: str | None
) -> TrainingState:
    """The state file of one evaluation: named by card, fidelity and seed, fingerprinted by all it depends on.

    Under the constant schedule it also names the pretraining trajectory (the recipe without its
    length and what follows pretraining), whose finished runs are kept under ``state_dir/kept/``.
    """
    digest = card_hash(card)
    identity = {"card": digest, "seed": int(seed), "transfer": transfer_source}
    fingerprint = _digest({**identity, "recipe": recipe.to_dict()})
    path = Path(state_dir) / f"{recipe.fidelity}-{digest[:16]}-seed{int(seed)}.pt"
    if recipe.pretrain.schedule != "constant":
        return TrainingState(path, fingerprint)
    trajectory = _digest({**identity, "trajectory": pretraining_trajectory(recipe)})
    return TrainingState(path, fingerprint, trajectory, Path(state_dir) / "kept" / trajectory[:24])


def _digest(identity: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def _record_mlm(measured: Measured, curve: dict[int, dict[str, float]], config: PretrainConfig, vocab: int) -> None:
    """Held-out MLM as task ``MLM`` (score from the final loss) and every checkpoint as the record's curve."""
    final = curve[config.steps]
    metrics = {**final, "score": mlm_score(final["loss"], vocab)}
    measured.task(MLM_TASK, metrics["score"], metrics, None, {})
    measured.heldout = HeldoutCurve.from_checkpoints(curve, config.batch_size * config.seq_len)


@dataclass(frozen=True)
class _Tasks:
    """What fine-tuning every task of a recipe shares: the pretrained encoder, tokenizer, data, seed, device."""

    recipe: Recipe
    root: Path
    encoder: torch.nn.Module
    tokenizer: Any
    seed: int
    device: torch.device

    def run(self, task: str, plan: TaskPlan, measured: Measured) -> None:
        """Fine-tune one task into ``measured``; a task the data cannot support is noted as not run."""
        from flexibench.models import FlexiBERTForSequenceClassification
        from flexibench.train.finetune import finetune_task

        try:
            train, val, test, notes = prepare_task(self.root, task, plan, self.recipe)
        except DataError as exc:
            measured.splits[task] = {"status": "not run", "reason": str(exc)}
            return
        labels = task_spec(task).num_labels

        def make_model() -> torch.nn.Module:
            return FlexiBERTForSequenceClassification.from_encoder(copy.deepcopy(self.encoder), labels)

        started, cpu = time.perf_counter(), time.process_time()
        try:
            result = finetune_task(
                make_model, self.tokenizer, task, train, val, test, self.recipe.finetune, self.seed, self.device
            )
        finally:
            measured.finetune_time_s += time.perf_counter() - started
            if measured.cpu_time_s is not None:
                measured.cpu_time_s += time.process_time() - cpu
        metrics = {**result.metrics, "val": result.val_score, "epochs": float(result.epochs)}
        split = {**notes, "status": "run", "hparams": result.hparams, "trials": result.trials}
        measured.task(task, result.score, metrics, result.loss, split)
        log.info(
            "%s fine-tuned on %s: test %.2f, validation %.2f, %d epoch(s) (%.0f s)",
            self.encoder.card.short(),
            task,
            result.score,
            result.val_score,
            result.epochs,
            result.time_s,
        )


def _transfer(source: str | Path | torch.nn.Module, model: torch.nn.Module) -> str:
    from flexibench.models import load_model, transfer_weights

    source_model = load_model(source) if isinstance(source, (str, Path)) else source
    transfer_weights(source_model, model)
    return card_hash(source_model.card)
