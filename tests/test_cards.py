"""Model cards: canonical form, named cards, graphs (Figure 2), hashes, and errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flexibench.cli import main
from flexibench.core import NAMED_CARDS, DesignSpace, ModelCard, card_graph, card_hash, to_networkx
from flexibench.core.errors import CardError
from flexibench.core.named import INITIAL_MODELS

SPACE = DesignSpace.default()


def test_every_named_card_validates_and_round_trips() -> None:
    assert len(INITIAL_MODELS) == 12
    for name in NAMED_CARDS:
        card = SPACE.validate(ModelCard.named(name))
        assert ModelCard.from_json(card.to_json()) == card
        assert ModelCard.parse(name.upper().replace("-", "_")) == card
    assert ModelCard.named("bert-tiny").short() == "2x[SA-SDP h128 n2 f512]"


def test_aliases_and_case_are_canonicalised() -> None:
    messy = {
        "L": 2,
        "o": ["sa", "self-attention"],
        "h": [128, 128],
        "n": [2, 2],
        "f": [512, [512]],
        "p": ["sdp", "SDP"],
    }
    assert ModelCard.from_dict(messy) == ModelCard.named("bert-tiny")
    conv = ModelCard.from_dict(
        {"l": 2, "o": ["c", "l"], "h": [128, 128], "n": [2, 2], "f": [[512], [512]], "p": ["9", "dct"]}
    )
    assert conv.o == ("DSC", "LT") and conv.p == (9, "DCT")
    assert ModelCard.from_dict({**conv.to_dict(), "p": ["k9", "Dct"]}) == conv


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"h": [128, 128.0]}, "h[1]"),  # a float is not an integer, even when it is whole
        ({"n": [2, True]}, "n[1]"),
        ({" l ": 2}, "card"),  # a key with spaces around it
        ({"P": ["SDP", "SDP"]}, "p"),  # p and P: the same key twice
        ({"p": ["\u017fdp", "SDP"]}, "p[0]"),  # long s upper-cases to S outside ASCII
        ({"o": ["DSC", "DSC"], "p": ["\u0665", 9]}, "p[0]"),  # Arabic-Indic five
        ({"o": ["DSC", "DSC"], "p": ["\u00b2", 9]}, "p[0]"),  # superscript two: isdigit() but not int()
        ({"o": ["SA ", "SA"]}, "o[0]"),
    ],
)
def test_ambiguous_cards_are_refused(change, field) -> None:
    with pytest.raises(CardError) as info:
        ModelCard.from_dict({**ModelCard.named("bert-tiny").to_dict(), **change})
    assert info.value.field == field and "allowed" in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        '{"l": 1' + "0" * 5000 + "}",  # int() refuses over 4,300 digits with ValueError
        "[" * 1000 + "]" * 1000,  # json.loads recurses once per level
        '{"l": 2, "l": 2, "o": [], "h": [], "n": [], "f": [], "p": []}',
        '{"l": Infinity}',
        "x" * 200_000,
    ],
)
def test_hostile_json_is_a_card_error_before_the_parser(text) -> None:
    with pytest.raises(CardError):
        ModelCard.parse(text)


def test_bert_tiny_graph_matches_figure_2() -> None:
    """input -> 2 SA heads -> add&norm -> f512 -> add&norm, twice, -> output (with residual edges)."""
    graph = card_graph(ModelCard.named("bert-tiny"))
    assert graph.labels == (
        "input",
        "sa_h128_sdp",
        "sa_h128_sdp",
        "add_norm",
        "f512",
        "add_norm",
        "sa_h128_sdp",
        "sa_h128_sdp",
        "add_norm",
        "f512",
        "add_norm",
        "output",
    )
    assert set(graph.edges) == {
        (0, 1), (0, 2), (1, 3), (2, 3), (0, 3),  # heads and the residual into add&norm
        (3, 4), (4, 5), (3, 5),  # feed-forward with its residual
        (5, 6), (5, 7), (6, 8), (7, 8), (5, 8),
        (8, 9), (9, 10), (8, 10),
        (10, 11),
    }  # fmt: skip
    g = to_networkx(ModelCard.named("bert-tiny"))
    assert nx.is_directed_acyclic_graph(g) and g.number_of_nodes() == 12


def test_hash_is_invariant_under_node_renumbering_and_distinguishes_cards() -> None:
    card = ModelCard.named("flexibert-mini")
    graph = card_graph(card)
    # Swap the two heads of the first layer (nodes 1 and 2) and relabel consistently.
    perm = {i: i for i in range(len(graph.labels))}
    perm[1], perm[2] = 2, 1
    from flexibench.core.graph import BlockGraph, graph_hash

    swapped = BlockGraph(
        tuple(graph.labels[perm[i]] for i in range(len(graph.labels))),
        tuple(sorted((perm[u], perm[v]) for u, v in graph.edges)),
    )
    assert graph_hash(swapped) == graph_hash(graph) == card_hash(card)
    assert len({card_hash(ModelCard.named(n)) for n in NAMED_CARDS}) == len(NAMED_CARDS)


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"l": 2, "o": ["SA"], "h": [128, 128], "n": [2, 2], "f": [[512], [512]], "p": ["SDP", "SDP"]}, "o"),
        ({"l": 2, "o": ["XX", "SA"], "h": [128, 128], "n": [2, 2], "f": [[512], [512]], "p": ["SDP", "SDP"]}, "o[0]"),
        ({"l": 2, "o": ["SA", "SA"], "h": [128, 512], "n": [2, 2], "f": [[512], [512]], "p": ["SDP", "SDP"]}, "h[1]"),
        ({"l": 2, "o": ["SA", "SA"], "h": [128, 128], "n": [2, 2], "f": [[512], [512]], "p": ["SDP", "DFT"]}, "p[1]"),
        ({"l": 2, "o": ["SA", "SA"], "h": [128, 128], "n": [2, "2"], "f": [[512], [512]], "p": ["SDP", "SDP"]}, "n[1]"),
        ({"l": 3, "o": ["SA"] * 3, "h": [128] * 3, "n": [2] * 3, "f": [[512]] * 3, "p": ["SDP"] * 3}, "l"),
        (
            {"l": 2, "o": ["SA", "SA"], "h": [128, 128], "n": [2, 2], "f": [[512, 512], [512]], "p": ["SDP", "SDP"]},
            "f[0]",
        ),
        ({}, "l"),
        ([1, 2], "card"),
    ],
)
def test_bad_cards_name_field_value_and_allowed(bad, field) -> None:
    with pytest.raises(CardError) as info:
        SPACE.validate(ModelCard.from_dict(bad))
    assert info.value.field == field
    assert "allowed" in str(info.value)


def test_non_json_is_a_card_error() -> None:
    with pytest.raises(CardError, match="valid JSON"):
        ModelCard.parse("{not json")
    with pytest.raises(CardError, match="bert-tiny"):
        ModelCard.parse("bert-huge")


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 2000) | st.floats(allow_nan=True) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=3), inner, max_size=6),
    max_leaves=20,
)


def _mutated_card(draw_value, key, base):
    card = dict(base)
    card[key] = draw_value
    return card


@settings(max_examples=300, deadline=None)
@given(
    key=st.sampled_from(["l", "o", "h", "n", "f", "p", "x"]),
    value=_json,
    base=st.sampled_from(sorted(NAMED_CARDS)),
)
def test_random_malformed_cards_raise_only_card_error(key, value, base) -> None:
    card = _mutated_card(value, key, NAMED_CARDS[base])
    try:
        SPACE.validate(ModelCard.from_dict(card))
    except CardError as exc:
        assert exc.field and "allowed" in str(exc)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=40) | _json.map(json.dumps))
def test_random_text_raises_only_card_error(text) -> None:
    try:
        SPACE.validate(ModelCard.parse(text))
    except CardError:
        pass


def test_cli_card_commands(capsys) -> None:
    assert main(["card", "validate", "bert-tiny"]) == 0
    assert "level 1" in capsys.readouterr().out
    assert main(["card", "show", "flexibert-mini", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["level"] == 1 and shown["graph"]["nodes"] == 1 + 2 * (2 + 1 + 6) + 2 * (4 + 1 + 2) + 1
    bad = '{"l": 2, "o": ["SA","SA"], "h": [128, 999], "n": [2,2], "f": [[512],[512]], "p": ["SDP","SDP"]}'
    assert main(["card", "validate", bad]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "h[1]" in err[0] and "999" in err[0] and "[128, 256]" in err[0]


def test_cli_space_count_and_enumerate_as_subprocess() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "flexibench", "space", "count", "--level", "1"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "9312"
    out = subprocess.run(
        [sys.executable, "-m", "flexibench", "space", "enumerate", "--level", "1", "--limit", "3"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) == 3 and all(len(r["hash"]) == 64 for r in rows)
    bad = subprocess.run(
        [sys.executable, "-m", "flexibench", "card", "validate", "not-json{"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


def test_cached_hash_agrees_with_equality_and_is_rebuilt_after_pickling_in_another_process(tmp_path) -> None:
    import os
    import pickle
    import subprocess
    import sys

    card = ModelCard.named("bert-mini")
    copy = ModelCard.from_json(card.to_json())
    assert card == copy and hash(card) == hash(copy) and card is not copy
    assert {card: 1}[copy] == 1
    assert card != ModelCard.named("bert-tiny") and card != card.to_json()
    # string hashes differ between processes: a pickled card must not carry this process's hash
    (tmp_path / "card.pkl").write_bytes(pickle.dumps(card))
    code = (
        "import pickle, sys; from flexibench.core import ModelCard; "
        f"c = pickle.loads(open({str(tmp_path / 'card.pkl')!r}, 'rb').read()); "
        "fresh = ModelCard.named('bert-mini'); print({fresh: 'found'}.get(c, 'missing'), hash(c) == hash(fresh))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.split() == ["found", "True"]
