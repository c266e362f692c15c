"""Held-out MLM: the split, the fixed masking, prefix-exact checkpoints and the ``MLM`` task score."""

from __future__ import annotations

import math

import pytest
import torch
from test_train_fixtures import data_dir, tiny_recipe  # noqa: F401 - pytest fixture

from flexibench.core.errors import DataError
from flexibench.core.recipes import load_recipe
from flexibench.core.tasks import mlm_score
from flexibench.train.evaluate import evaluate
from flexibench.train.pretrain import split_heldout

torch.set_num_threads(1)


def heldout_recipe(steps: int, every: int = 0, name: str = "tiny-mlm") -> dict:
    recipe = tiny_recipe(name, steps=steps, schedule="constant", heldout_blocks=8, heldout_every=every, lr=3e-3)
    recipe["scored"] = ["MLM"]
    return recipe


def test_split_heldout_keeps_the_tail_out_of_training() -> None:
    blocks = torch.arange(40).view(10, 4)
    train, held = split_heldout(blocks, 3)
    assert torch.equal(held, blocks[-3:]) and torch.equal(train, blocks[:7])
    assert split_heldout(blocks, 0)[1].numel() == 0
    with pytest.raises(DataError, match="leaves no training blocks"):
        split_heldout(blocks, 10)


def test_mlm_score_is_the_share_of_uniform_cross_entropy_removed() -> None:
    assert mlm_score(math.log(8192), 8192) == pytest.approx(0.0)
    assert mlm_score(0.0, 8192) == 100.0
    assert mlm_score(6.0, 8192) > mlm_score(6.5, 8192)


def test_recipe_scores_mlm_only_with_heldout_blocks() -> None:
    assert load_recipe(heldout_recipe(3)).scored == ("MLM",)
    bad = tiny_recipe()
    bad["scored"] = ["MLM"]
    with pytest.raises(DataError, match="heldout_blocks"):
        load_recipe(bad)
    with pytest.raises(DataError, match="schedule"):
        load_recipe(tiny_recipe(schedule="cosine"))


def test_constant_schedule_checkpoints_equal_shorter_runs(data_dir) -> None:  # noqa: F811
    """Under a constant rate the step-k checkpoint of a long run is the k-step recipe's model."""
    long = evaluate("bert-tiny", heldout_recipe(6, every=3), seed=0, data_dir=data_dir, device="cpu")
    short = evaluate("bert-tiny", heldout_recipe(3), seed=0, data_dir=data_dir, device="cpu")
    assert long.status == short.status == "ok", (long.error, short.error)
    mlm_long, mlm_short = long.task_metrics["MLM"], short.task_metrics["MLM"]
    assert long.heldout.steps == (3, 6) and short.heldout.steps == (3,)
    assert long.heldout.at(3)[0] == pytest.approx(mlm_short["loss"], rel=1e-6)
    assert long.heldout.at(6) == (mlm_long["loss"], mlm_long["accuracy"])
    assert set(mlm_long) == {"loss", "accuracy", "perplexity", "score"}  # the curve is not in the task's metrics
    pretrain = long.recipe["pretrain"]
    assert long.heldout.tokens_per_step == pretrain["batch_size"] * pretrain["seq_len"]
    assert long.heldout.tokens[-1] == long.tokens_seen  # what the training loop counted
    assert long.score == long.task_scores["MLM"] == pytest.approx(mlm_score(mlm_long["loss"], 120))
    assert 0 <= long.task_scores["SST-2"] <= 100  # fine-tuned tasks still run and are recorded


def test_heldout_scoring_does_not_depend_on_the_run_seed(data_dir) -> None:  # noqa: F811
    """Same model, same held-out masks: seeds change only training, so seed 0 twice is identical."""
    a = evaluate("bert-tiny", heldout_recipe(2), seed=0, data_dir=data_dir, device="cpu")
    b = evaluate("bert-tiny", heldout_recipe(2), seed=0, data_dir=data_dir, device="cpu")
    c = evaluate("bert-tiny", heldout_recipe(2), seed=1, data_dir=data_dir, device="cpu")
    assert a.task_metrics["MLM"] == b.task_metrics["MLM"]
    assert a.task_metrics["MLM"]["loss"] != c.task_metrics["MLM"]["loss"]


def test_bf16_trains_like_fp32_and_keeps_prefix_exact_checkpoints(data_dir) -> None:  # noqa: F811
    """bf16 autocasts the forward pass only: the curve stays close to fp32's, not equal, and still prefix-exact."""
    fp32 = evaluate("bert-tiny", heldout_recipe(6, every=3), seed=0, data_dir=data_dir, device="cpu")
    bf16_recipe = heldout_recipe(6, every=3)
    bf16_recipe["pretrain"]["precision"] = "bf16"
    bf16 = evaluate("bert-tiny", bf16_recipe, seed=0, data_dir=data_dir, device="cpu")
    short_recipe = heldout_recipe(3)
    short_recipe["pretrain"]["precision"] = "bf16"
    short = evaluate("bert-tiny", short_recipe, seed=0, data_dir=data_dir, device="cpu")
    assert fp32.status == bf16.status == short.status == "ok", (bf16.error, short.error)
    a, b = fp32.heldout.at(6)[0], bf16.heldout.at(6)[0]
    assert a != b and abs(a - b) < 0.05
    assert bf16.heldout.at(3)[0] == pytest.approx(short.task_metrics["MLM"]["loss"], rel=1e-6)
    assert bf16.recipe["pretrain"]["precision"] == "bf16"


def test_finetuning_precision_autocasts_the_forward_pass(data_dir) -> None:  # noqa: F811
    """finetune.precision bf16 changes the fine-tuning losses a little, not the pretraining (which stays fp32)."""
    recipe = tiny_recipe("tiny-ft", steps=2)
    fp32 = evaluate("bert-tiny", recipe, seed=0, data_dir=data_dir, device="cpu")
    recipe["finetune"]["precision"] = "bf16"
    bf16 = evaluate("bert-tiny", recipe, seed=0, data_dir=data_dir, device="cpu")
    assert fp32.status == bf16.status == "ok", (fp32.error, bf16.error)
    assert fp32.pretrain_loss == bf16.pretrain_loss and fp32.finetune_losses.keys() == bf16.finetune_losses.keys()
    for task, loss in fp32.finetune_losses.items():
        assert loss != bf16.finetune_losses[task] and loss == pytest.approx(bf16.finetune_losses[task], rel=0.1)


def test_checkpoints_are_logged(data_dir, caplog) -> None:  # noqa: F811
    with caplog.at_level("INFO", logger="flexibench.train.pretrain"):
        record = evaluate("bert-tiny", heldout_recipe(4, every=2), seed=0, data_dir=data_dir, device="cpu")
    assert record.status == "ok"
    assert any("step 2/4: held-out loss" in message for message in caplog.messages)


def test_fine_tuned_tasks_are_logged(data_dir, caplog) -> None:  # noqa: F811
    recipe = tiny_recipe("tiny-ft", steps=2)
    with caplog.at_level("INFO", logger="flexibench.train.evaluate"):
        record = evaluate("bert-tiny", recipe, seed=0, data_dir=data_dir, device="cpu")
    assert record.status == "ok", record.error
    logged = [m for m in caplog.messages if " fine-tuned on " in m]
    run = [task for task, split in record.splits.items() if split.get("status") == "run"]
    assert run and [m.split(" fine-tuned on ")[1].split(":")[0] for m in logged] == run  # not-run tasks log nothing
    assert all(m.startswith("2x[SA-SDP h128 n2 f512]") for m in logged), logged


def _counting_steps(monkeypatch, kill_at: int | None = None) -> list[int]:  # noqa: ANN001
    """Count the optimizer steps the harness takes from now on; the ``kill_at``-th one is killed (once)."""
    from flexibench.train import pretrain as harness

    real_step, calls = harness.optimizer_step, []

    def counted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        if len(calls) == kill_at:
            raise KeyboardInterrupt("killed")
        return real_step(*args, **kwargs)

    monkeypatch.setattr(harness, "optimizer_step", counted)
    return calls


def test_an_interrupted_run_resumes_to_the_uninterrupted_result(data_dir, tmp_path, monkeypatch) -> None:  # noqa: F811
    """Killed after its step-3 checkpoint, a run with a state folder continues there and ends as if never stopped."""
    states, recipe = tmp_path / "states", heldout_recipe(6, every=3)
    whole = evaluate("bert-tiny", recipe, seed=0, data_dir=data_dir, device="cpu")
    _counting_steps(monkeypatch, kill_at=5)
    with pytest.raises(KeyboardInterrupt):
        evaluate("bert-tiny", recipe, seed=0, data_dir=data_dir, device="cpu", state_dir=states)
    assert [p.name for p in states.iterdir()] == [f"tiny-mlm-{whole.card_hash[:16]}-seed0.pt"]
    resumed = evaluate("bert-tiny", recipe, seed=0, data_dir=data_dir, device="cpu", state_dir=states)
    assert resumed.status == "ok", resumed.error
    assert resumed.task_metrics["MLM"] == whole.task_metrics["MLM"] and resumed.heldout == whole.heldout
    assert resumed.task_scores == whole.task_scores and resumed.tokens_seen == whole.tokens_seen
    assert resumed.cpu_time_s > 0 and whole.cpu_time_s > 0  # counted across the kill
    assert list(states.iterdir()) == []  # the record replaces the state
    other = evaluate("bert-tiny", recipe, seed=1, data_dir=data_dir, device="cpu", state_dir=states)
    assert other.task_metrics["MLM"]["loss"] != whole.task_metrics["MLM"]["loss"]


def test_a_run_resumed_from_a_state_that_did_not_count_cpu_time_records_none(data_dir, tmp_path, monkeypatch) -> None:  # noqa: F811
    """A state saved before CPU time was counted: the record says unknown rather than a part of the cost."""
    states, recipe = tmp_path / "states", heldout_recipe(4, every=2)
    _counting_steps(monkeypatch, kill_at=3)
    with pytest.raises(KeyboardInterrupt):
        evaluate("bert-tiny", recipe, seed=0, data_dir=data_dir, device="cpu", state_dir=states)
    (path,) = states.iterdir()
    saved = torch.load(path, weights_only=False)
    assert saved.pop("cpu_s") > 0
    torch.save(saved, path)
    resumed = evaluate("bert-tiny", recipe, seed=0, data_dir=data_dir, device="cpu", state_dir=states)
    assert resumed.status == "ok" and resumed.cpu_time_s is None and resumed.pretrain_time_s > 0


def test_a_state_file_of_another_evaluation_is_not_loaded(tmp_path) -> None:
    from flexibench.train.pretrain import TrainingState

    TrainingState(tmp_path / "s.pt", "a").save(step=3)
    assert TrainingState(tmp_path / "s.pt", "a").load()["step"] == 3
    assert TrainingState(tmp_path / "s.pt", "b").load() is None
    (tmp_path / "s.pt").write_bytes(b"torn")
    assert TrainingState(tmp_path / "s.pt", "a").load() is None


def _mlm_only(steps: int, every: int = 0, name: str = "tiny-mlm", **pretrain) -> dict:
    recipe = heldout_recipe(steps, every=every, name=name)
    recipe["tasks"] = {}
    recipe["pretrain"].update(pretrain)
    return recipe


def test_a_long_run_cut_at_a_checkpoint_is_the_shorter_recipes_record(data_dir) -> None:  # noqa: F811
    """The pilot's mechanism: a 6-step constant-rate run cut at step 3 equals a 3-step run's held-out result."""
    from flexibench.train.prefix import cut_record

    long = evaluate("bert-tiny", _mlm_only(6, every=3), seed=0, data_dir=data_dir, device="cpu")
    short = evaluate("bert-tiny", _mlm_only(3, name="tiny-mlm-3"), seed=0, data_dir=data_dir, device="cpu")
    cut = cut_record(long, _mlm_only(3, every=3, name="tiny-mlm-3"))
    assert cut.fidelity == "tiny-mlm-3" and cut.key == short.key and cut.status == "ok"
    assert cut.score == pytest.approx(short.score, rel=1e-6)
    assert cut.task_metrics["MLM"]["loss"] == pytest.approx(short.task_metrics["MLM"]["loss"], rel=1e-6)
    assert cut.tokens_seen == short.tokens_seen and math.isnan(cut.pretrain_loss)
    assert cut.heldout.steps == (3,) and cut.heldout.loss == pytest.approx(short.heldout.loss, rel=1e-6)
    assert cut.heldout.tokens_per_step == short.heldout.tokens_per_step
    assert cut.splits["MLM"]["cut_from"] == "tiny-mlm"


def test_cutting_refuses_what_is_not_a_prefix(data_dir) -> None:  # noqa: F811
    from flexibench.train.prefix import cut_record

    long = evaluate("bert-tiny", _mlm_only(6, every=3), seed=0, data_dir=data_dir, device="cpu")
    with pytest.raises(DataError, match="not a held-out checkpoint"):
        cut_record(long, _mlm_only(4, every=3))
    with pytest.raises(DataError, match="differ beyond their length"):
        cut_record(long, _mlm_only(3, every=3, lr=1e-3))
    with pytest.raises(DataError, match="fine-tunes tasks; cut it with the long run's snapshots"):
        cut_record(long, heldout_recipe(3, every=3))
    linear = evaluate("bert-tiny", _mlm_only(6, every=3, schedule="linear"), seed=0, data_dir=data_dir, device="cpu")
    with pytest.raises(DataError, match="only 'constant' cuts"):
        cut_record(linear, _mlm_only(3, every=3, schedule="linear"))


def test_cut_command_appends_the_cuts_once(data_dir, tmp_path) -> None:  # noqa: F811
    import yaml

    from flexibench.bench.journal import JournalWriter, read_shards
    from flexibench.train.prefix import main

    long = evaluate("bert-tiny", _mlm_only(6, every=3), seed=0, data_dir=data_dir, device="cpu")
    with JournalWriter(tmp_path / "long" / "shard-a.jsonl") as writer:
        writer.append(long)
    short = tmp_path / "short.yaml"
    short.write_text(yaml.safe_dump(_mlm_only(3, every=3, name="tiny-mlm-3")))
    for _ in range(2):  # a second run finds the key done and appends nothing
        main(["--from", str(tmp_path / "long"), "--recipe", str(short), "--out", str(tmp_path / "short")])
    (cut,) = read_shards([tmp_path / "short"])
    assert cut.fidelity == "tiny-mlm-3" and cut.task_metrics["MLM"]["loss"] == long.heldout.at(3)[0]
    assert cut.heldout == long.heldout.until(3)


def test_snapshots_are_the_shorter_recipes_pretrained_models(data_dir, tmp_path) -> None:  # noqa: F811
    """A snapshot after k steps of a constant-rate run holds the k-step recipe's weights, bit for bit."""
    from safetensors.torch import load_file

    from flexibench.core.card import ModelCard
    from flexibench.train.evaluate import snapshot_folder

    long_recipe, short_recipe = heldout_recipe(6, every=3), heldout_recipe(3)
    states = tmp_path / "states"
    run = {"seed": 0, "data_dir": data_dir, "device": "cpu"}
    long = evaluate("bert-tiny", long_recipe, **run, state_dir=states, snapshot_every=3)
    short = evaluate("bert-tiny", short_recipe, seed=0, data_dir=data_dir, device="cpu", save_dir=tmp_path / "short")
    assert long.status == short.status == "ok", (long.error, short.error)
    card = ModelCard.named("bert-tiny")
    snapshot = snapshot_folder(states, card, load_recipe(long_recipe).fidelity, 0, 3)
    assert sorted(p.name for p in snapshot.parent.iterdir()) == ["step-3", "step-6"]
    a, b = load_file(str(snapshot / "model.safetensors")), load_file(str(tmp_path / "short" / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(DataError, match="state_dir"):
        evaluate("bert-tiny", long_recipe, seed=0, data_dir=data_dir, device="cpu", snapshot_every=3)


def test_a_longer_recipe_continues_the_kept_shorter_run_to_the_fresh_result(data_dir, tmp_path, monkeypatch) -> None:  # noqa: F811
    """Extending a budget trains only the missing steps, and ends where a fresh run of the longer recipe ends."""
    from safetensors.torch import load_file

    from flexibench.core.card import ModelCard
    from flexibench.train.evaluate import snapshot_folder

    states, run = tmp_path / "states", {"seed": 0, "data_dir": data_dir, "device": "cpu"}
    fresh = evaluate("bert-tiny", _mlm_only(6, every=3, name="long"), **run)
    short = evaluate("bert-tiny", _mlm_only(3, every=3, name="short"), **run, state_dir=states, snapshot_every=3)
    (kept,) = (states / "kept").glob("*/step-3.pt")  # the finished state is kept, not removed
    calls = _counting_steps(monkeypatch)
    longer = evaluate("bert-tiny", _mlm_only(6, every=3, name="long"), **run, state_dir=states, snapshot_every=3)
    assert longer.status == "ok" and len(calls) == 3, longer.error
    assert longer.heldout == fresh.heldout and longer.task_metrics == fresh.task_metrics
    assert longer.tokens_seen == fresh.tokens_seen and longer.pretrain_loss == fresh.pretrain_loss
    assert 0 < short.cpu_time_s < longer.cpu_time_s  # the kept run's CPU time is carried and added to
    assert longer.heldout.until(3) == short.heldout
    card = ModelCard.named("bert-tiny")
    copied, original = (snapshot_folder(states, card, name, 0, 3) / "model.safetensors" for name in ("long", "short"))
    a, b = load_file(str(copied)), load_file(str(original))  # the longer run has every snapshot a fresh one has
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert sorted(p.name for p in kept.parent.iterdir()) == ["step-3.pt", "step-6.pt"]
    calls.clear()  # a recipe of another trajectory, or a shorter one than any kept run, starts from scratch
    other = evaluate("bert-tiny", _mlm_only(6, every=3, name="other", lr=2e-4), **run, state_dir=states)
    first = evaluate("bert-tiny", _mlm_only(2, name="two"), **run, state_dir=states, snapshot_every=2)
    assert other.status == first.status == "ok" and len(calls) == 6 + 2


def test_a_recipe_with_tasks_fine_tunes_a_kept_pretraining_run_as_a_fresh_run_would(
    data_dir,  # noqa: F811
    tmp_path,
    monkeypatch,
) -> None:
    """The long fidelity's records from the pilot: the kept run at the budget is pretrained, only fine-tuning runs."""
    states, run = tmp_path / "states", {"seed": 0, "data_dir": data_dir, "device": "cpu"}
    with_tasks = heldout_recipe(3, every=3, name="with-tasks")
    assert with_tasks["tasks"] and with_tasks["pretrain"] == _mlm_only(3, every=3)["pretrain"]
    fresh = evaluate("bert-tiny", with_tasks, **run)
    evaluate("bert-tiny", _mlm_only(3, every=3, name="pilot"), **run, state_dir=states, snapshot_every=3)
    calls = _counting_steps(monkeypatch)
    reused = evaluate("bert-tiny", with_tasks, **run, state_dir=states)
    assert reused.status == fresh.status == "ok" and calls == []
    assert reused.task_scores == fresh.task_scores and reused.task_metrics == fresh.task_metrics
    assert reused.finetune_losses == fresh.finetune_losses and reused.heldout == fresh.heldout


def test_only_finished_constant_rate_runs_are_kept(data_dir, tmp_path) -> None:  # noqa: F811
    run, states = {"seed": 0, "data_dir": data_dir, "device": "cpu"}, tmp_path / "states"
    linear = evaluate("bert-tiny", _mlm_only(4, every=2, schedule="linear"), **run, state_dir=states, snapshot_every=2)
    assert linear.status == "ok" and not (states / "kept").exists()
    unsnapshotted = evaluate("bert-tiny", _mlm_only(4, every=2), **run, state_dir=states)
    assert unsnapshotted.status == "ok" and not (states / "kept").exists()
    assert sorted(p.name for p in states.iterdir()) == ["snapshots"]


def test_finetuning_depends_on_the_pretrained_weights_and_seed_only(data_dir) -> None:  # noqa: F811
    """The same pretrained encoder fine-tunes to the same scores whatever consumed the random generator before."""
    from flexibench.models import FlexiBERTForMaskedLM
    from flexibench.train.evaluate import _Tasks
    from flexibench.train.outcome import Measured
    from flexibench.train.tokenizer import get_tokenizer

    recipe = load_recipe(heldout_recipe(1))
    tokenizer = get_tokenizer(recipe.vocab_size, corpus_dir=data_dir / "corpus")
    model = FlexiBERTForMaskedLM.from_card("bert-tiny", tokenizer.get_vocab_size(), seed=0)
    scores = []
    for noise in (0, 7):
        torch.rand(noise)  # what ran before fine-tuning moves the global generator
        measured = Measured.for_tasks(recipe.runs)
        tasks = _Tasks(recipe, data_dir, model.encoder, tokenizer, 0, torch.device("cpu"))
        for task, plan in recipe.tasks.items():
            tasks.run(task, plan, measured)
        scores.append((measured.task_metrics, measured.finetune_losses))
    assert scores[0] == scores[1] and scores[0][1]


def test_the_encoded_corpus_is_cached_on_disk_and_rebuilt_when_damaged(data_dir, tmp_path) -> None:  # noqa: F811
    """A new process reads the stream from the cache; a damaged or stale file is never trusted."""
    import numpy as np

    from flexibench.train import pretrain as harness
    from flexibench.train.tokenizer import get_tokenizer

    corpus = data_dir / "corpus"
    tokenizer = get_tokenizer(120, corpus_dir=corpus).to_str()
    fresh = harness.encode_stream(corpus, tokenizer, 10**6)
    harness._token_stream.cache_clear()
    first = harness._token_stream(str(corpus), tokenizer, 10**6)
    (cached,) = (tmp_path / "cache" / "corpus").glob("tokens-*.npy")
    assert np.array_equal(first, fresh) and np.array_equal(np.load(cached), fresh)
    cached.write_bytes(b"not an array")
    harness._token_stream.cache_clear()
    assert np.array_equal(harness._token_stream(str(corpus), tokenizer, 10**6), fresh)
    assert np.array_equal(np.load(cached), fresh)  # rewritten
    harness._token_stream.cache_clear()
    harness._token_stream(str(corpus), tokenizer, 10**5)  # another budget is another file
    assert len(list(cached.parent.glob("tokens-*.npy"))) == 2


def test_a_cut_fine_tuned_from_its_snapshot_is_the_shorter_recipes_fresh_record(data_dir, tmp_path) -> None:  # noqa: F811
    """Pretrain once at a generous budget with snapshots; cut and fine-tune = the shorter recipe run from scratch."""
    import yaml

    from flexibench.bench.journal import JournalWriter, read_shards
    from flexibench.train.prefix import main

    states = tmp_path / "states"
    long = evaluate("bert-tiny", _mlm_only(6, every=3), seed=0, data_dir=data_dir, device="cpu", state_dir=states,
                    snapshot_every=3)  # fmt: skip
    short = heldout_recipe(3, every=3, name="tiny-ft-3")
    short["scored"] = ["MLM", "SST-2"]
    fresh = evaluate("bert-tiny", short, seed=0, data_dir=data_dir, device="cpu")
    with JournalWriter(tmp_path / "long" / "shard-a.jsonl") as writer:
        writer.append(long)
    (tmp_path / "short.yaml").write_text(yaml.safe_dump(short))
    command = [
        "--from",
        str(tmp_path / "long"),
        "--recipe",
        str(tmp_path / "short.yaml"),
        "--out",
        str(tmp_path / "out"),
    ]
    with pytest.raises(DataError, match="snapshots"):
        main(command)
    main([*command, "--snapshots", str(states), "--data", str(data_dir)])
    (made,) = read_shards([tmp_path / "out"])
    assert made.status == fresh.status == "ok", (made.error, fresh.error)
    assert made.key == fresh.key and made.task_scores["SST-2"] == fresh.task_scores["SST-2"]
    assert made.finetune_losses == fresh.finetune_losses and made.task_metrics["SST-2"] == fresh.task_metrics["SST-2"]
    assert made.score == pytest.approx(fresh.score, rel=1e-6) and made.splits["QNLI"] == fresh.splits["QNLI"]
    assert made.heldout == long.heldout.until(3)  # the curve up to the cut travels with the fine-tuned record
    missing = tmp_path / "elsewhere"
    with pytest.raises(DataError, match="no snapshot of"):
        main([*command[:-1], str(tmp_path / "out2"), "--snapshots", str(missing), "--data", str(data_dir)])
