"""Masked-language-model pretraining with RoBERTa-style dynamic masking.

The corpus is tokenized once into one id stream and cut into fixed blocks
(``[CLS] ... [SEP]``); every step draws fresh blocks and a fresh mask (15% of
tokens; 80% ``[MASK]``, 10% random, 10% unchanged), so no two epochs see the same
masks. A NaN, infinite or exploding loss raises :class:`Diverged`, which the
evaluation turns into a ``diverged`` record instead of a crash.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer
from torch import nn

from flexibench.core.cache import cache_dir
from flexibench.core.errors import DataError
from flexibench.core.recipes import PretrainConfig
from flexibench.models.io import save_model
from flexibench.train.corpus import corpus_files, read_corpus
from flexibench.train.outcome import Diverged
from flexibench.train.tokenizer import CLS, MASK, PAD, SEP, SPECIAL_TOKENS

IGNORE_INDEX = -100


log = logging.getLogger(__name__)  # held-out checkpoints at INFO: a long run says how far it is

HELDOUT_MASK_SEED = 20230101  # one fixed masking of the held-out blocks, shared by every card and seed


@dataclass
class PretrainResult:
    loss: float  # mean training loss over the last 10% of steps (at least one)
    steps: int
    tokens_seen: int
    time_s: float
    curve: list[float] = field(default_factory=list)
    # held-out MLM metrics after the last step (empty when the recipe holds no blocks out) and at
    # every checkpoint asked for: {step: {"loss", "accuracy", "perplexity"}}
    heldout: dict[str, float] = field(default_factory=dict)
    heldout_curve: dict[int, dict[str, float]] = field(default_factory=dict)
    cpu_s: float | None = None  # process CPU seconds, summed over resumes; None when a resumed state lacked it


STREAM_CHUNK = 2048  # paragraphs encoded per tokenizer call


@lru_cache(maxsize=4)
def _token_stream(corpus_dir: str, tokenizer_json: str, max_chars: int) -> np.ndarray:
    """The corpus as one int32 id stream: from the disk cache when this corpus was encoded before.

    Encoding the whole local corpus (26.5M tokens) takes a worker minutes, and every
    evaluation of a sweep starts in a fresh process (``runners.FRESH_WORKERS``), so the stream is kept in the cache
    (:func:`flexibench.core.cache.cache_dir`) under a digest of the tokenizer, the character
    budget and every corpus file's name, size and modification time.
    """
    files = [(str(p.relative_to(corpus_dir)), p.stat().st_size, p.stat().st_mtime_ns) for p in corpus_files(corpus_dir)]
    key = json.dumps({"tokenizer": tokenizer_json, "max_chars": max_chars, "files": files, "format": 1})
    path = cache_dir() / "corpus" / f"tokens-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npy"
    if path.is_file():
        try:
            return np.load(path)
        except (OSError, ValueError) as exc:  # a damaged cache file is rebuilt, never trusted
            log.warning("re-encoding the corpus: cached stream %s is unreadable (%s)", path, exc)
    stream = encode_stream(corpus_dir, tokenizer_json, max_chars)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}-{os.getpid()}.partial.npy")
    np.save(partial, stream)
    partial.replace(path)
    return stream


def encode_stream(corpus_dir: str | Path, tokenizer_json: str, max_chars: int) -> np.ndarray:
    """The corpus encoded: one int32 id stream, a chunk of paragraphs per tokenizer call.

    Encoding every paragraph in one ``encode_batch`` kept all the ``Encoding`` objects
    (offsets, tokens, masks) alive at once: about 7.8 GB per process for the whole local
    Wikipedia corpus (26.5M tokens). Chunks give the same ids with memory for one chunk.
    """
    tokenizer = Tokenizer.from_str(tokenizer_json)
    paragraphs = read_corpus(corpus_dir, max_chars=max_chars)
    chunks = [np.zeros(0, dtype=np.int32)]
    for start in range(0, len(paragraphs), STREAM_CHUNK):
        encodings = tokenizer.encode_batch(paragraphs[start : start + STREAM_CHUNK], add_special_tokens=False)
        chunks.append(np.fromiter((i for enc in encodings for i in enc.ids), dtype=np.int32))
    return np.concatenate(chunks)


def token_blocks(corpus_dir: str | Path, tokenizer: Tokenizer, seq_len: int, max_chars: int) -> torch.Tensor:
    """The corpus as ``(n_blocks, seq_len)`` ids, each block ``[CLS] <seq_len-2 tokens> [SEP]``."""
    if seq_len < 4:
        raise DataError(f"pretraining seq_len {seq_len} is too short (at least 4)")
    stream = _token_stream(str(corpus_dir), tokenizer.to_str(), int(max_chars))
    body = seq_len - 2
    n_blocks = len(stream) // body
    if n_blocks == 0:
        raise DataError(f"corpus {corpus_dir} has {len(stream)} tokens, fewer than one block of {body}")
    blocks = torch.from_numpy(stream[: n_blocks * body].astype(np.int64)).view(n_blocks, body)
    cls = torch.full((n_blocks, 1), tokenizer.token_to_id(CLS), dtype=torch.long)
    sep = torch.full((n_blocks, 1), tokenizer.token_to_id(SEP), dtype=torch.long)
    return torch.cat([cls, blocks, sep], dim=1)


def split_heldout(blocks: torch.Tensor, n_heldout: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, held-out) blocks: the last ``n_heldout`` blocks of the stream never enter training.

    The tail of the stream is whole articles the training blocks do not contain, so the
    held-out loss measures generalisation rather than memorisation.
    """
    if n_heldout <= 0:
        return blocks, blocks[:0]
    if n_heldout >= len(blocks):
        raise DataError(f"held-out MLM set of {n_heldout} blocks leaves no training blocks (corpus has {len(blocks)})")
    return blocks[:-n_heldout], blocks[-n_heldout:]


def mask_tokens(
    input_ids: torch.Tensor,
    mask_id: int,
    vocab_size: int,
    special_ids: torch.Tensor,
    generator: torch.Generator,
    mask_prob: float = 0.15,
    split: tuple[float, float, float] = (0.8, 0.1, 0.1),
) -> tuple[torch.Tensor, torch.Tensor]:
    """Dynamic masking: choose ``mask_prob`` of the non-special tokens; labels are -100 elsewhere."""
    labels = input_ids.clone()
    probs = torch.full(input_ids.shape, mask_prob)
    probs[torch.isin(input_ids, special_ids)] = 0.0
    chosen = torch.bernoulli(probs, generator=generator).bool()
    labels[~chosen] = IGNORE_INDEX
    inputs = input_ids.clone()
    draw = torch.rand(input_ids.shape, generator=generator)
    to_mask = chosen & (draw < split[0])
    to_random = chosen & (draw >= split[0]) & (draw < split[0] + split[1])
    inputs[to_mask] = mask_id
    low = len(SPECIAL_TOKENS)  # special tokens take the first ids; never insert them at random
    randoms = torch.randint(low, vocab_size, input_ids.shape, generator=generator)
    inputs[to_random] = randoms[to_random]
    return inputs, labels


def linear_schedule(
    optimizer: torch.optim.Optimizer, warmup: int, total: int, decay: bool = True
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up to the peak learning rate over ``warmup`` steps, then linear decay to zero at ``total``.

    With ``decay=False`` the rate stays at its peak after warm-up: then the model after
    ``k`` steps is exactly the model a ``k``-step recipe would give, so every held-out
    checkpoint of one run is itself a valid lower fidelity (a learning curve).
    """

    def factor(step: int) -> float:
        if warmup > 0 and step < warmup:
            return (step + 1) / warmup
        if not decay:
            return 1.0
        return max(0.0, (total - step) / max(1, total - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def adamw(model: nn.Module, lr: float, weight_decay: float, betas: tuple[float, float], eps: float):  # noqa: ANN201
    """AdamW without weight decay on biases, norms and embeddings' LayerNorm (BERT convention)."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if param.ndim < 2 or "norm" in name.lower() else decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=tuple(betas), eps=eps)


def optimizer_step(model: nn.Module, loss: torch.Tensor, optimizer, scheduler, grad_clip: float) -> None:  # noqa: ANN001
    """One update shared by pretraining and fine-tuning: backward, optional clipping, step, schedule."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip:
        nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    scheduler.step()


@torch.no_grad()
def heldout_mlm(
    model: nn.Module,
    blocks: torch.Tensor,
    tokenizer: Tokenizer,
    config: PretrainConfig,
    device: torch.device,
    batch_size: int = 64,
) -> dict[str, float]:
    """Masked-token loss, accuracy (%) and perplexity on the held-out blocks under one fixed masking.

    The masks come from :data:`HELDOUT_MASK_SEED`, not the run's seed, so every card and
    seed is scored on exactly the same positions: differences are the model's, not the
    masking's. Dropout is off while scoring.
    """
    generator = torch.Generator().manual_seed(HELDOUT_MASK_SEED)
    special = torch.tensor([tokenizer.token_to_id(t) for t in SPECIAL_TOKENS])
    mask_id, vocab = tokenizer.token_to_id(MASK), tokenizer.get_vocab_size()
    was_training = model.training
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    for start in range(0, len(blocks), batch_size):
        batch = blocks[start : start + batch_size]
        inputs, labels = mask_tokens(batch, mask_id, vocab, special, generator, config.mask_prob, config.mask_split)
        logits = model(inputs.to(device), labels=labels.to(device)).logits  # (masked positions, vocab)
        target = labels[labels != IGNORE_INDEX].to(device)
        total_loss += float(nn.functional.cross_entropy(logits.float(), target, reduction="sum"))
        correct += int((logits.argmax(-1) == target).sum())
        count += int(target.numel())
    model.train(was_training)
    loss = total_loss / max(1, count)
    return {"loss": loss, "accuracy": 100.0 * correct / max(1, count), "perplexity": math.exp(min(loss, 50.0))}


def forward_precision(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The context the forward pass and loss run in: bfloat16 autocast for ``"bf16"``, nothing for ``"fp32"``.

    Only the forward pass is autocast: backward follows the forward's dtypes by itself, and the
    master weights, gradients, clipping and AdamW stay fp32 outside the context. Running the
    optimizer step and held-out scoring under autocast as well broke training (a held-out loss of
    8.4 at step 800 against 6.6 in fp32, for our BERT-Mini and Hugging Face's alike).
    """
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    raise DataError(f"unknown precision {precision!r}; expected 'fp32' or 'bf16'")


@dataclass(frozen=True)
class TrainingState:
    """Where one evaluation keeps its training state between checkpoints, and what it must match.

    ``fingerprint`` names the evaluation (card, recipe, seed, transfer source): a state file
    written by any other evaluation is never loaded, it is replaced. Files are written to a
    temporary name and renamed, so a kill while saving leaves the previous state intact.

    ``trajectory`` names the pretraining run regardless of its length (the card, seed, transfer
    source and :func:`~flexibench.core.recipes.pretraining_trajectory`; constant schedules
    only), and ``kept`` is the folder where finished runs of that trajectory leave their last
    state (:meth:`keep`). A run with no state of its own continues the longest kept run no
    longer than itself: a budget found too short is extended by the missing steps only, and
    the result equals a fresh run of the longer recipe (tested).
    """

    path: Path
    fingerprint: str
    trajectory: str | None = None
    kept: Path | None = None

    def load(self, max_step: int | None = None) -> dict | None:
        """The saved state; else the longest kept state of the trajectory with at most ``max_step`` steps; or None."""
        own = _read_state(self.path, "fingerprint", self.fingerprint)
        if own is not None or self.trajectory is None or self.kept is None:
            return own
        for step, path in sorted(self._kept_states(), reverse=True):
            if max_step is None or step <= max_step:
                if (saved := _read_state(path, "trajectory", self.trajectory)) is not None:
                    log.info("continuing the %d-step run kept in %s", step, path)
                    return saved
        return None

    def save(self, **content: object) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial")
        torch.save({"fingerprint": self.fingerprint, "trajectory": self.trajectory, **content}, partial)
        partial.replace(self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)

    def keep(self, steps: int) -> Path | None:
        """Move the state of a run finished after ``steps`` steps into ``kept`` (as ``step-N.pt``) for longer runs
        to continue; without a trajectory, clear it. A run that continued a kept run of its own length saved none."""
        if not self.path.is_file() or self.trajectory is None or self.kept is None:
            self.clear()
            return None
        target = self.kept / f"step-{int(steps)}.pt"
        target.parent.mkdir(parents=True, exist_ok=True)
        self.path.replace(target)
        return target

    def _kept_states(self) -> list[tuple[int, Path]]:
        if self.kept is None or not self.kept.is_dir():
            return []
        found = [(path.stem.removeprefix("step-"), path) for path in self.kept.glob("step-*.pt")]
        return [(int(step), path) for step, path in found if step.isdigit()]


def _read_state(path: Path, field_name: str, expected: str) -> dict | None:
    """The state saved at ``path`` if its ``field_name`` is ``expected``; None when missing, unreadable or another's."""
    if not path.is_file():
        return None
    try:
        saved = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - a damaged state is replaced, never trusted
        log.warning("ignoring unreadable training state %s (%s)", path, exc)
        return None
    if not isinstance(saved, dict) or saved.get(field_name) != expected:
        log.warning("ignoring training state %s: it belongs to another evaluation", path)
        return None
    return saved


def _take_snapshots(earlier: Mapping[int, str], planned: Mapping[int, Path] | None, first: int) -> None:
    """Copy the snapshots a continued run's earlier steps saved elsewhere to where this run keeps its own."""
    for step, folder in (planned or {}).items():
        source = earlier.get(step)
        if step <= first and not folder.is_dir() and source is not None and Path(source).is_dir():
            shutil.copytree(source, folder)


def check_loss(phase: str, step: int, loss: float, max_loss: float) -> None:
    if not math.isfinite(loss) or loss > max_loss:
        raise Diverged(phase, step, loss)


def pretrain(
    model: nn.Module,
    tokenizer: Tokenizer,
    corpus_dir: str | Path,
    config: PretrainConfig,
    seed: int,
    device: torch.device | str = "cpu",
    checkpoints: tuple[int, ...] = (),
    state: TrainingState | None = None,
    snapshots: Mapping[int, Path] | None = None,
) -> PretrainResult:
    """Train ``model`` (a FlexiBERTForMaskedLM) for ``config.steps`` MLM steps; raises :class:`Diverged`.

    With ``config.heldout_blocks`` > 0 the model is scored on that many held-out blocks
    after training (and after every step count in ``checkpoints``: a learning curve).
    With ``state``, the run saves everything it needs to go on (weights, AdamW moments, the
    schedule, the data order and position, every random generator, the curves so far) at
    each checkpoint and at the end, and a run whose state file exists continues from it:
    the result equals an uninterrupted run's (tested), so a killed long run loses at most
    the steps since its last checkpoint. ``snapshots`` maps step counts to folders where the
    model is saved (:func:`~flexibench.models.save_model`) after that many steps: with the
    constant schedule the snapshot after k steps is the k-step recipe's pretrained model, so a
    shorter recipe's fine-tuning can start from it without pretraining again.
    """
    start, cpu_start = time.perf_counter(), time.process_time()
    device = torch.device(device)
    if config.steps <= 0:
        return PretrainResult(math.nan, 0, 0, 0.0)
    blocks, heldout = split_heldout(
        token_blocks(corpus_dir, tokenizer, config.seq_len, config.corpus_chars), config.heldout_blocks
    )
    generator = torch.Generator().manual_seed(seed)
    special = torch.tensor([tokenizer.token_to_id(t) for t in SPECIAL_TOKENS])
    mask_id, vocab = tokenizer.token_to_id(MASK), tokenizer.get_vocab_size()
    model.to(device).train()
    optimizer = adamw(model, config.lr, config.weight_decay, config.betas, config.eps)
    scheduler = linear_schedule(optimizer, config.warmup_steps, config.steps, decay=config.schedule == "linear")
    order = torch.randperm(len(blocks), generator=generator)
    cursor = 0
    curve: list[float] = []
    heldout_curve: dict[int, dict[str, float]] = {}
    tokens, first, spent, cpu_spent = 0, 0, 0.0, 0.0

    def so_far() -> tuple[float, float | None]:
        """Wall and CPU seconds of this run, earlier parts included (CPU None where an earlier part was not counted)."""
        cpu = None if cpu_spent is None else cpu_spent + time.process_time() - cpu_start
        return spent + time.perf_counter() - start, cpu

    if state is not None and (saved := state.load(config.steps)) is not None:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        generator.set_state(saved["generator"])
        torch.set_rng_state(saved["torch_rng"])
        order, cursor, first = saved["order"], saved["cursor"], saved["step"]
        curve, heldout_curve, tokens, spent = saved["curve"], saved["heldout_curve"], saved["tokens"], saved["time_s"]
        cpu_spent = saved.get("cpu_s")  # None in states saved before CPU time was counted
        log.info("resuming at step %d/%d from %s", first, config.steps, state.path)
        _take_snapshots(saved.get("snapshots", {}), snapshots, first)

    def save(step: int) -> None:
        if state is not None:
            wall, cpu = so_far()
            state.save(
                step=step, model=model.state_dict(), optimizer=optimizer.state_dict(),
                scheduler=scheduler.state_dict(), generator=generator.get_state(), torch_rng=torch.get_rng_state(),
                order=order, cursor=cursor, curve=curve, heldout_curve=heldout_curve, tokens=tokens,
                time_s=wall, cpu_s=cpu,
                snapshots={k: str(v) for k, v in (snapshots or {}).items() if k <= step and v.is_dir()},
            )  # fmt: skip

    assert tokenizer.token_to_id(PAD) == 0
    for step in range(first, config.steps):
        if cursor + config.batch_size > len(order):  # next pass over the corpus, new order, new masks
            order, cursor = torch.randperm(len(blocks), generator=generator), 0
        batch = blocks[order[cursor : cursor + config.batch_size]]
        cursor += config.batch_size
        inputs, labels = mask_tokens(batch, mask_id, vocab, special, generator, config.mask_prob, config.mask_split)
        with forward_precision(device, config.precision):
            loss = model(inputs.to(device), labels=labels.to(device)).loss
        value = float(loss.detach())
        check_loss("pretrain", step, value, config.max_loss)
        optimizer_step(model, loss, optimizer, scheduler, config.grad_clip)
        curve.append(value)
        tokens += batch.numel()
        if snapshots and step + 1 in snapshots:
            save_model(model, snapshots[step + 1])
        if len(heldout) and step + 1 in checkpoints and step + 1 < config.steps:
            heldout_curve[step + 1] = heldout_mlm(model, heldout, tokenizer, config, device)
            log.info(
                "%s step %d/%d: held-out loss %.3f (%.0f s)",
                getattr(model, "card", None) and model.card.short(),
                step + 1,
                config.steps,
                heldout_curve[step + 1]["loss"],
                so_far()[0],
            )
            save(step + 1)
    if len(heldout) and config.steps not in heldout_curve:
        heldout_curve[config.steps] = heldout_mlm(model, heldout, tokenizer, config, device)
    if first < config.steps:
        save(config.steps)  # a run killed while fine-tuning resumes after pretraining; a longer run continues it
    tail = curve[-max(1, len(curve) // 10) :]
    final = heldout_curve.get(config.steps, {})
    elapsed, cpu = so_far()
    return PretrainResult(float(np.mean(tail)), config.steps, tokens, elapsed, curve, final, heldout_curve, cpu)
