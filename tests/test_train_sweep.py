"""Sweep queue order, resuming, crash safety under kill -9, stopping with SIGTERM, the CLI and the Ray backend."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_train_fixtures import data_dir, tiny_recipe  # noqa: F401 - pytest fixture

from flexibench.bench.journal import JournalWarning, read_shard
from flexibench.cli import main
from flexibench.core import INITIAL_MODELS, DesignSpace, ModelCard
from flexibench.core.errors import DataError
from flexibench.core.recipes import load_recipe
from flexibench.train.sweep import FLEXIBERT_MINI_FAMILY, paper_queue, plan_jobs, stratum


def test_paper_queue_order() -> None:
    space = DesignSpace.default()
    queue = paper_queue(space, seed=0)
    assert len(set(queue)) == len(queue)
    assert queue[:12] == [ModelCard.named(n) for n in INITIAL_MODELS]
    homogeneous = [c for c in space.enumerate(1) if c.is_homogeneous]
    assert len(homogeneous) == 192
    n_hom = 12 + 192 - sum(ModelCard.named(n) in homogeneous for n in INITIAL_MODELS)
    assert all(c.is_homogeneous for c in queue[:n_hom]) and set(queue[:n_hom]) >= set(homogeneous)
    assert queue[n_hom : n_hom + 3] == [ModelCard.named(n) for n in FLEXIBERT_MINI_FAMILY]
    hetero = queue[n_hom + 3 :]
    family = {ModelCard.named(n) for n in FLEXIBERT_MINI_FAMILY}
    assert set(hetero) == {c for c in space.enumerate(1) if not c.is_homogeneous} - family
    strata = {stratum(c, space.stack) for c in hetero}
    assert {stratum(c, space.stack) for c in hetero[: len(strata)]} == strata  # every prefix spreads over strata
    assert paper_queue(space, n_heterogeneous=5, seed=0) == queue[: n_hom + 8]
    assert paper_queue(space, seed=1)[n_hom + 3 :] != hetero


def test_resume_skips_finished_keys(data_dir, tmp_path) -> None:  # noqa: F811
    from flexibench.train.runners import run_local

    recipe = load_recipe(tiny_recipe())
    cards = [ModelCard.named("bert-tiny")]
    out = tmp_path / "sweep"
    jobs, skipped = plan_jobs(cards, recipe, [0, 1], out, str(data_dir))
    assert len(jobs) == 2 and skipped == 0
    list(run_local(jobs[:1], progress=False))
    jobs, skipped = plan_jobs(cards, recipe, [0, 1], out, str(data_dir))
    assert [j.seed for j in jobs] == [1] and skipped == 1


def test_train_cli_appends_a_record(data_dir, tmp_path, capsys) -> None:  # noqa: F811
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(tiny_recipe()))
    shard = tmp_path / "one.jsonl"
    code = main(["train", "bert-tiny", "--recipe", str(recipe), "--data", str(data_dir), "--out", str(shard)])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    (record,) = read_shard(shard)
    assert printed["card_hash"] == record.card_hash and record.status == "ok"
    assert main(["train", "bert-tiny", "--recipe", str(recipe), "--data", str(tmp_path / "nowhere")]) == 2


def _sweep_cmd(recipe: Path, cards: Path, data: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "flexibench", "sweep", "--cards", str(cards), "--recipe", str(recipe),
            "--seeds", "0,1", "--workers", "1", "--threads", "1", "--data", str(data), "--out", str(out),
            "--no-progress"]  # fmt: skip


def test_kill_9_and_restart_loses_and_duplicates_nothing(data_dir, tmp_path) -> None:  # noqa: F811
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(tiny_recipe()))
    cards = tmp_path / "cards.txt"
    cards.write_text("bert-tiny\nfnet-tiny\n")
    out = tmp_path / "sweep"
    env = {**os.environ, "PYTHONWARNINGS": "default"}
    proc = subprocess.Popen(_sweep_cmd(recipe, cards, data_dir, out), env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    shard = out / next(iter([p.name for p in out.glob("*.jsonl")] or ["?"]), "?")
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        shards = list(out.glob("*.jsonl"))
        if shards and shards[0].read_bytes().count(b"\n") >= 1:
            shard = shards[0]
            break
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = [r.key for r in read_shard(shard)]
    assert 1 <= len(before) < 4
    with open(shard, "ab") as handle:  # what a crash in the middle of a write leaves behind
        handle.write(b'{"crc":123,"rec":{"card":')
    done = subprocess.run(_sweep_cmd(recipe, cards, data_dir, out), env=env, capture_output=True, text=True,
                          timeout=400)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "torn" in done.stderr and "resuming" in done.stderr
    with warnings.catch_warnings():
        warnings.simplefilter("error", JournalWarning)  # no torn line left, no duplicates
        keys = [r.key for r in read_shard(shard)]
    assert len(keys) == 4 == len(set(keys)) and keys[: len(before)] == before
    assert (shard.parent / (shard.name + ".torn")).exists()


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(c) for c in (task / "children").read_text().split()}
        except OSError:  # the thread or the process ended meanwhile
            pass
    return found


def _descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        new = _children(todo.pop()) - found
        found |= new
        todo.extend(new)
    return found


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads child processes from /proc")
def test_sigterm_stops_the_pool_workers_before_they_append(data_dir, tmp_path) -> None:  # noqa: F811
    """A killed sweep must not leave workers that finish their job and append after a pack."""
    recipe = tmp_path / "endless.yaml"
    recipe.write_text(yaml.safe_dump(tiny_recipe(steps=10_000_000)))  # never finishes on its own
    cards = tmp_path / "cards.txt"
    cards.write_text("bert-tiny\nfnet-tiny\n")
    out = tmp_path / "sweep"
    cmd = _sweep_cmd(recipe, cards, data_dir, out)
    cmd[cmd.index("--workers") + 1] = "2"
    log = tmp_path / "sweep.log"  # not a pipe: an orphaned worker would hold it open
    with open(log, "wb") as handle:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=handle, start_new_session=True)
    deadline, workers = time.time() + 120, set()
    while time.time() < deadline and proc.poll() is None and len(workers) < 3:  # 2 workers + resource tracker
        workers = _children(proc.pid)
        time.sleep(0.2)
    try:
        assert len(workers) >= 3, "the sweep did not start its pool"
        time.sleep(3)  # let the workers reach training
        os.kill(proc.pid, signal.SIGTERM)  # the parent only, as `kill <pid>` does
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM, log.read_text()[-2000:]
        deadline = time.time() + 30
        while time.time() < deadline and any(_running(pid) for pid in workers):
            time.sleep(0.2)
        assert not any(_running(pid) for pid in workers)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        for pid in workers:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
    assert all(not shard.read_bytes() for shard in out.glob("*.jsonl"))  # nothing appended after the stop


def _cmdline(pid: int) -> str:
    try:
        return f"{pid} " + Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
    except OSError:
        return str(pid)


def _kill_parent_alone_then_restart(
    cmd: list[str], out: Path, log: Path, wait_s: float = 10.0, grace_s: float = 10.0
) -> dict[str, Any]:
    """Start a sweep, ``kill -9`` its parent pid (not its group) after the first record, then resume it.

    Waits up to ``wait_s`` for the processes the sweep started to end before the restart, and
    up to ``grace_s`` after the kill in all. Returns what was seen: how many processes the sweep
    had started, the command lines of those still running at the end, seconds until they were
    all gone before the restart (None if not), lines at the kill and at the restart, and the
    resumed shard's lines and distinct keys.
    """
    with open(log, "wb") as handle:  # not a pipe: an orphaned worker would hold it open
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=handle, start_new_session=True)
    started: set[int] = set()

    def lines_now() -> int:
        return sum(p.read_bytes().count(b"\n") for p in out.glob("*.jsonl"))

    def wait_until(deadline: float) -> bool:
        while time.time() < deadline and any(_running(pid) for pid in started):
            time.sleep(0.2)
        return not any(_running(pid) for pid in started)

    try:
        deadline, lines = time.time() + 300, 0
        while time.time() < deadline and proc.poll() is None:
            started |= _descendants(proc.pid)
            lines = lines_now()
            if lines:
                break
            time.sleep(0.1)
        assert lines and proc.poll() is None, log.read_text()[-2000:]
        started |= _descendants(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)  # the parent alone, as `kill -9 <pid>` does
        proc.wait()
        killed = time.time()
        gone_s = round(time.time() - killed, 1) if wait_until(killed + wait_s) else None
        time.sleep(1)
        at_restart = lines_now()
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        wait_until(killed + grace_s)
        left = sorted(_cmdline(pid) for pid in started if _running(pid))
    finally:
        for pid in started | ({proc.pid} if proc.poll() is None else set()):
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
    with warnings.catch_warnings():
        warnings.simplefilter("error", JournalWarning)  # no torn line, no duplicate
        keys = [r.key for shard in out.glob("*.jsonl") for r in read_shard(shard)]
    return {
        "started": len(started),
        "left": left,
        "gone_s": gone_s,
        "lines_at_kill": lines,
        "lines_at_restart": at_restart,
        "lines": lines_now(),
        "keys": len(set(keys)),
    }


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads child processes from /proc")
def test_kill_9_of_the_parent_alone_leaves_no_worker_and_no_duplicate(data_dir, tmp_path) -> None:  # noqa: F811
    """The workers must not outlive a parent killed alone, nor append after it; the restart then adds no duplicate."""
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(tiny_recipe(steps=40)))
    cards = tmp_path / "cards.txt"
    cards.write_text("bert-tiny\nfnet-tiny\n")
    out = tmp_path / "sweep"
    cmd = _sweep_cmd(recipe, cards, data_dir, out)
    cmd[cmd.index("--workers") + 1] = "2"
    seen = _kill_parent_alone_then_restart(cmd, out, tmp_path / "sweep.log")
    assert seen["started"] >= 3  # two workers and the resource tracker
    assert seen["gone_s"] is not None and seen["left"] == [], seen
    assert seen["lines"] == seen["keys"] == 4, seen  # records in = records out, 0 duplicates


def test_a_second_sweep_of_a_folder_is_refused_while_the_first_runs(tmp_path) -> None:
    from flexibench.train.sweep import lock_output_folder

    with lock_output_folder(tmp_path / "out"):
        with pytest.raises(DataError, match="another sweep is writing into this folder"):
            with lock_output_folder(tmp_path / "out"):
                pass
    with lock_output_folder(tmp_path / "out"):  # released when the first ends
        pass
    (tmp_path / "afile").write_text("x")
    with pytest.raises(DataError, match="is not a folder"):
        with lock_output_folder(tmp_path / "afile"):
            pass


# Ray's OOM killer acts on memory that other processes of a shared test machine hold: off for these checks
RAY_NO_OOM_KILLS = ("RAY_memory_monitor_refresh_ms", "0")


@pytest.mark.slow
@pytest.mark.ray
def test_ray_backend_runs_the_same_path(data_dir, tmp_path, monkeypatch) -> None:  # noqa: F811
    import ray

    from flexibench.train.runners import Job, run_ray

    monkeypatch.setenv(*RAY_NO_OOM_KILLS)
    card = ModelCard.named("bert-tiny").to_dict()
    jobs = [Job(card, tiny_recipe(), seed, str(data_dir)) for seed in (0, 1)]
    ray.init(num_cpus=2, include_dashboard=False, runtime_env={"env_vars": dict(os.environ)})
    try:
        records = list(run_ray(jobs, shard=tmp_path / "ray.jsonl", progress=False))
    finally:
        ray.shutdown()
    assert sorted(r.seed for r in records) == [0, 1] and all(r.status == "ok" for r in records)
    assert len(list(read_shard(tmp_path / "ray.jsonl"))) == 2


@pytest.mark.slow
@pytest.mark.ray
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads child processes from /proc")
def test_ray_driver_killed_alone_leaves_nothing_and_no_duplicate(data_dir, tmp_path, monkeypatch) -> None:  # noqa: F811
    """The driver appends every record, so once it dies nothing more is written; Ray's processes go with it."""
    pytest.importorskip("ray")
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(tiny_recipe(steps=40)))
    cards = tmp_path / "cards.txt"
    cards.write_text("bert-tiny\nfnet-tiny\n")
    out = tmp_path / "sweep"
    cmd = _sweep_cmd(recipe, cards, data_dir, out) + ["--backend", "ray"]
    monkeypatch.setenv(*RAY_NO_OOM_KILLS)
    # Ray's own processes go on their own; its dashboard agent takes about a minute (it reports the raylet's
    # death to a GCS that is gone too), so the restart runs meanwhile and the check comes after it
    seen = _kill_parent_alone_then_restart(cmd, out, tmp_path / "sweep.log", wait_s=0, grace_s=150)
    assert seen["started"] >= 3  # GCS, raylet and at least one worker
    assert seen["left"] == [], seen
    assert seen["lines"] == seen["keys"] == 4, seen


@pytest.mark.skipif(sys.version_info < (3, 11), reason="max_tasks_per_child needs Python 3.11")
def test_every_pool_evaluation_runs_in_a_fresh_worker(monkeypatch) -> None:
    """Workers are not reused: three jobs on two workers start three processes (each reports its pid)."""
    from concurrent.futures import ProcessPoolExecutor

    from flexibench.train import runners

    class Recording(ProcessPoolExecutor):
        def submit(self, fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            return super().submit(os.getpid)  # what a job would run, replaced by "which process am I"

    monkeypatch.setattr(runners, "ProcessPoolExecutor", Recording)
    jobs = [runners.Job(card={}, recipe={}, seed=seed) for seed in range(3)]
    pids = list(runners.run_local(jobs, workers=2, progress=False))
    assert len(pids) == 3 and len(set(pids)) == 3 and os.getpid() not in pids
