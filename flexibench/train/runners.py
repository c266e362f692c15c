"""Running evaluations: one code path (:func:`run_one`) under a local process pool or Ray.

A job is plain data (card, recipe, seed, where to write), so it pickles to a pool
worker or a Ray task alike. ``run_one`` never raises: any error becomes a
``failed`` record. With a shard path set, the worker appends the record to the
crash-safe journal itself (fsync'd before it returns), so a killed sweep loses only
evaluations still running. Ray jobs on a cluster may not share a file system, so
there the driver appends what the tasks return.

Pool workers end with their parent, however it ends: a parent-death signal (Linux
``PR_SET_PDEATHSIG``) plus a watchdog thread that checks ``os.getppid()`` twice a
second, and no append once the parent is gone. While alive, each worker holds a
shared lock on ``<shard folder>/.sweep-workers.lock``, which a new sweep of that
folder waits on before it reads which keys are finished.
"""

from __future__ import annotations

import ctypes
import fcntl
import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from tqdm import tqdm

from flexibench.bench.journal import JournalWriter
from flexibench.core.record import ResultRecord
from flexibench.core.record_schema import RecordError, storable

#: Every evaluation in a new worker process (Python 3.11+; 3.10 reuses workers). A worker's resident memory
#: grows with each evaluation it runs (mostly glibc keeping freed memory: long-fidelity pilot workers held 6.1
#: and 7.0 GB after three to four cards, fresh ones about 3 GB; docs/harness.md), and a days-long sweep on a
#: 24 GB machine must not creep towards the OOM killer. Starting a process costs seconds against evaluations
#: of minutes.
FRESH_WORKERS: dict[str, int] = {"max_tasks_per_child": 1} if sys.version_info >= (3, 11) else {}
WORKERS_LOCK = ".sweep-workers.lock"  # held (shared) by every live pool worker writing into the folder
PR_SET_PDEATHSIG = 1
_parent: int | None = None  # in a pool worker: the pid of the process that started it
_held: list[int] = []  # in a pool worker: descriptors of the locks it holds until it exits
LOG_ENV = "FLEXIBENCH_LOG"  # e.g. FLEXIBENCH_LOG=info: workers log each held-out checkpoint to stderr


@dataclass(frozen=True)
class Job:
    """One (card, recipe, seed) evaluation and where its record goes."""

    card: dict[str, Any]
    recipe: dict[str, Any]
    seed: int
    data_dir: str | None = None
    shard: str | None = None
    threads: int = 1
    device: str | None = None
    transfer_from: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    state_dir: str | None = None  # keep mid-run training state here; a rerun continues from it
    snapshot_every: int = 0  # also save the pretrained model every this many steps, under state_dir/snapshots
    save_dir: str | None = None  # keep the pretrained MLM model here, for evaluations that transfer from it


def run_one(job: Job) -> ResultRecord:
    """Evaluate one job (never raises) and append its record to ``job.shard`` when set."""
    import torch

    torch.set_num_threads(max(1, job.threads))
    if os.environ.get(LOG_ENV):  # a spawned worker starts with logging unconfigured
        logging.basicConfig(level=os.environ[LOG_ENV].upper(), format="%(asctime)s %(name)s: %(message)s")
    try:
        from flexibench.train.evaluate import evaluate

        record = evaluate(
            job.card,
            job.recipe,
            job.seed,
            data_dir=job.data_dir,
            transfer_from=job.transfer_from,
            device=job.device,
            state_dir=job.state_dir,
            snapshot_every=job.snapshot_every,
            save_dir=job.save_dir,
        )
    except Exception as exc:  # noqa: BLE001 - configuration errors too become a record
        record = _failed(job, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=4)}")
    record = _storable(job, record)
    if job.shard:
        if _parent is not None and os.getppid() != _parent:
            os._exit(1)  # the sweep that asked for this record is gone: appending now would race its restart
        with JournalWriter(job.shard) as writer:
            writer.append(record)
    return record


def _storable(job: Job, record: ResultRecord) -> ResultRecord:
    """The record as the journal stores it; one that breaks the record schema becomes a failed record saying why."""
    try:
        return storable(record)
    except RecordError as exc:
        return _failed(job, f"the evaluation's record broke the record schema: {exc}")


def _start_worker(parent: int, signal_on_death: bool, folders: tuple[str, ...]) -> None:
    """Pool initializer: tie this worker's life to its parent's and take the folders' worker locks."""
    global _parent
    _parent = parent
    if signal_on_death and sys.platform.startswith("linux"):
        # the signal fires when the thread that created this process exits: only the main thread's exit
        # is the process's, so run_local asks for it only when the pool is created from the main thread
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    for folder in folders:
        Path(folder).mkdir(parents=True, exist_ok=True)
        fd = os.open(Path(folder) / WORKERS_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_SH)
        _held.append(fd)
    threading.Thread(target=_watch_parent, args=(parent,), name="parent-watchdog", daemon=True).start()


def _watch_parent(parent: int, interval_s: float = 0.5) -> None:
    """End this worker (and its job) as soon as its parent is gone (re-parented workers see a new ppid)."""
    while os.getppid() == parent:
        time.sleep(interval_s)
    os.kill(os.getpid(), signal.SIGKILL)


def _failed(job: Job, error: str) -> ResultRecord:
    from flexibench.train.outcome import record_of

    return record_of(job.card, job.recipe, job.seed, error=error)


def _gpu_count() -> int:
    try:
        import torch

        return torch.cuda.device_count()
    except Exception:  # noqa: BLE001
        return 0


def run_local(jobs: Iterable[Job], workers: int = 1, threads: int = 1, progress: bool = True) -> Iterator[ResultRecord]:
    """Run jobs in ``workers`` processes of ``threads`` torch threads each; one worker per GPU when there are GPUs.

    Yields records as they finish. ``workers == 1`` runs in this process (no pickling, easy to debug).
    """
    jobs = list(jobs)
    gpus = _gpu_count()
    if gpus:
        workers = min(workers, gpus) if workers > 1 else 1
    placed = [
        replace(job, threads=threads, device=job.device or (f"cuda:{i % gpus}" if gpus else "cpu"))
        for i, job in enumerate(jobs)
    ]
    bar = tqdm(total=len(placed), disable=not progress, desc="evaluations", unit="eval")
    try:
        if workers <= 1:
            for job in placed:
                record = run_one(job)
                bar.update(1)
                yield record
            return
        # spawn: torch with threads does not survive fork reliably; the pool sizes the work
        folders = tuple(sorted({str(Path(job.shard).parent) for job in placed if job.shard}))
        main_thread = threading.current_thread() is threading.main_thread()  # submit() creates the workers here
        pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=get_context("spawn"),
            initializer=_start_worker,
            initargs=(os.getpid(), main_thread, folders),
            **FRESH_WORKERS,
        )
        try:
            futures = [pool.submit(run_one, job) for job in placed]
            for future in as_completed(futures):
                bar.update(1)
                yield future.result()
        except BaseException:  # stopped early: an error, Ctrl-C, SIGTERM via the CLI, a closed generator
            stop_pool(pool)
            raise
        pool.shutdown()
    finally:
        bar.close()


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel queued jobs and kill running workers, so a stopped sweep stops appending.

    ``shutdown`` alone lets running workers finish their job and write its record after
    the caller has gone (and after a ``pack`` that took the shards as final). A record
    goes out in one ``write``, so a killed worker leaves no partial line.
    """
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14+
    if terminate is not None:
        terminate()
        return
    processes = list((pool._processes or {}).values())  # noqa: SLF001 - no public handle before 3.14
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=10)


def run_ray(
    jobs: Iterable[Job],
    address: str | None = None,
    threads: int = 1,
    shard: str | Path | None = None,
    progress: bool = True,
    init_kwargs: dict[str, Any] | None = None,
) -> Iterator[ResultRecord]:
    """Run jobs as Ray tasks (one GPU each when the cluster has GPUs); the driver appends records to ``shard``."""
    import ray

    if not ray.is_initialized():
        ray.init(address=address, **(init_kwargs or {}))
    gpus = int(ray.cluster_resources().get("GPU", 0))
    remote = ray.remote(num_cpus=threads, num_gpus=1 if gpus else 0, max_retries=0)(_ray_run_one)
    pending = [remote.remote(replace(job, shard=None, threads=threads)) for job in jobs]
    writer = JournalWriter(shard) if shard else None
    bar = tqdm(total=len(pending), disable=not progress, desc="evaluations", unit="eval")
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            record = ray.get(done[0])
            if writer:
                writer.append(record)
            bar.update(1)
            yield record
    finally:
        bar.close()
        if writer:
            writer.close()


def _ray_run_one(job: Job) -> ResultRecord:
    if job.device is None and os.environ.get("CUDA_VISIBLE_DEVICES"):
        job = replace(job, device="cuda:0")  # Ray exposes exactly the GPU it assigned as device 0
    return run_one(job)


Runner = Callable[..., Iterator[ResultRecord]]
