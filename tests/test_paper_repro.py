"""paper_repro scripts (Figures 4-6, Table 6, B.5, surrogate inputs) at toy sizes on fixture tables and data.

Each test runs a script's core function on a few short runs (or, for Table 6, the tiny
training recipe on a generated corpus) and checks the outputs it writes and that a
second invocation reuses what the first one produced.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from test_train_fixtures import data_dir, tiny_recipe  # noqa: F401 - pytest fixture

from flexibench.bench import load
from flexibench.bench.testing import fixture_table
from flexibench.core import DesignSpace, ModelCard, card_hash
from flexibench.library import build_library
from flexibench.library.levels import crossover_cards
from flexibench.search import read_trajectory
from flexibench.search.encodings import naive_encoding
from flexibench.search.pools import library_encoding, restrict

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "paper_repro"))

import b5_hierarchical  # noqa: E402
import fig4_embeddings  # noqa: E402
import fig5_search  # noqa: E402
import fig6_frontier  # noqa: E402
import surrogate_cv  # noqa: E402
import table6_transfer  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    path, library = fixture_table(tmp_path_factory.mktemp("repro"))
    with load(path, library=library) as opened:
        yield opened


def _mtimes(folder: Path) -> dict[str, float]:
    return {p.name: p.stat().st_mtime_ns for p in folder.rglob("*.jsonl")}


def test_fig4_settings_pools_outputs_and_reuse(bench, tmp_path) -> None:
    runs = tmp_path / "runs"
    settings = ("naive-homogeneous", "naive-full")
    result = fig4_embeddings.run(bench, "nano", runs=2, budget=6, algos=("rs", "re"), settings=settings, runs_dir=runs)
    frame = result.frame
    assert len(frame) == 4 and set(frame.pool) == {192, 9312} and (frame.runs == 2).all()
    for path in (runs / "naive-homogeneous").glob("*.jsonl"):
        cards = [ModelCard.from_dict(r["card"]) for r in read_trajectory(path) if r["type"] == "query"]
        assert len(cards) == 6 and all(c.is_homogeneous for c in cards)
    text = fig4_embeddings.write_outputs(result, out_dir=tmp_path)
    assert "| naive-homogeneous | (a) | 192 | RS |" in text and "richer space (b) vs homogeneous (a)" in text
    assert {p.name for p in tmp_path.glob("fig4_embeddings.*")} == {
        "fig4_embeddings.md",
        "fig4_embeddings.png",
        "fig4_embeddings.csv",
    }
    before = _mtimes(runs)
    again = fig4_embeddings.run(bench, "nano", runs=2, budget=6, algos=("rs", "re"), settings=settings, runs_dir=runs)
    assert _mtimes(runs) == before  # every run reused
    assert np.allclose(again.frame.best_true, frame.best_true)


def test_fig5_panels_ablation_and_transfer_table(bench, tmp_path) -> None:
    result = fig5_search.run(
        bench,
        "nano",
        runs=2,
        budget=12,
        main=("rs", "boshnas"),
        ablations=("boshnas", "boshnas-homoscedastic"),
        encoding="naive",
        runs_dir=tmp_path / "runs",
    )
    assert set(result.curves) == {"rs", "boshnas", "boshnas-homoscedastic"}
    assert result.curves["boshnas"].best_true.shape == (2, 12)
    assert (np.diff(result.curves["rs"].best_observed, axis=1) >= 0).all()  # best-so-far never drops
    frame = fig5_search.long_frame(result)
    assert set(frame.panel) == {"a", "b"} and frame.queries.max() == 12
    text = fig5_search.write_outputs(result, out_dir=tmp_path)
    assert "BOSHNAS w/o heteroscedastic" in text and "simulated training time saved" in text
    assert (tmp_path / "fig5_search.png").stat().st_size > 0 and (tmp_path / "fig5_search.csv").exists()
    # re-priced transfers: share 1 charges full pretraining, share 0 fine-tuning only; recorded lies between
    paths = sorted((tmp_path / "runs" / "naive-full").glob("rs-seed*.jsonl"))
    assert len(paths) == 2
    full, free = (fig5_search.load_curves(paths, 12, share) for share in (1.0, 0.0))
    recorded = fig5_search.load_curves(paths, 12)
    np.testing.assert_allclose(full.charged_s, full.full_s)
    assert (free.charged_s <= recorded.charged_s + 1e-9).all() and (recorded.charged_s <= full.charged_s + 1e-9).all()


def test_design_rules_read_flexibert_mini_as_the_paper_does() -> None:
    mini = ModelCard.named("flexibert-mini")
    verdicts = b5_hierarchical.rule_verdicts(b5_hierarchical.per_position([mini]))
    assert [v for _, v, _ in verdicts] == ["agrees"] * 3
    layers = [mini.layer(j) for j in (2, 3, 0, 1)]  # deep and shallow halves swapped
    flipped = ModelCard(4, *(tuple(x[i] for x in layers) for i in range(5)))
    assert [v for _, v, _ in b5_hierarchical.rule_verdicts(b5_hierarchical.per_position([flipped]))] == ["opposite"] * 3


def test_b5_hierarchy_builds_and_searches_level_two(bench, tmp_path) -> None:
    space = DesignSpace.default()
    named = [ModelCard.named(n) for n in ("bert-tiny", "bert-mini", "flexibert-mini")]
    # a neighbourhood (cards one design choice apart), so crossovers stay small, as around a search's best cards
    cards = list(dict.fromkeys(named + [m for card in named for m in space.mutations(card, 1)]))
    library1 = build_library(cards, level=1, dim=4, k=20, steps=50)
    common = dict(library1=library1, encoding1=library_encoding(library1), runs=2, budget1=8, budget2=6)
    common.update(top_k=2, neighbours=2, runs_dir=tmp_path / "runs", embed_steps=50)
    result = b5_hierarchical.run(bench, "nano", algo="rs", **common)
    level1, level2 = result.levels
    assert level1.pool == len(library1) and level2.level == 2 and level2.pool > 2
    best = [card for card, _, _ in level1.ranked[:2]]
    searched = {ModelCard.from_json(c) for run in level2.curves.observed for c, _, _ in run}
    pool = set(crossover_cards(best, library1, 2, 2))  # the parents and their crossover children
    assert len(pool) == level2.pool and searched <= pool and len(searched) >= min(6, len(pool))
    assert any(space.level_of(c) == 2 for c in pool)
    assert (tmp_path / "runs" / "b5").is_dir() and any((tmp_path / "runs" / "b5").glob("library-L2-*.npz"))
    text = b5_hierarchical.write_outputs(result, bench, "nano", out_dir=tmp_path)
    assert "## Design rules of Section 4.4" in text and "FlexiBERT-Mini" in text
    assert best[0].short() in text
    before = _mtimes(tmp_path / "runs")
    b5_hierarchical.run(bench, "nano", algo="rs", **common)
    assert _mtimes(tmp_path / "runs") == before  # runs and library reused
    evolved = b5_hierarchical.run(bench, "nano", algo="re", **common)  # mutations at the pool's level
    assert [level.level for level in evolved.levels] == [1, 2] and evolved.levels[1].curves.observed
    with pytest.raises(SystemExit, match="--algo nope: not allowed"):
        b5_hierarchical.run(bench, "nano", algo="nope", **common)


def test_table6_choose_pairs_prefers_measured_neighbours() -> None:
    tiny = ModelCard.named("bert-tiny")
    other = ModelCard.from_dict(
        {
            "l": 4,
            "o": ["SA", "SA", "LT", "LT"],
            "h": [128] * 4,
            "n": [2] * 4,
            "f": [[512]] * 4,
            "p": ["SDP", "SDP", "DFT", "DFT"],
        }
    )
    ranked = [ModelCard.named("bert-mini"), other, ModelCard.named("bert-4-128")]
    (pair,) = table6_transfer.choose_pairs([tiny], lambda card: ranked, measured=[ModelCard.named("bert-4-128")])
    assert pair.source == ModelCard.named("bert-4-128") and pair.overlap == 1.0 and "measured" in pair.rule
    (pair,) = table6_transfer.choose_pairs([tiny], lambda card: ranked)
    assert pair.source == other and pair.rule == "first neighbour passing the rule"
    with pytest.raises(SystemExit, match="no neighbour passes"):
        table6_transfer.choose_pairs([tiny], lambda card: [ModelCard.named("bert-mini")])


def _by_mode(runs, pair, recipe) -> dict:
    """The journal's record of every mode (one seed), found by the sweep's key."""
    records = table6_transfer.read_journal(runs)
    return {m: table6_transfer.mode_record(records, pair, recipe, m, 0) for m in table6_transfer.MODES}


def test_table6_measures_scratch_and_transfer_and_resumes(data_dir, tmp_path) -> None:  # noqa: F811
    from flexibench.bench.journal import JournalWriter, read_shards
    from flexibench.core.recipes import load_recipe
    from flexibench.train.sweep import shard_path

    recipe = load_recipe(tiny_recipe())
    pair = table6_transfer.Pair(ModelCard.named("bert-4-128"), ModelCard.named("bert-tiny"), 1.0, "given")
    runs = tmp_path / "runs"
    ran = table6_transfer.run_pairs([pair], recipe, [0], runs, data_dir, progress=lambda s: None)
    assert ran == 4
    assert [p.name for p in runs.glob("*.jsonl")] == [shard_path(runs).name]  # one sweep journal, one shard
    records = _by_mode(runs, pair, recipe)
    assert all(r is not None and r.status == "ok" for r in records.values()), records
    source = card_hash(pair.source)
    assert records["source"].card_hash == source and records["scratch"].transfer_source is None
    assert records["transfer"].transfer_source == source and records["transfer"].fidelity == "tiny-transfer"
    ft = records["transfer-ft"]
    assert ft.transfer_source == source and ft.fidelity == "tiny-transfer-ft"
    assert ft.pretrain_time_s == 0.0 and ft.tokens_seen == 0 and ft.finetune_time_s > 0
    assert records["scratch"].tokens_seen == records["transfer"].tokens_seen > 0

    assert table6_transfer.run_pairs([pair], recipe, [0], runs, data_dir, progress=lambda s: None) == 0
    # a lost checkpoint and a lost record: the source is retrained (not journaled twice), one evaluation reruns
    other = tmp_path / "other"
    with JournalWriter(shard_path(other)) as writer:
        for record in read_shards([runs]):
            if record.fidelity != "tiny-transfer-ft":
                writer.append(record)
    assert table6_transfer.run_pairs([pair], recipe, [0], other, data_dir, progress=lambda s: None) == 1
    assert len(read_shards([other])) == 4 and table6_transfer.model_dir(other, pair, 0).is_dir()

    collected = table6_transfer.collect(table6_transfer.read_journal(runs), [pair], [0], recipe)
    assert sorted(collected.runs["mode"]) == sorted(table6_transfer.MODES)
    text = table6_transfer.write_outputs(collected, [pair], "tiny", out_dir=tmp_path)
    assert "transfer + fine-tune only minus scratch" in text and "`4x[SA-SDP h128 n2 f512]`" in text
    assert (tmp_path / "table6_transfer.png").exists() and (tmp_path / "table6_transfer.csv").exists()


def test_table6_refuses_a_transfer_record_from_another_source(data_dir, tmp_path) -> None:  # noqa: F811
    from flexibench.core.recipes import load_recipe

    recipe = load_recipe(tiny_recipe())
    pair = table6_transfer.Pair(ModelCard.named("bert-4-128"), ModelCard.named("bert-tiny"), 1.0, "given")
    runs = tmp_path / "runs"
    table6_transfer.run_pairs([pair], recipe, [0], runs, data_dir, modes=["transfer"], progress=lambda s: None)
    elsewhere = table6_transfer.Pair(ModelCard.named("bert-mini"), ModelCard.named("bert-tiny"), 0.5, "given")
    with pytest.raises(SystemExit, match="a transfer from another source"):
        table6_transfer.plan_transfers([elsewhere], recipe, [0], ["transfer"], runs)


def test_table6_transfer_ft_recipe_skips_pretraining_only() -> None:
    from flexibench.core.recipes import load_recipe

    base = load_recipe(tiny_recipe())
    ft = table6_transfer.mode_recipe(base, "transfer-ft")
    assert ft.name == "tiny-transfer-ft" and ft.pretrain.steps == 0
    assert ft.finetune == base.finetune and ft.tasks == base.tasks and ft.vocab_size == base.vocab_size
    assert table6_transfer.mode_recipe(base, "scratch") is base
    assert table6_transfer.mode_recipe(base, "transfer").pretrain == base.pretrain


def test_table6_on_an_mlm_scored_recipe_compares_learning_curves(data_dir, tmp_path) -> None:  # noqa: F811
    from flexibench.core.recipes import load_recipe

    recipe = tiny_recipe("mlm", steps=4, heldout_blocks=8, heldout_every=1)
    recipe.update(tasks={}, scored=["MLM"])
    recipe = load_recipe(recipe)
    pair = table6_transfer.Pair(ModelCard.named("bert-4-128"), ModelCard.named("bert-tiny"), 1.0, "given")
    with pytest.raises(SystemExit, match="fine-tunes no task"):
        table6_transfer.run_pairs([pair], recipe, [0], tmp_path / "runs", data_dir, modes=["transfer-ft"])
    ran = table6_transfer.run_pairs([pair], recipe, [0], tmp_path / "runs", data_dir, progress=lambda s: None)
    assert ran == 3  # source, scratch, transfer: fine-tune-only has nothing to score here
    records = _by_mode(tmp_path / "runs", pair, recipe)
    collected = table6_transfer.collect(table6_transfer.read_journal(tmp_path / "runs"), [pair], [0], recipe)
    curves = collected.curves
    assert sorted(curves[curves["mode"] == "transfer"].step) == [1, 2, 3, 4]
    assert collected.runs[collected.runs["mode"] == "transfer"].score.notna().all()
    matched = table6_transfer.steps_to_match(curves)
    assert len(matched) == 1 and matched.steps.iloc[0] == 4
    k = matched.match_step.iloc[0]
    scratch_final = records["scratch"].task_metrics["MLM"]["loss"]  # the final held-out loss, not the curve
    transfer = dict(zip(records["transfer"].heldout.steps, records["transfer"].heldout.loss))
    if np.isnan(k):
        assert all(v > scratch_final for v in transfer.values())
    else:  # the first checkpoint at or below scratch's final loss, and none before it
        assert transfer[int(k)] <= scratch_final
        assert all(transfer[j] > scratch_final for j in range(1, int(k)))
    text = table6_transfer.write_outputs(collected, [pair], "mlm", out_dir=tmp_path)
    assert "checkpoint reached / steps" in text and (tmp_path / "table6_transfer_curves.csv").exists()
    # the share the search reproductions charge a transferred card: k / steps, never reached = 1
    share = table6_transfer.measured_pretrain_share(tmp_path / "table6_transfer_curves.csv")
    assert share == pytest.approx(1.0 if np.isnan(k) else k / 4)
    assert table6_transfer.measured_pretrain_share(tmp_path / "missing.csv") is None


def test_table_objective_optimum_covers_the_library_and_transfer_costs_a_pretraining_share(bench) -> None:
    from flexibench.search.objective import TableObjective, default_transfer_share
    from flexibench.search.runner import run_search

    objective = TableObjective(bench, "nano")
    every = [objective.true_score(c) for c in bench.cards()]
    assert objective.optimum == pytest.approx(max(every))
    assert objective.optimum >= max(r.score for r in bench.results("nano"))
    measured_only = TableObjective(bench, "nano", cards=bench.cards("nano"))
    assert measured_only.optimum == pytest.approx(max(r.score for r in bench.results("nano")))
    # the paper's rule when the recipe fine-tunes; the first held-out checkpoint's share when it does not
    assert default_transfer_share({"tasks": {"sst2": {}}, "pretrain": {"steps": 200, "heldout_every": 50}}) == 0.0
    assert default_transfer_share({"tasks": {}, "pretrain": {"steps": 200, "heldout_every": 50}}) == 0.25
    assert default_transfer_share({"tasks": {}, "pretrain": {"steps": 200}}) == 1.0
    with pytest.raises(Exception, match="transfer_pretrain_share"):
        TableObjective(bench, "nano", transfer_pretrain_share=1.5)
    share = TableObjective(bench, "nano", transfer_pretrain_share=0.5)
    result = run_search("rs", share, budget=300, seed=0)
    transferred = [q for q in result.queries if q["transferred"]]
    assert transferred
    assert all(q["regret"] == pytest.approx(share.optimum - q["best_true"]) for q in result.queries)
    # the optimum covers every card with a row, so a search over those cards never goes below it (a
    # packaged table has a row per level-1 card; this small one leaves most of the pool to the surrogate)
    rows_only = restrict(naive_encoding(), bench.cards())
    covered = run_search("rs", share, budget=len(rows_only), seed=0, encoding=rows_only)
    assert all(q["regret"] >= -1e-9 for q in covered.queries)
    for q in result.queries:
        expected = q["finetune_s"] + (0.5 if q["transferred"] else 1.0) * q["pretrain_s"]
        assert q["cost_s"] == pytest.approx(expected)


def test_fig6_frontier_and_claims() -> None:
    import pandas as pd

    frame = pd.DataFrame(
        {
            "short": ["homo-small", "homo-big", "het-small", "het-big", "het-bad"],
            "homogeneous": [True, True, False, False, False],
            "params": [2e6, 4e6, 1e6, 5e6, 3e6],
            "score": [28.0, 30.0, 30.5, 31.0, 20.0],
        }
    )
    assert list(fig6_frontier.frontier(frame)["short"]) == ["het-small", "het-big"]  # nothing smaller beats them
    assert list(fig6_frontier.frontier(frame[frame.homogeneous])["short"]) == ["homo-small", "homo-big"]
    lines = fig6_frontier.claims(frame)
    assert "+1.00 points, +3.3%" in lines[1]
    assert "het-small" in lines[2] and "4.0x fewer parameters" in lines[2]
    assert fig6_frontier.claims(frame[frame.homogeneous]) == ["- needs both homogeneous and heterogeneous cards"]
    bigger = frame[frame.short != "het-small"]  # now the only match is larger than the best homogeneous card
    assert "1.2x more parameters" in fig6_frontier.claims(bigger)[2]
    # against latency: the same staircase on another cost column, and the fastest card near the best
    timed = frame.assign(latency_ms=[3.0, 9.0, 2.0, 12.0, 1.0])
    assert list(fig6_frontier.frontier(timed, "latency_ms")["short"]) == ["het-bad", "het-small", "het-big"]
    lines = fig6_frontier.latency_claims(timed[timed.short != "het-bad"])
    assert "het-big — 31.00 at 12.00 ms" in lines[0] and "het-big" in lines[1]
    assert fig6_frontier.latency_claims(timed.iloc[:0]) == ["- no card with both a score and a latency yet"]


def test_surrogate_cv_scores_every_candidate_input_out_of_fold(tmp_path) -> None:
    path, _ = fixture_table(tmp_path / "table")
    out = tmp_path / "cv.md"
    assert surrogate_cv.main(["--table", str(path), "--folds", "3", "--repeats", "1", "--out", str(out)]) == 0
    rows = [line.split("|") for line in out.read_text().splitlines() if line.startswith("| MLP")]
    assert [r[1].strip() for r in rows] == [
        "MLP ensemble, embedding",
        "MLP ensemble, embedding + log params",
        "MLP ensemble, naive one-hot",
        "MLP ensemble, naive one-hot + log params (the table's)",
        "MLP ensemble, naive one-hot + embedding + log params",
    ]
    assert all(-1 <= float(r[2]) <= 1 and float(r[4]) > 0 for r in rows)
    assert "42 measured cards" in out.read_text()
