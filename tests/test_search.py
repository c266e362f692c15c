"""Search suite: encodings, objectives, transfer rule, runner (budget, workers, clock, JSONL), GOBI, BOSHNAS, CLI."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch
from sklearn.neighbors import NearestNeighbors

from flexibench.cli import main
from flexibench.core import DesignSpace, ModelCard
from flexibench.core.errors import FlexiBenchError
from flexibench.search import (
    OPTIMIZERS,
    Observation,
    Optimizer,
    SearchError,
    SyntheticObjective,
    TransferIndex,
    biased_overlap,
    make_encoding,
    make_optimizer,
    read_trajectory,
    run_many,
    run_search,
)
from flexibench.search.gobi import AdaHessian, gobi, snap
from flexibench.search.leaderboard import build_leaderboard, write_leaderboard
from flexibench.search.objective import Evaluation
from flexibench.search.pools import homogeneous
from flexibench.search.runs import load_runs

torch.set_num_threads(1)
CHEAP = {  # small schedules: these tests check behaviour, not search quality
    "gpbo": {"refit_every": 10, "maxiter": 20},
    "bananas": {"epochs": 30, "warm_epochs": 5, "n_members": 2},
    "boshnas": {"epochs": 30, "warm_epochs": 5, "gobi_steps": 3, "restarts": 2, "mc_samples": 4, "student_extra": 8},
}
CHEAP["boshnas-first-order"] = CHEAP["boshnas-homoscedastic"] = CHEAP["boshnas"]


@pytest.fixture(scope="module")
def objective() -> SyntheticObjective:
    return SyntheticObjective(seed=0)


def test_naive_encoding_is_injective_over_level_one() -> None:
    enc = make_encoding("naive")
    assert len(enc) == DesignSpace.default().count(1) == 9312
    assert len(np.unique(enc.X, axis=0)) == 9312
    card = enc.cards[1234]
    assert enc.index_of(card) == 1234 and card in enc


def test_unknown_encoding_and_algorithm_are_named() -> None:
    with pytest.raises(FlexiBenchError, match="allowed: \\['naive', 't2v'\\]"):
        make_encoding("onehot")
    with pytest.raises(SearchError, match="algorithm: 'bohb'"):
        make_optimizer("bohb")


def test_synthetic_optimum_is_the_best_card(objective: SyntheticObjective) -> None:
    means = [objective.true_score(c) for c in DesignSpace.default().enumerate(1)]
    assert objective.optimum == pytest.approx(max(means)) == pytest.approx(80.0)
    assert objective.true_score(objective.best_card) == pytest.approx(80.0)
    a = objective.evaluate(objective.best_card, np.random.default_rng(3))
    b = objective.evaluate(objective.best_card, np.random.default_rng(3))
    assert a == b and a.pretrain_s > a.finetune_s > 0
    noise = [objective.noise_std(c) for c in list(DesignSpace.default().enumerate(1))[:500]]
    assert 0.2 <= min(noise) < max(noise) <= 1.0  # heteroscedastic


def leading_identical_layers(query: ModelCard, neighbour: ModelCard) -> int:
    """The biased overlap written out from its definition: identical layers from the input, to the first difference."""
    pairs = zip(query.layers, neighbour.layers)
    return sum(1 for _ in itertools.takewhile(lambda pair: pair[0] == pair[1], pairs))


def test_biased_overlap_counts_identical_leading_layers() -> None:
    space, rng = DesignSpace.default(), np.random.default_rng(0)
    cards = [space.card_at(2, int(i)) for i in rng.integers(0, space.count(2), 200)]
    cards += [c for card in cards[:20] for c in space.mutations(card, 2)]  # neighbours share prefixes
    overlaps = [biased_overlap(q, n) for q in cards[:60] for n in cards]
    assert overlaps == [leading_identical_layers(q, n) for q in cards[:60] for n in cards]
    assert {0, 1, 2, 3, 4} <= set(overlaps)  # every overlap occurs, not only the trivial ones


def test_transfer_index_agrees_with_brute_force_overlap() -> None:
    space, rng = DesignSpace.default(), np.random.default_rng(0)
    trained = [space.card_at(1, int(i)) for i in rng.integers(0, 9312, 300)]
    trained += [space.card_at(1, int(i)) for i in range(96)][:20]  # some 2-layer cards
    index = TransferIndex(tau=0.8)
    for card in trained:
        index.add(card)
    queries = [space.card_at(1, int(i)) for i in rng.integers(0, 9312, 200)] + [space.card_at(1, i) for i in range(96)]
    queries += [m for card in trained[:30] for m in space.mutations(card, 1)]  # near misses and hits
    answers = [index.can_transfer(q) for q in queries]
    assert answers == [any(leading_identical_layers(q, n) / q.l >= 0.8 for n in trained) for q in queries]
    assert any(answers) and not all(answers)


def test_runner_budget_trajectory_and_reproducibility(objective: SyntheticObjective, tmp_path) -> None:
    result = run_search("re", objective, budget=40, seed=3, out_dir=tmp_path)
    records = read_trajectory(tmp_path / "re-seed3.jsonl")
    assert records == json.loads(json.dumps(result.records))
    queries = [r for r in records if r["type"] == "query"]
    assert [q["step"] for q in queries] == list(range(1, 41))
    assert len({json.dumps(q["card"]) for q in queries}) == 40
    best = np.maximum.accumulate([q["score"] for q in queries])
    np.testing.assert_allclose([q["best_score"] for q in queries], best)
    for q in queries:
        assert q["regret"] == pytest.approx(objective.optimum - q["best_true"])
        charged = q["finetune_s"] + (0 if q["transferred"] else q["pretrain_s"])
        assert q["cost_s"] == pytest.approx(charged)
    times = [q["time_s"] for q in queries]
    assert times == sorted(times) and times[-1] == pytest.approx(sum(q["cost_s"] for q in queries))
    again = run_search("re", objective, budget=40, seed=3)
    assert [q["short"] for q in again.queries] == [q["short"] for q in queries]
    other = run_search("re", objective, budget=40, seed=4)
    assert [q["short"] for q in other.queries] != [q["short"] for q in queries]


def test_async_workers_never_overlap_and_time_budget_rules(objective: SyntheticObjective) -> None:
    result = run_search("rs", objective, budget=60, seed=0, workers=4)
    queries = result.queries
    assert {q["worker"] for q in queries} == {0, 1, 2, 3}
    for w in range(4):
        jobs = sorted((q["start_s"], q["time_s"]) for q in queries if q["worker"] == w)
        assert jobs[0][0] == 0.0
        assert all(prev[1] == pytest.approx(nxt[0]) for prev, nxt in zip(jobs, jobs[1:]))  # busy back-to-back
    serial = run_search("rs", objective, budget=60, seed=0, workers=1)
    assert queries[-1]["time_s"] < serial.queries[-1]["time_s"] / 2
    limited = run_search("rs", objective, budget=None, seed=0, workers=2, time_budget_s=20 * 3600)
    assert limited.queries and all(q["time_s"] <= 20 * 3600 for q in limited.queries)
    with pytest.raises(SearchError, match="budget"):
        run_search("rs", objective, budget=None)


def test_transfers_are_charged_fine_tune_only(objective: SyntheticObjective) -> None:
    result = run_search("rs", objective, budget=400, seed=1)
    done: list[tuple[float, ModelCard]] = []
    transfers = 0
    for q in result.queries:
        card = ModelCard.from_dict(q["card"])
        trained = [c for t, c in done if t <= q["start_s"]]  # finished before this query was launched
        expected = any(leading_identical_layers(card, n) / card.l >= 0.8 for n in trained)
        assert q["transferred"] == expected
        transfers += expected
        done.append((q["time_s"], card))
    assert 0 < transfers < len(result.queries) and result.summary["transfers"] == transfers


def test_a_run_records_its_own_cpu_seconds(objective: SyntheticObjective, tmp_path) -> None:
    """In-process and in a process pool alike, the summary holds the run's CPU seconds (the leaderboards' cost)."""
    paths = run_many(["rs", "boshnas"], objective, budget=12, seeds=[0], out_dir=tmp_path, processes=2)
    cpu = {p.stem: read_trajectory(p)[-1]["cpu_s"] for p in paths}
    assert all(0 < c <= read_trajectory(p)[-1]["wall_s"] * 2 + 0.1 for c, p in zip(cpu.values(), paths))
    assert cpu["boshnas-seed0"] > cpu["rs-seed0"]  # the surrogate's fits cost CPU; random draws almost none


class ProtocolOnly:
    """Wraps an optimizer and lets through only what the Optimizer protocol declares."""

    declared = {n for n in vars(Optimizer) if not n.startswith("_")} | set(Optimizer.__annotations__)

    def __init__(self, optimizer) -> None:
        object.__setattr__(self, "_inner", optimizer)

    def __getattr__(self, name: str):
        if name not in ProtocolOnly.declared:
            raise AttributeError(f"the runner used {name!r}, which the Optimizer protocol does not declare")
        return getattr(object.__getattribute__(self, "_inner"), name)


def test_protocol_declares_everything_the_runner_uses(objective: SyntheticObjective) -> None:
    assert {"ask", "tell", "state", "name", "encoding"} <= ProtocolOnly.declared
    inner = make_optimizer("re", seed=0)
    result = run_search(ProtocolOnly(inner), objective, budget=12, seed=0, workers=2)
    assert len(result.queries) == 12 and inner.n_observed == 12 and result.records[0]["algo"] == "re"


def test_runner_takes_an_optimizer_instance_and_any_design_space(objective: SyntheticObjective) -> None:
    by_name = run_search("re", objective, budget=10, seed=5)
    seed = int(np.random.SeedSequence(5).spawn(2)[0].generate_state(1)[0])
    by_instance = run_search(make_optimizer("re", seed=seed), objective, budget=10, seed=5)
    assert [q["short"] for q in by_instance.queries] == [q["short"] for q in by_name.queries]
    small = DesignSpace.from_dict(
        {
            "layers": [2],
            "operations": {"SA": ["SDP"], "LT": ["DFT"]},
            "heads": [2],
            "hidden": [128],
            "ff_widths": [512],
            "ff_depths": [1],
            "stack": 2,
            "name": "tiny",
        }
    )
    result = run_search("rs", lambda: _FlatObjective(), budget=2, seed=0, space=small)
    assert result.records[0]["pool"] == small.count(1) == 2
    assert {ModelCard.from_dict(q["card"]) for q in result.queries} == set(small.enumerate(1))
    with pytest.raises(SearchError, match="its own pool"):
        run_search(make_optimizer("rs"), objective, budget=2, encoding=homogeneous(make_encoding("naive")))


class _FlatObjective:
    """Every card scores 50 and costs one second: enough to drive the runner on any space."""

    name = "flat"
    optimum = 50.0

    def evaluate(self, card: ModelCard, rng: np.random.Generator) -> Evaluation:
        return Evaluation(50.0, 1.0, 0.0)

    def true_score(self, card: ModelCard) -> float:
        return 50.0

    def describe(self) -> dict:
        return {"objective": self.name}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_asks_distinct_cards_and_counts_observations(name: str, objective: SyntheticObjective) -> None:
    opt = make_optimizer(name, seed=0, **CHEAP.get(name, {}))
    rng, seen = np.random.default_rng(0), set()
    for _ in range(14):
        card = opt.ask()
        assert card not in seen and card in opt.encoding
        seen.add(card)
        evaluation = objective.evaluate(card, rng)
        opt.tell(card, Observation(evaluation.score, evaluation.pretrain_s + evaluation.finetune_s))
    assert opt.n_observed == 14 and opt.state()["observed"] == 14 and opt.name == name


def test_convergence_flag_after_five_stable_observations(objective: SyntheticObjective) -> None:
    opt = make_optimizer("rs", seed=0)
    cards = [opt.ask() for _ in range(7)]
    opt.tell(cards[0], Observation(90.0, 1.0))
    for card in cards[1:6]:
        assert not opt.converged
        opt.tell(card, Observation(50.0, 1.0))
    assert opt.converged
    opt.tell(cards[6], Observation(95.0, 1.0))
    assert not opt.converged


def test_hutchinson_diagonal_is_unbiased_and_adahessian_minimises() -> None:
    a = torch.tensor([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]])
    target = torch.tensor([1.0, -2.0, 0.5])

    def loss_of(x: torch.Tensor) -> torch.Tensor:
        d = x - target
        return 0.5 * d @ a @ d + 0.1 * (d**4).sum()

    x = torch.tensor([0.3, 0.2, -0.1], requires_grad=True)
    opt = AdaHessian([x], generator=torch.Generator().manual_seed(0))
    estimates = []
    for _ in range(2000):
        x.grad = torch.autograd.grad(loss_of(x), x, create_graph=True)[0]
        estimates.append(opt.hutchinson_diagonal([x])[0])
    exact = torch.autograd.functional.hessian(loss_of, x.detach()).diagonal()
    # E[z * Hz] = diag(H); |.| is unbiased here because the diagonal dominates the off-diagonal sums
    torch.testing.assert_close(torch.stack(estimates).mean(0), exact, rtol=0.05, atol=0.05)
    x = torch.zeros(3, requires_grad=True)
    opt = AdaHessian([x], lr=0.5, generator=torch.Generator().manual_seed(0))
    for _ in range(200):
        opt.zero_grad()
        loss_of(x).backward(create_graph=True)
        opt.step()
    torch.testing.assert_close(x.detach(), target, atol=2e-2, rtol=0)


def test_gobi_finds_the_maximum_and_snaps_to_nearest_available() -> None:
    peak = np.array([0.5, -0.25], dtype=np.float32)

    def concave(x: torch.Tensor) -> torch.Tensor:
        return -((x - torch.from_numpy(peak)) ** 2).sum(-1) - 0.3 * ((x - torch.from_numpy(peak)) ** 4).sum(-1)

    starts = np.random.default_rng(0).uniform(-1, 1, size=(5, 2)).astype(np.float32)
    for second_order in (True, False):
        out = gobi(concave, starts, np.full(2, -1.0), np.full(2, 1.0), steps=150, lr=0.1, second_order=second_order)
        np.testing.assert_allclose(out, np.tile(peak, (5, 1)), atol=0.05)
    pool = np.random.default_rng(1).normal(size=(500, 2)).astype(np.float32)
    available = np.random.default_rng(2).random(500) < 0.5
    got = snap(out, pool, available)
    free = np.flatnonzero(available)
    _, nearest = NearestNeighbors(n_neighbors=1).fit(pool[free]).kneighbors(out)
    np.testing.assert_array_equal(got, free[nearest[:, 0]])


def test_boshnas_branch_frequencies_follow_alpha_beta() -> None:
    opt = make_optimizer("boshnas", seed=0, alpha=0.3, beta=0.3, n_init=2, **CHEAP["boshnas"])
    rng, objective = np.random.default_rng(0), SyntheticObjective(seed=0)
    for _ in range(42):
        card = opt.ask()
        opt.tell(card, Observation(objective.evaluate(card, rng).score, 1.0))
    steps = opt.steps  # 40 draws: each branch expects 12 (binomial sd 2.9)
    assert steps["init"] == 2 and sum(steps.values()) == 42
    assert 4 <= steps["uncertainty"] <= 20 and 4 <= steps["random"] <= 20 and 8 <= steps["gobi"] <= 28


def test_leaderboard_and_cli(tmp_path, objective: SyntheticObjective) -> None:
    runs = tmp_path / "runs"
    for algo in ("rs", "re"):
        for seed in range(3):
            run_search(algo, objective, budget=20, seed=seed, out_dir=runs)
    board = build_leaderboard(load_runs([runs]), budgets=(5, 10, 50))
    assert board.budgets == (5, 10, 20)
    rs_final = [r for r in board.rows if r["label"] == "rs" and r["budget"] == 20 and r["metric"] == "regret"][0]
    finals = [read_trajectory(runs / f"rs-seed{s}.jsonl")[-1]["regret"] for s in range(3)]
    assert rs_final["mean"] == pytest.approx(np.mean(finals)) and rs_final["n"] == 3
    written = write_leaderboard([runs], tmp_path / "board", budgets=(5, 10))
    assert {p.name for p in written} == {
        "leaderboard.md",
        "leaderboard.csv",
        "best_vs_queries.png",
        "best_vs_time.png",
        "final_bar.png",
        "curves.csv",
    }
    out = tmp_path / "cli_runs"
    args = ["search", "--algo", "rs,re", "--budget", "8", "--seeds", "2", "--processes", "1", "--out", str(out)]
    assert main(args) == 0
    assert sorted(p.name for p in out.glob("*.jsonl")) == [f"{a}-seed{s}.jsonl" for a in ("re", "rs") for s in (0, 1)]
    assert main(["leaderboard", str(out), "--out", str(tmp_path / "lb"), "--no-plots"]) == 0
    assert "| re |" in (tmp_path / "lb" / "leaderboard.md").read_text()
    assert main(["search", "--algo", "nope", "--out", str(out)]) == 2
    missing = str(tmp_path / "missing.h5")
    assert main(["search", "--algo", "rs", "--objective", "table", "--table", missing, "--out", str(out)]) == 2


def test_search_on_the_table_defaults_its_table_and_fidelity_and_shows_progress(tmp_path, capsys) -> None:
    out = tmp_path / "table_runs"
    args = ["search", "--algo", "rs", "--objective", "table", "--budget", "3", "--seeds", "2", "--processes", "1"]
    assert main([*args, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "fidelity nano" in err and "[1/2]" in err and "[2/2]" in err
    assert len(read_trajectory(out / "rs-seed0.jsonl")) == 3 + 2  # header, 3 queries, summary
