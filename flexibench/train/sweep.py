"""Sweeps: which cards, in which order, and resuming from the journal shards already written.

``paper_queue`` builds the Section 4.2 order: the 12 initial models, then every
homogeneous level-1 card, then FlexiBERT-Mini and its ablations, then heterogeneous
level-1 cards in a stratified random order (round-robin over strata of
(layers, operations per stack), each stratum shuffled with a seeded RNG), so any
prefix of the queue covers the space evenly. A rerun skips every
(card, recipe, seed) key already present in the output folder's shards.

A sweep holds an exclusive lock on its output folder while it runs, so two sweeps
never write the same keys, and before it reads which keys are finished it waits
until no worker of an earlier sweep of that folder is left (their shared lock on
``.sweep-workers.lock``): a record can never land after the restart has planned.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import socket
import time
import warnings
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

from flexibench.bench.journal import read_shards
from flexibench.core import INITIAL_MODELS, DesignSpace, ModelCard, card_hash
from flexibench.core.errors import DataError
from flexibench.core.recipes import Recipe
from flexibench.core.record import ResultRecord
from flexibench.train.runners import WORKERS_LOCK, Job, run_local, run_ray

FLEXIBERT_MINI_FAMILY = ("flexibert-mini", "flexibert-mini-wo-s", "flexibert-mini-wo-h")


def _unique(cards: Iterable[ModelCard]) -> list[ModelCard]:
    seen: set[ModelCard] = set()  # cards are canonical: equal cards are the same architecture
    out = []
    for card in cards:
        if card not in seen:
            seen.add(card)
            out.append(card)
    return out


def stratum(card: ModelCard, stack: int) -> tuple:
    """Strata for heterogeneous sampling: depth and the operation of each stack of ``stack`` layers."""
    return (card.l, tuple(card.o[j] for j in range(0, card.l, stack)))


def paper_queue(space: DesignSpace | None = None, n_heterogeneous: int | None = None, seed: int = 0) -> list[ModelCard]:
    """Initial models, homogeneous level-1 cards, FlexiBERT-Mini family, stratified heterogeneous level-1 cards."""
    space = space or DesignSpace.default()
    level1 = list(space.enumerate(1))
    homogeneous = [c for c in level1 if c.is_homogeneous]
    heterogeneous = [c for c in level1 if not c.is_homogeneous]
    rng = random.Random(seed)
    strata: dict[tuple, list[ModelCard]] = defaultdict(list)
    for card in heterogeneous:
        strata[stratum(card, space.stack)].append(card)
    pools = [strata[key] for key in sorted(strata, key=repr)]
    for pool in pools:
        rng.shuffle(pool)
    rng.shuffle(pools)
    ordered: list[ModelCard] = []
    depth = 0
    while len(ordered) < len(heterogeneous):
        ordered.extend(pool[depth] for pool in pools if depth < len(pool))
        depth += 1
    if n_heterogeneous is not None:
        ordered = ordered[:n_heterogeneous]
    queue = [ModelCard.named(n) for n in INITIAL_MODELS] + homogeneous
    queue += [ModelCard.named(n) for n in FLEXIBERT_MINI_FAMILY] + ordered
    return _unique(queue)


def sample_cards(n: int, seed: int = 0, level: int = 1, space: DesignSpace | None = None) -> list[ModelCard]:
    """``n`` distinct random cards of ``level`` (seeded)."""
    space = space or DesignSpace.default()
    total = space.count(level)
    if n > total:
        raise DataError(f"cannot sample {n} distinct cards from {total} at level {level}")
    rng = random.Random(seed)
    return [space.card_at(level, i) for i in rng.sample(range(total), n)]


def read_cards_file(path: str | Path) -> list[ModelCard]:
    """One card per line (a name such as ``bert-tiny`` or card JSON); blank lines and ``#`` comments skipped."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"cards file {path} does not exist")
    cards = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            cards.append(ModelCard.parse(text))
        except Exception as exc:
            raise DataError(f"{path}, line {number}: {exc}") from None
    return cards


def finished_keys(out_dir: str | Path) -> set[tuple[str, str, int]]:
    """Keys of every record already in ``out_dir``'s shards, read as ``pack`` reads them.

    A torn last line is skipped with a warning; a record that breaks the record schema,
    or two different records of one key, is a :class:`DataError` naming file and line.
    """
    out = Path(out_dir)
    if not out.exists():
        return set()
    return {record.key for record in read_shards([out])}


@contextlib.contextmanager
def lock_output_folder(out_dir: str | Path, wait_s: float = 60.0) -> Iterator[Path]:
    """Hold ``out_dir`` for one sweep: an exclusive lock, once no earlier sweep's worker is left.

    Raises :class:`DataError` at once if another sweep holds the folder, or after ``wait_s``
    if workers of an earlier sweep (whose parent was killed) still hold their locks.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise DataError(f"--out {out}: is not a folder (a sweep writes journal shards into a folder)")
    try:
        out.mkdir(parents=True, exist_ok=True)
        folder = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise DataError(f"--out {out}: cannot use it as the sweep's folder ({exc.strerror or exc})") from None
    try:
        try:
            fcntl.flock(folder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataError(
                f"--out {out}: another sweep is writing into this folder; wait for it to end or use another folder"
            ) from None
        workers = os.open(out / WORKERS_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + wait_s
            while True:
                try:
                    fcntl.flock(workers, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise DataError(
                            f"--out {out}: workers of an earlier sweep of this folder are still running after "
                            f"{wait_s:.0f} s; end them before resuming"
                        ) from None
                    time.sleep(0.2)
        finally:
            os.close(workers)  # releases it: this sweep's own workers take it shared
        yield out
    finally:
        os.close(folder)


def shard_path(out_dir: str | Path) -> Path:
    """This host's shard in ``out_dir`` (one file per host: appends are locked, hosts never share a file)."""
    return Path(out_dir) / f"shard-{socket.gethostname()}.jsonl"


def plan_jobs(
    cards: Iterable[ModelCard],
    recipe: Recipe,
    seeds: Iterable[int],
    out_dir: str | Path,
    data_dir: str | None = None,
    threads: int = 1,
    state_dir: str | None = None,
    snapshot_every: int = 0,
) -> tuple[list[Job], int]:
    """Jobs still to run, in queue order (card-major, seeds inner), and how many were skipped as done."""
    done = finished_keys(out_dir)
    shard = str(shard_path(out_dir))
    jobs, skipped = [], 0
    recipe_dict = recipe.to_dict()
    for card in cards:
        digest = card_hash(card)
        for seed in seeds:
            if (digest, recipe.fidelity, int(seed)) in done:
                skipped += 1
                continue
            jobs.append(
                Job(
                    card.to_dict(),
                    recipe_dict,
                    int(seed),
                    data_dir,
                    shard,
                    threads,
                    state_dir=state_dir,
                    snapshot_every=snapshot_every,
                )
            )
    return jobs, skipped


def run_sweep(
    cards: Iterable[ModelCard],
    recipe: Recipe,
    seeds: Iterable[int],
    out_dir: str | Path,
    data_dir: str | None = None,
    workers: int = 1,
    threads: int = 1,
    backend: str = "local",
    address: str | None = None,
    progress: bool = True,
    state_dir: str | None = None,
    snapshot_every: int = 0,
    allow_emulated_bf16: bool = False,
) -> Iterator[ResultRecord]:
    """Run every (card, seed) not yet in ``out_dir``; yields records as they are journaled.

    With ``state_dir`` each evaluation keeps its mid-run training state there, so a sweep
    stopped mid-evaluation and started again continues those evaluations from their last
    held-out checkpoint instead of from step 0. The folder is locked for the whole sweep
    (:func:`lock_output_folder`). ``snapshot_every`` > 0 keeps each evaluation's pretrained
    model every that many steps under ``state_dir/snapshots`` (see :func:`~flexibench.train.evaluate.evaluate`).
    A local sweep of a bf16 recipe on a CPU without native bfloat16 raises :class:`DataError` before
    anything is written, unless ``allow_emulated_bf16`` (:mod:`flexibench.models.hardware` says why).
    """
    if backend not in ("local", "ray"):
        raise DataError(f"backend must be 'local' or 'ray', not {backend!r}")
    if backend == "local" and not allow_emulated_bf16:
        from flexibench.train.evaluate import emulated_precision  # torch: only when a sweep runs

        problem = emulated_precision(recipe)
        if problem:
            raise DataError(problem)
    with lock_output_folder(out_dir):
        jobs, skipped = plan_jobs(cards, recipe, list(seeds), out_dir, data_dir, threads, state_dir, snapshot_every)
        if skipped:
            warnings.warn(
                f"resuming: {skipped} evaluation(s) already in {out_dir} are skipped", UserWarning, stacklevel=2
            )
        if backend == "local":
            yield from run_local(jobs, workers=workers, threads=threads, progress=progress)
        else:
            yield from run_ray(jobs, address=address, threads=threads, shard=shard_path(out_dir), progress=progress)
