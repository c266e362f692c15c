"""Benchmark.query and friends on a small synthetic table."""

from __future__ import annotations

import math
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from flexibench.bench import QueryError, QueryResult, load
from flexibench.bench.table_surrogate import deserialize
from flexibench.bench.testing import fixture_table, synthetic_score
from flexibench.core import ModelCard
from flexibench.core.errors import CardError


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    path, library = fixture_table(tmp_path_factory.mktemp("query"))
    bench = load(path, library=library)
    yield bench, library, path
    bench.close()


def test_measured_card_averages_its_ok_seeds(setup):
    bench, library, _ = setup
    card = library.cards[5]
    result = bench.query(card)
    scores = [synthetic_score(card, s) for s in (0, 1)]
    assert isinstance(result, QueryResult) and result.source == "table"
    assert result.fidelity == "nano" and result.n_seeds == 2
    assert result.score == pytest.approx(np.mean(scores))
    assert result.score_std == pytest.approx(np.std(scores, ddof=1))
    assert set(result.task_scores) == {"mrpc", "sst2"}
    assert result.pretrain_time_s == pytest.approx(sum(card.h) + 5)  # seeds 0 and 1: +0 and +10
    assert result.params > 0 and result.flops > 0


def test_named_json_and_card_inputs_agree(setup):
    bench, _, _ = setup
    card = ModelCard.named("bert-tiny")
    assert bench.query("bert-tiny") == bench.query(card) == bench.query(card.to_json()) == bench.query(card.to_dict())


def test_failed_seeds_are_excluded_from_scores(setup):
    bench, library, _ = setup
    card = library.cards[41]  # seed 0 ok, seed 1 failed
    assert bench.query(card).n_seeds == 1
    assert bench.query(card).score == pytest.approx(synthetic_score(card, 0))
    with pytest.raises(QueryError, match="failed"):
        bench.query(card, seed=1)
    diverged = library.cards[40]  # its only record diverged: the surrogate answers
    assert bench.query(diverged).source == "surrogate"


def test_one_seed_and_sampling(setup):
    bench, library, _ = setup
    card = library.cards[3]
    one = bench.query(card, seed=1)
    assert one.seed == 1 and one.n_seeds == 1 and one.score == pytest.approx(synthetic_score(card, 1))
    with pytest.raises(QueryError, match="measured seeds: \\[0, 1\\]"):
        bench.query(card, seed=7)
    draws = {bench.query(card, seed="sample", rng=s).seed for s in range(20)}
    assert draws == {0, 1}
    assert bench.query(card, seed="sample", rng=3) == bench.query(card, seed="sample", rng=3)


def test_unmeasured_library_card_uses_stored_surrogate_predictions(setup):
    bench, library, _ = setup
    card = library.cards[50]
    result = bench.query(card)
    assert result.source == "surrogate" and result.n_seeds == 0 and result.task_scores == {}
    assert math.isfinite(result.score) and result.score_std > 0
    model = deserialize(bench._table.read("surrogate/nano/weights").tobytes())
    mean, std = model.predict([card], bench._arch("params")[50:51], space=bench.space)
    assert model.inputs.names() == ["naive", "log_params"]  # design choices one-hot, then size
    assert result.score == pytest.approx(mean[0], rel=1e-5) and result.score_std == pytest.approx(std[0], rel=1e-4)
    samples = [bench.query(card, seed="sample", rng=np.random.default_rng(i)).score for i in range(400)]
    assert np.mean(samples) == pytest.approx(result.score, abs=4 * result.score_std / 20)
    assert np.std(samples) == pytest.approx(result.score_std, rel=0.2)
    with pytest.raises(QueryError, match="was not measured"):
        bench.query(card, seed=0)


def test_in_space_card_outside_the_table_is_embedded_and_predicted(setup):
    bench, library, _ = setup
    card = ModelCard.named("flexibert-mini-wo-s")  # level 3, no row in the table
    assert card not in bench
    result = bench.query(card)
    model = deserialize(bench._table.read("surrogate/nano/weights").tobytes())
    mean, _ = model.predict([card], np.asarray([result.params]), space=bench.space)
    assert result.source == "surrogate" and result.score == pytest.approx(mean[0], rel=1e-5)
    assert result.flops > 0 and result.params > 0


def test_out_of_space_card_names_the_field(setup):
    bench, _, _ = setup
    bad = ModelCard.named("bert-tiny").to_dict() | {"h": [512, 512]}
    with pytest.raises(CardError, match=r"h\[0\]: 512 is not allowed; allowed: \[128, 256\]"):
        bench.query(bad)
    with pytest.raises(CardError, match="name"):
        bench.query("bert-huge")


def test_unknown_fidelity_and_missing_surrogate(setup):
    bench, library, _ = setup
    with pytest.raises(QueryError, match="available: \\['micro', 'nano'\\]"):
        bench.query("bert-tiny", fidelity="xl")
    assert bench.query(library.cards[0], fidelity="micro").source == "table"
    with pytest.raises(QueryError, match="no surrogate"):
        bench.query(library.cards[30], fidelity="micro")


def test_results_are_frozen_and_picklable(setup):
    bench, _, _ = setup
    result = bench.query("bert-tiny")
    with pytest.raises(AttributeError):
        result.score = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        result.task_scores["sst2"] = 1.0  # type: ignore[index]
    assert pickle.loads(pickle.dumps(result)) == result


def test_iterate_filter_best_and_pandas(setup):
    bench, library, _ = setup
    assert len(bench) == len(library.cards) + 1 and list(bench)[: len(library.cards)] == library.cards
    measured = bench.cards("nano")
    assert len(measured) == 42 and ModelCard.named("flexibert-mini") in measured
    small = bench.filter(max_params=2_000_000)
    assert small and all(r.params <= 2_000_000 for r in small)
    assert {r.card for r in bench.filter(homogeneous=True)} <= {c for c in measured if c.is_homogeneous}
    best = bench.best(3)
    assert [r.score for r in best] == sorted((r.score for r in bench.results()), reverse=True)[:3]
    frame = bench.to_pandas()
    assert len(frame) == 42 and {"score", "params", "flops", "task_sst2"} <= set(frame.columns)
    per_seed = bench.to_pandas(per_seed=True)
    assert len(per_seed) == 84 and set(per_seed["status"]) == {"ok", "diverged", "failed"}
    everything = bench.filter(measured=False)
    assert len(everything) == len(bench) and {r.source for r in everything} == {"table", "surrogate"}
    whole = bench.to_pandas(predicted=True)  # every card once: measured means, then the surrogate's answers
    assert len(whole) == len(bench) == whole["card"].nunique() and whole["measured"].sum() == 42
    guess = whole[~whole["measured"]].iloc[0]
    assert guess["score"] == bench.query(ModelCard.from_json(guess["card"])).score and guess["n_seeds"] == 0
    with pytest.raises(ValueError, match="choose one"):
        bench.to_pandas(per_seed=True, predicted=True)


def test_training_cost_uses_weight_transfer(setup):
    bench, library, _ = setup
    card = library.cards[2]
    full = bench.query(card)
    assert bench.training_cost(card) == pytest.approx(full.pretrain_time_s + full.finetune_time_s)
    assert bench.training_cost(card, trained=[card]) == pytest.approx(full.finetune_time_s)
    other = next(c for c in library.cards if c.layer(0) != card.layer(0))
    assert bench.training_cost(card, trained=[other]) == pytest.approx(full.total_time_s)


def test_embedding_and_neighbours(setup):
    bench, library, _ = setup
    np.testing.assert_array_equal(bench.embedding(library.cards[7]), library.embeddings[7])
    assert bench.neighbours(library.cards[7], 2) == [library.cards[i] for i in library.neighbours[7][:2]]


def test_info_counts(setup):
    bench, library, _ = setup
    info = bench.info()
    assert info["library"]["cards"] == len(library.cards)
    nano = info["fidelities"]["nano"]
    assert (nano["measured_cards"], nano["records"], nano["ok_records"], nano["seeds"]) == (42, 84, 82, [0, 1])
    assert nano["surrogate"]["n_train"] + nano["surrogate"]["n_val"] == 42
    assert -1 <= nano["surrogate"]["kendall_tau"] <= 1 and nano["surrogate"]["rmse"] >= 0
    assert (nano["surrogate"]["cv_folds"], nano["surrogate"]["cv_repeats"]) == (5, 3)
    assert -1 <= nano["surrogate"]["cv_kendall_tau"] <= 1 and nano["surrogate"]["cv_rmse"] >= 0
    assert info["fidelities"]["micro"]["surrogate"] is None


def test_cross_validation_predicts_every_card_out_of_fold_as_scikit_learn_does() -> None:
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import KFold, cross_val_predict

    from flexibench.bench.table_surrogate import cross_validate, validation_figures

    class WithSpread(Ridge):  # the surrogates' predict returns (mean, std)
        def predict(self, X):
            return super().predict(X), np.zeros(len(X))

    rng = np.random.default_rng(1)
    X = rng.normal(size=(37, 3))
    y = X @ [1.0, -2.0, 0.5] + rng.normal(scale=0.5, size=37)
    figures = []
    for repeat in range(2):  # repeat r shuffles with seed r, then splits into contiguous folds
        order = np.random.default_rng(repeat).permutation(37)
        predicted = cross_val_predict(Ridge(), X[order], y[order], cv=KFold(5))
        figures.append(validation_figures(predicted, y[order]))
    expected = np.mean(figures, axis=0)
    np.testing.assert_allclose(cross_validate(WithSpread, X, y, folds=5, repeats=2), expected, rtol=1e-10)


def test_load_and_query_read_little_and_never_import_torch(setup):
    _, library, path = setup
    code = textwrap.dedent(
        f"""
        import sys
        import flexibench
        bench = flexibench.load({str(path)!r})
        assert bench._table._cache == {{}}, "load read a dataset"
        bench.query({library.cards[1].to_json()!r})
        bench.query({library.cards[60].to_json()!r})
        assert "torch" not in sys.modules and "pandas" not in sys.modules
        print(sorted(bench._table._cache))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "archs/embedding" not in out and "results/nano/record" not in out


def test_default_path_comes_from_the_environment(setup, monkeypatch):
    _, _, path = setup
    import flexibench

    monkeypatch.setenv("FLEXIBENCH_TABLE", str(path))
    with flexibench.load() as bench:
        assert bench.path == path


def test_surrogate_bytes_keep_their_inputs_and_old_tables_read_embeddings() -> None:
    from flexibench.bench.table_surrogate import SurrogateInputs, serialize
    from flexibench.core import DesignSpace, naive_features
    from flexibench.core.errors import DataError
    from flexibench.surrogates import MLPEnsemble

    rng = np.random.default_rng(0)
    space = DesignSpace.default()
    cards = [space.card_at(1, int(i)) for i in rng.choice(9312, 40, replace=False)]
    params = rng.integers(10**6, 10**8, 40)
    inputs = SurrogateInputs.fit(params)
    assert not SurrogateInputs.fit(np.r_[params, -1]).sized  # a count unknown: no size input
    with pytest.raises(DataError, match="unknown; known"):
        SurrogateInputs("graph")
    X = inputs.build(cards, params)
    one_hot = naive_features(cards, space)
    assert X.shape == (40, one_hot.shape[1] + 1) and np.array_equal(X[:, :-1], one_hot)
    assert abs(X[:, -1].mean()) < 1e-5 and X[:, -1].std() == pytest.approx(1)
    y = X[:, -1] * 2.0 + rng.normal(scale=0.1, size=40)
    model = MLPEnsemble(n_members=2, hidden=(8,), epochs=20).fit(X, y)
    stored = deserialize(serialize(model, inputs))
    assert stored.inputs == inputs
    np.testing.assert_allclose(stored.predict(cards, params)[0], model.predict(X)[0], rtol=1e-5)
    with pytest.raises(DataError, match="unknown"):
        stored.predict(cards[:1], np.asarray([-1]))
    # tables packed before the choice: Transformer2vec rows, with or without the size input
    embeddings = rng.normal(size=(40, 4)).astype(np.float32)
    sized = SurrogateInputs.fit(params, "embedding")
    old_X = sized.build(cards, params, embeddings)
    old = MLPEnsemble(n_members=2, hidden=(8,), epochs=20).fit(old_X, y)
    meta = {**sized.metadata()}
    meta.pop("features")  # older bytes carry no "features" key
    assert SurrogateInputs.from_metadata(meta) == sized
    legacy = deserialize(serialize(old, sized))
    np.testing.assert_allclose(legacy.predict(cards, params, embeddings)[0], old.predict(old_X)[0], rtol=1e-5)
    with pytest.raises(DataError, match="embeddings"):
        legacy.predict(cards, params)
    oldest = SurrogateInputs.from_metadata({})  # before the size input: the embedding alone
    assert oldest.names() == ["embedding"] and np.array_equal(oldest.build(cards, params, embeddings), embeddings)


def test_info_ranks_the_cards_measured_at_two_fidelities_against_each_other(setup):
    """Between-fidelity Kendall tau equals scipy's on the seed means of the cards both fidelities measured."""
    from scipy.stats import kendalltau

    bench, _, _ = setup
    (pair,) = bench.info()["between"]
    nano, micro = (bench.to_pandas(fidelity=f).set_index("card")["score"] for f in ("nano", "micro"))
    common = nano.index.intersection(micro.index)
    assert sorted(pair["fidelities"]) == ["micro", "nano"] and pair["cards"] == len(common) == 6
    assert pair["kendall_tau"] == pytest.approx(kendalltau(nano[common], micro[common]).statistic)
