"""Fine-tuning one task: encode, train with early stopping on the validation slice, test the best epoch.

With ``hpo`` set in the recipe (the paper recipe), Optuna's TPE sampler searches the
learning rate (log-uniform) and batch size, each trial judged on the validation
slice only; the test split is scored once, with the chosen trial's best weights.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tokenizers import Tokenizer
from torch import nn

from flexibench.core.recipes import FinetuneConfig
from flexibench.core.tasks import primary_score, task_spec
from flexibench.train.glue import TaskData
from flexibench.train.metrics import task_metrics
from flexibench.train.pretrain import adamw, check_loss, forward_precision, linear_schedule, optimizer_step


@dataclass
class Encoded:
    input_ids: list[list[int]]
    type_ids: list[list[int]]
    labels: np.ndarray


@dataclass
class FinetuneResult:
    metrics: dict[str, float]  # test metrics of the chosen weights (percent)
    score: float  # primary test metric
    val_score: float
    loss: float  # last training loss of the chosen run
    epochs: int
    time_s: float
    hparams: dict[str, Any] = field(default_factory=dict)
    trials: list[dict[str, Any]] = field(default_factory=list)


def encode(tokenizer: Tokenizer, data: TaskData, max_len: int) -> Encoded:
    """Token ids and segment ids of every example, truncated to ``max_len`` (longest-first for pairs)."""
    tok = Tokenizer.from_str(tokenizer.to_str())  # own copy: truncation settings are per tokenizer object
    tok.enable_truncation(max_len)
    tok.no_padding()
    if data.text_b is None:
        encodings = tok.encode_batch(data.text_a)
    else:
        encodings = tok.encode_batch(list(zip(data.text_a, data.text_b)))
    return Encoded([e.ids for e in encodings], [e.type_ids for e in encodings], data.labels)


def _batch(enc: Encoded, idx: np.ndarray, device: torch.device, regression: bool):  # noqa: ANN202
    length = max(len(enc.input_ids[i]) for i in idx)
    ids = torch.zeros((len(idx), length), dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    for row, i in enumerate(idx):
        n = len(enc.input_ids[i])
        ids[row, :n] = torch.tensor(enc.input_ids[i])
        types[row, :n] = torch.tensor(enc.type_ids[i])
        mask[row, :n] = 1
    labels = torch.tensor(enc.labels[idx], dtype=torch.float32 if regression else torch.long)
    return ids.to(device), mask.to(device), types.to(device), labels.to(device)


@torch.no_grad()
def predict(model: nn.Module, enc: Encoded, batch_size: int, device: torch.device, regression: bool) -> np.ndarray:
    """Class ids (or regression values) for every example, in order."""
    model.eval()
    order = np.argsort([len(x) for x in enc.input_ids], kind="stable")  # similar lengths share a batch
    out = np.empty(len(order), dtype=np.float64 if regression else np.int64)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        ids, mask, types, _ = _batch(enc, idx, device, regression)
        logits = model(ids, mask, types).logits.float()
        out[idx] = (logits.squeeze(-1) if regression else logits.argmax(-1)).cpu().numpy()
    return out


def train_task(
    make_model,  # noqa: ANN001 - () -> FlexiBERTForSequenceClassification
    task: str,
    train: Encoded,
    val: Encoded,
    config: FinetuneConfig,
    lr: float,
    batch_size: int,
    seed: int,
    device: torch.device,
) -> tuple[nn.Module, float, float, int]:
    """Train with early stopping; returns (best model, best validation score, last loss, epochs run).

    Torch's generator is seeded here, so the new head's weights and the dropout masks depend
    on ``seed`` alone, not on what ran before: fine-tuning a saved pretrained model gives
    the same result as fine-tuning right after pretraining it.
    """
    spec = task_spec(task)
    torch.manual_seed(seed)
    model = make_model().to(device)
    optimizer = adamw(model, lr, config.weight_decay, (0.9, 0.98), 1e-6)
    steps_per_epoch = max(1, math.ceil(len(train.labels) / batch_size))
    total = steps_per_epoch * config.epochs
    scheduler = linear_schedule(optimizer, int(config.warmup_ratio * total), total)
    rng = np.random.default_rng(seed)
    best_state, best_val, last_loss, waited, epochs = None, -math.inf, math.nan, 0, 0
    step = 0
    for _epoch in range(config.epochs):
        model.train()
        order = rng.permutation(len(train.labels))
        for start in range(0, len(order), batch_size):
            ids, mask, types, labels = _batch(train, order[start : start + batch_size], device, spec.is_regression)
            with forward_precision(device, config.precision):
                loss = model(ids, mask, types, labels).loss
            last_loss = float(loss.detach())
            check_loss(f"finetune {task}", step, last_loss, config.max_loss)
            optimizer_step(model, loss, optimizer, scheduler, config.grad_clip)
            step += 1
        epochs += 1
        preds = predict(model, val, 128, device, spec.is_regression)
        val_score = primary_score(task, task_metrics(task, preds, val.labels))
        if val_score > best_val:
            best_val, waited = val_score, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
            if waited > config.patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    return model, best_val, last_loss, epochs


def finetune_task(
    make_model,  # noqa: ANN001
    tokenizer: Tokenizer,
    task: str,
    train: TaskData,
    val: TaskData,
    test: TaskData,
    config: FinetuneConfig,
    seed: int,
    device: torch.device | str = "cpu",
) -> FinetuneResult:
    """Fine-tune on ``train``, select on ``val``, report ``test`` metrics (Optuna search when configured)."""
    start = time.perf_counter()
    device = torch.device(device)
    spec = task_spec(task)
    enc_train, enc_val, enc_test = (encode(tokenizer, d, config.max_seq_len) for d in (train, val, test))
    trials: list[dict[str, Any]] = []
    if config.hpo is None:
        model, val_score, loss, epochs = train_task(
            make_model, task, enc_train, enc_val, config, config.lr, config.batch_size, seed, device
        )
        hparams = {"lr": config.lr, "batch_size": config.batch_size}
    else:
        model, val_score, loss, epochs, hparams, trials = _search(
            make_model, task, enc_train, enc_val, config, seed, device
        )
    preds = predict(model, enc_test, 128, device, spec.is_regression)
    metrics = task_metrics(task, preds, enc_test.labels)
    return FinetuneResult(
        metrics, primary_score(task, metrics), val_score, loss, epochs, time.perf_counter() - start, hparams, trials
    )


def _search(make_model, task, enc_train, enc_val, config, seed, device):  # noqa: ANN001, ANN202
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    hpo = config.hpo
    best: dict[str, Any] = {}

    def objective(trial: optuna.Trial) -> float:
        lr = trial.suggest_float("lr", hpo.lr_min, hpo.lr_max, log=True)
        batch = trial.suggest_categorical("batch_size", list(hpo.batch_sizes))
        model, val_score, loss, epochs = train_task(
            make_model, task, enc_train, enc_val, config, lr, batch, seed, device
        )
        if not best or val_score > best["val"]:
            best.update(val=val_score, model=model, loss=loss, epochs=epochs, hparams={"lr": lr, "batch_size": batch})
        return val_score

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=hpo.trials, catch=())
    trials = [{"lr": t.params["lr"], "batch_size": t.params["batch_size"], "val": t.value} for t in study.trials]
    return best["model"], best["val"], best["loss"], best["epochs"], best["hparams"], trials
