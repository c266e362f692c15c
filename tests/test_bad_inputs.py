"""Bad input of every kind ends in the library's own error (CLI: exit 2, one line), never a traceback.

The fuzz tests draw malformed cards, records and CLI arguments with hypothesis
(derandomized, so CI sees the same cases every run); ``FUZZ_CASES`` is their total,
quoted in docs/hardening.md.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import string
import zlib

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flexibench.bench.benchmark import load
from flexibench.bench.journal import read_shard
from flexibench.bench.store import TableFile
from flexibench.bench.testing import fixture_table, synthetic_record
from flexibench.cli import main
from flexibench.core import DesignSpace, ModelCard
from flexibench.core.errors import CardError, DataError, FlexiBenchError

SPACE = DesignSpace.default()
BASE = ModelCard.named("flexibert-mini").to_dict()
CARD_CASES, TEXT_CASES, RECORD_CASES, CLI_CASES = 1000, 500, 500, 200
FUZZ_CASES = CARD_CASES + TEXT_CASES + RECORD_CASES + CLI_CASES
FUZZ = settings(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow], database=None)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path, _ = fixture_table(tmp_path_factory.mktemp("bad-inputs"))
    return path


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """``flexibench ARGV`` in this process: (exit status, stdout, stderr); any other exception fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own usage errors
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("flexibench: error: "), err
    for needle in needles:
        assert needle in lines[0], lines[0]


# ----------------------------------------------------------------------------- strategies
_digits = st.sampled_from(["\u00b2", "\u2460", "\u0665", "\uff15", "5", "k5", "K9", "05", " 9", "9 ", "k", ""])
_names = st.sampled_from(["SDP", "sdp", "\u017fdp", "SDP ", " sa", "s\u0430", "WMA", "dct", "Dft", "", "SA", "c", "l"])
_numbers = (
    st.integers(-3, 3000)
    | st.integers(4400, 5000).map(lambda digits: 10**digits)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([128.0, True, False, None, "128", "\u0661\u0662\u0668"])
)
_leaf = _numbers | _digits | _names | st.text(max_size=6)
_value = st.recursive(
    _leaf,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=3), inner, max_size=4),
    max_leaves=12,
)
_keys = st.sampled_from(["l", "o", "h", "n", "f", "p", "L", "P", " l", "p ", "x", "\u0130", "\u212a", 1, None])


@st.composite
def malformed_cards(draw):
    """flexibert-mini with a few keys replaced, added, duplicated in another case or dropped."""
    card: dict = dict(BASE)
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["replace", "add", "drop", "element"]))
        key = draw(st.sampled_from(sorted(card, key=str))) if card else "l"
        if action == "replace":
            card[key] = draw(_value)
        elif action == "add":
            card[draw(_keys)] = draw(_value)
        elif action == "drop":
            card.pop(key, None)
        elif isinstance(card.get(key), list) and card[key]:
            items = list(card[key])
            items[draw(st.integers(0, len(items) - 1))] = draw(_value)
            card[key] = items
    return card


def _card_text(card: dict) -> str:
    try:
        return json.dumps({str(k): v for k, v in card.items()}, allow_nan=True)
    except ValueError:  # an integer too long for str(): write its digits directly
        return '{"l": 2, "h": [' + "7" * 5000 + "]}"


def _deep(n: int) -> str:
    return "[" * n + "]" * n


_texts = (
    st.text(max_size=40)
    | malformed_cards().map(_card_text)
    | st.integers(0, 3000).map(_deep)
    | st.integers(1, 6000).map(lambda n: '{"l": ' + "9" * n + "}")
    | st.sampled_from(['{"l": 4, "l": 4}', '{"p": 1, "P": 1}', '{"l": NaN}', '{"l": -Infinity}', "{" * 50, "BERT-TİNY"])
)


# ----------------------------------------------------------------------------- cards
@settings(FUZZ, max_examples=CARD_CASES)
@given(card=malformed_cards())
def test_fuzzed_cards_raise_only_card_error(card) -> None:
    try:
        parsed = SPACE.validate(ModelCard.from_dict(card))
    except CardError as exc:
        assert exc.field and "allowed" in str(exc) and "\n" not in str(exc)
        return
    # what passes is unambiguous: every value was exactly an allowed spelling
    assert ModelCard.from_json(parsed.to_json()) == parsed


@settings(FUZZ, max_examples=TEXT_CASES)
@given(text=_texts)
def test_fuzzed_card_text_raises_only_card_error(text) -> None:
    try:
        SPACE.validate(ModelCard.parse(text))
    except CardError as exc:
        assert "\n" not in str(exc)


# ----------------------------------------------------------------------------- records
_FIELDS = sorted(json.loads(synthetic_record(ModelCard.named("bert-tiny"), 0).to_json()))


@settings(FUZZ, max_examples=RECORD_CASES)
@given(field=st.sampled_from([*_FIELDS, "extra"]), value=_value, drop=st.booleans())
def test_fuzzed_records_are_refused_with_file_and_line(tmp_path_factory, field, value, drop) -> None:
    rec = json.loads(synthetic_record(ModelCard.named("bert-tiny"), 0).to_json())
    if drop:
        rec.pop(field, None)
    else:
        rec[field] = value
    try:
        payload = json.dumps(rec, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except ValueError:  # NaN or inf: a writer cannot produce this line
        return
    shard = tmp_path_factory.mktemp("fuzz") / "s.jsonl"
    shard.write_text(json.dumps({"crc": zlib.crc32(payload.encode()), "rec": rec}) + "\n")
    try:
        (record,) = read_shard(shard)
    except DataError as exc:
        assert "s.jsonl, line 1" in str(exc) and "\n" not in str(exc)
        return
    assert json.loads(record.to_json()) == json.loads(payload) or drop  # read back as written (0 == 0.0)


# ----------------------------------------------------------------------------- CLI arguments
_arg = st.text(alphabet=string.printable + "\u00b2\u0665\u017f", max_size=30) | _texts


@settings(FUZZ, max_examples=CLI_CASES)
@given(command=st.sampled_from(["validate", "show", "query", "query-seed", "query-fidelity", "count"]), arg=_arg)
def test_fuzzed_cli_arguments_end_in_one_line_or_exit_2(table, command, arg) -> None:
    argv = {
        "validate": ["card", "validate", arg],
        "show": ["card", "show", arg],
        "query": ["query", arg, "--table", str(table)],
        "query-seed": ["query", "bert-tiny", "--seed", arg, "--table", str(table)],
        "query-fidelity": ["query", "bert-tiny", "--fidelity", arg, "--table", str(table)],
        "count": ["space", "count", "--space", arg or "x"],
    }[command]
    if "\x00" in arg:
        return  # an operating system cannot pass a NUL byte in an argument
    code, _, err = run_cli(argv)
    assert code in (0, 2), err
    if code == 2:
        lines = err.strip().splitlines()
        assert "Traceback" not in err and lines and "error: " in lines[-1]
        if not lines[-1].startswith("flexibench: error: "):
            return  # argparse's usage message (e.g. an argument that looks like an option)
        assert len(lines) == 1, err


# ----------------------------------------------------------------------------- paths and versions
def test_space_option_is_always_a_file(tmp_path) -> None:
    assert_one_line_error(*run_cli(["card", "validate", "bert-tiny", "--space", str(tmp_path)])[::2], "is a directory")
    missing = str(tmp_path / "missing.yaml")
    assert_one_line_error(*run_cli(["space", "count", "--space", missing])[::2], "does not exist")
    assert_one_line_error(*run_cli(["space", "count", "--space", "layers"])[::2], "does not exist")


def test_sweep_out_must_be_a_folder(tmp_path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    code, _, err = run_cli(["sweep", "--named", "--data", str(tmp_path), "--out", str(afile), "--no-progress"])
    assert_one_line_error(code, err, "is not a folder")
    assert afile.read_text() == "x"


@pytest.mark.parametrize("kind", ["directory", "fifo", "loop"])
def test_table_path_of_the_wrong_kind_says_what_it_is(tmp_path, kind) -> None:
    path = tmp_path / "t.h5"
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(path)
    expected = {"directory": "is a directory", "fifo": "is a FIFO", "loop": "symbolic link loop"}[kind]
    with pytest.raises(DataError, match=expected):
        TableFile(path)
    assert_one_line_error(*run_cli(["query", "bert-tiny", "--table", str(path)])[::2], expected)


def _set_format_version(path, value) -> None:
    """Rewrite /meta/format_version and the attributes' digest over it, as a careful forger would."""
    from flexibench.bench.store import attrs_checksum

    with h5py.File(path, "r+") as handle:
        handle["meta"].attrs["format_version"] = value
        groups = {"meta": dict(handle["meta"].attrs)}
        handle.visititems(lambda name, obj: groups.__setitem__(name, dict(obj.attrs)) if obj.attrs else None)
        handle["meta"].attrs["attrs_checksum"] = attrs_checksum(groups)


@pytest.mark.parametrize("version", [0, -1, 1.9, True, "1", np.float64(1.0)])
def test_format_versions_that_are_not_versions_are_refused(tmp_path, version) -> None:
    path, _ = fixture_table(tmp_path)
    _set_format_version(path, version)
    with pytest.raises(DataError, match="is not a version"):
        TableFile(path)


def test_format_version_one_still_opens(tmp_path) -> None:
    path, _ = fixture_table(tmp_path)
    _set_format_version(path, np.int64(1))
    with TableFile(path) as t:
        assert t.meta["format_version"] == 1


@pytest.mark.parametrize("fidelity", [["nano"], 3, b"nano", ("nano",)])
def test_query_fidelity_must_be_a_name(table, fidelity) -> None:
    with load(table) as bench, pytest.raises(FlexiBenchError, match="fidelity"):
        bench.query("bert-tiny", fidelity=fidelity)
