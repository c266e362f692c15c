"""Measure the nine failures of docs/hardening.md on whichever flexibench comes first on ``sys.path``.

    python tests/measure_hardening.py [CASE ...]            # this checkout; cases 1-9, default all
    PYTHONPATH=/path/to/old/checkout python tests/measure_hardening.py

Prints one JSON object. Everything runs in a temporary folder on fixtures (tiny corpus,
synthetic records, an 8-card fixture library); case 1 trains tiny models for a minute or two.
The malformed inputs are the fuzz tests' own strategies (tests/test_bad_inputs.py), drawn the
same derandomized way.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import yaml  # noqa: E402
from hypothesis import given, settings  # noqa: E402

import flexibench  # noqa: E402
from flexibench.bench import JournalWriter, read_shards  # noqa: E402
from flexibench.bench.benchmark import load  # noqa: E402
from flexibench.bench.pack import pack  # noqa: E402
from flexibench.bench.store import TableFile  # noqa: E402
from flexibench.bench.testing import fixture_library, synthetic_record, write_shard  # noqa: E402
from flexibench.cli import main  # noqa: E402
from flexibench.core import DesignSpace, ModelCard  # noqa: E402
from flexibench.core.errors import CardError, DataError  # noqa: E402

SPACE = DesignSpace.default()


def cli(argv: list[str]) -> str:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
        except Exception as exc:  # noqa: BLE001 - what is measured
            return f"traceback ({type(exc).__name__})"
    lines = err.getvalue().strip().splitlines()
    return f"exit {code}" + (f", {len(lines)} line(s): {lines[-1][:90]}" if lines else "")


def case1(tmp: Path) -> dict:
    """kill -9 of a 2-worker sweep's parent alone after its first record; the restart 10 s later."""
    from test_train_fixtures import make_data_dir, tiny_recipe
    from test_train_sweep import _kill_parent_alone_then_restart, _sweep_cmd

    os.environ["FLEXIBENCH_TOKENIZER_DIR"] = str(tmp / "tok")
    data = make_data_dir(tmp / "data")
    recipe = tmp / "r.yaml"
    recipe.write_text(yaml.safe_dump(tiny_recipe(steps=150)))
    cards = tmp / "cards.txt"
    cards.write_text("bert-tiny\nfnet-tiny\nbert-mini\nconvbert-tiny\n")
    cmd = _sweep_cmd(recipe, cards, data, tmp / "sweep")
    cmd[cmd.index("--workers") + 1] = "2"
    seen = _kill_parent_alone_then_restart(cmd, tmp / "sweep", tmp / "log", wait_s=10, grace_s=70)
    seen["left"] = len(seen["left"])  # still running 70 s after the kill (then killed)
    seen["duplicates"] = seen["lines"] - seen["keys"]
    return seen


def case2(tmp: Path) -> dict:
    import test_bad_inputs as fuzz

    seen = {"cards": 0, "card escapes": 0, "texts": 0, "text escapes": 0, "card validate tracebacks": 0}
    kinds: dict[str, int] = {}

    def parse(kind: str, parser, value) -> None:  # noqa: ANN001
        seen[f"{kind}s"] += 1
        try:
            SPACE.validate(parser(value))
        except CardError:
            pass
        except Exception as exc:  # noqa: BLE001 - what is measured
            seen[f"{kind} escapes"] += 1
            kinds[type(exc).__name__] = kinds.get(type(exc).__name__, 0) + 1

    @settings(fuzz.FUZZ, max_examples=fuzz.CARD_CASES)
    @given(card=fuzz.malformed_cards())
    def cards(card):
        parse("card", ModelCard.from_dict, card)

    @settings(fuzz.FUZZ, max_examples=fuzz.TEXT_CASES)
    @given(text=fuzz._texts)
    def texts(text):
        parse("text", ModelCard.parse, text)
        if "\x00" not in text and cli(["card", "validate", text]).startswith("traceback"):
            seen["card validate tracebacks"] += 1

    cards()
    texts()
    return {**seen, "escaped as": kinds}


AMBIGUOUS = [
    {"h": [128, 128.0]},
    {"n": [2, True]},
    {" l ": 2},
    {"P": ["SDP", "SDP"]},
    {"L": 2},  # with "l" already there: the same key twice
    {"p": ["\u017fdp", "SDP"]},
    {"o": ["DSC", "DSC"], "p": ["\u0665", 9]},
    {"o": ["SA ", "SA"]},
]


def case3(tmp: Path) -> dict:
    base = ModelCard.named("bert-tiny").to_dict()
    accepted = []
    for change in AMBIGUOUS:
        with contextlib.suppress(CardError):
            accepted.append(ModelCard.from_dict({**base, **change}).short())
    return {"ambiguous cards accepted": f"{len(accepted)} of {len(AMBIGUOUS)}"}


TAMPERED = [("score", "99.5"), ("score", -50), ("score", 1e308), ("score", "abc"), ("tokens_seen", None),
            ("task_scores", [1, 2]), ("seed", True), ("pretrain_loss", -1.0)]  # fmt: skip


def case4(tmp: Path) -> dict:
    from test_record_schema import _tampered_shard

    library = fixture_library(8)
    out = {}
    for i, (field, value) in enumerate(TAMPERED):
        (tmp / f"t{i}").mkdir()
        shard = _tampered_shard(tmp / f"t{i}" / "s.jsonl", field, value)
        try:
            pack([shard], shard.parent / "t.h5", library=library, fit_surrogate=False)
            result = "packed"
        except DataError as exc:
            result = "refused" + (", naming file and line" if "s.jsonl, line 2" in str(exc) else "")
        except Exception as exc:  # noqa: BLE001
            result = f"traceback ({type(exc).__name__})"
        out[f"{field} = {value!r}"] = result
    return out


def case5(tmp: Path) -> dict:
    card = ModelCard.named("bert-tiny")
    first = write_shard(tmp / "a.jsonl", [dataclasses.replace(synthetic_record(card, 0), score=99.0)])
    second = write_shard(tmp / "b.jsonl", [synthetic_record(card, 0)])
    out = {}
    try:
        (record,) = read_shards([first, second])
        out["a copy with another score, read first"] = f"kept, score {record.score:.1f}"
    except DataError as exc:
        out["a copy with another score, read first"] = "refused: " + str(exc)[:60] + "..."
    rec = json.loads(synthetic_record(card, 1).to_json())
    rec["seed"] = True
    payload = json.dumps(rec, sort_keys=True, separators=(",", ":"))
    (tmp / "c.jsonl").write_text(json.dumps({"crc": zlib.crc32(payload.encode()), "rec": rec}) + "\n")
    write_shard(tmp / "d.jsonl", [synthetic_record(card, 1)])
    try:
        records = read_shards([tmp / "c.jsonl", tmp / "d.jsonl"])
        out["seed true next to seed 1"] = f"{len(records)} record(s) kept"
    except DataError as exc:
        out["seed true next to seed 1"] = "refused: " + str(exc).split(": ", 1)[-1][:60]
    return out


def case6(tmp: Path) -> dict:
    import flexibench.library

    library = fixture_library(8)
    flexibench.library.load_or_build_library = lambda level=1, **kw: library
    shards = tmp / "D"
    shard, notes = shards / "shard-vm.jsonl", tmp / "some.txt"
    out = {}
    for name, target in [("--out D/shard-vm.jsonl", shard), ("--out some.txt", notes), ("--out DIR", tmp)]:
        shard.unlink(missing_ok=True)
        write_shard(shard, [synthetic_record(c, 0) for c in library.cards[:4]])
        journal = shard.read_bytes()
        notes.write_text("mine")
        result = cli(["pack", str(shards), "--out", str(target), "--no-surrogate"])
        kept = shard.read_bytes() == journal and notes.read_bytes() == b"mine"
        out[name] = f"{result}; inputs and other files {'kept' if kept else 'REPLACED'}"
    return out


def case7(tmp: Path) -> dict:
    from test_record_schema import SHORT_WRITE

    done = subprocess.run([sys.executable, "-c", SHORT_WRITE, str(tmp / "s.jsonl")], capture_output=True, text=True)
    lines = [
        line.split(": ", 1)[0] + (": " + line.split(": ")[-1][:50] if ": " in line else "")
        for line in done.stdout.splitlines()
    ]
    return {"append 100 bytes under a file-size limit, then one more": " | ".join(lines) or done.stderr[-300:]}


def case8(tmp: Path) -> dict:
    record = synthetic_record(ModelCard.named("bert-tiny"), 0)
    out = {}
    for name, changed in [
        ("perplexity inf", dataclasses.replace(record, task_metrics={"MLM": {"perplexity": math.inf}})),
        ("score inf", dataclasses.replace(record, seed=1, score=math.inf)),
    ]:
        try:
            with JournalWriter(tmp / "s.jsonl") as writer:
                writer.append(changed)
            (back,) = [r for r in read_shards([tmp / "s.jsonl"]) if r.seed == changed.seed]
            out[name] = f"stored, status {back.status}"
        except Exception as exc:  # noqa: BLE001
            out[name] = f"append raised {type(exc).__name__}"
    return out


def case9(tmp: Path) -> dict:
    from test_bad_inputs import _set_format_version

    (tmp / "afile").write_text("x")
    os.symlink(tmp / "loop", tmp / "loop")
    os.mkfifo(tmp / "fifo")
    out = {
        "--space /tmp": cli(["space", "count", "--space", "/tmp"]),
        "--space missing.yaml": cli(["space", "count", "--space", str(tmp / "missing.yaml")]),
        "sweep --out afile": cli(["sweep", "--named", "--data", str(tmp), "--out", str(tmp / "afile")]),
    }
    for kind in ("", "fifo", "loop"):
        out[f"--table {kind or 'DIR'}"] = cli(["query", "bert-tiny", "--table", str(tmp / kind)])
    library = fixture_library(8)
    shard = write_shard(tmp / "s.jsonl", [synthetic_record(c, 0) for c in library.cards[:4]])
    pack([shard], tmp / "t.h5", library=library, fit_surrogate=False)
    for version in (0, -1, 1.9, True):
        path = tmp / f"v{version}.h5"
        shutil.copyfile(tmp / "t.h5", path)
        _set_format_version(path, version)
        try:
            TableFile(path).close()
            out[f"format_version {version!r}"] = "opened"
        except DataError as exc:
            out[f"format_version {version!r}"] = "refused: " + str(exc).split(": ", 1)[-1]
    try:
        with load(tmp / "t.h5") as bench:
            bench.query("bert-tiny", fidelity=["nano"])
        out["query(fidelity=['nano'])"] = "answered"
    except Exception as exc:  # noqa: BLE001
        out["query(fidelity=['nano'])"] = f"{type(exc).__name__}: {exc}"
    return out


CASES = {str(i): fn for i, fn in enumerate([case1, case2, case3, case4, case5, case6, case7, case8, case9], 1)}

if __name__ == "__main__":
    warnings.simplefilter("ignore")
    chosen = sys.argv[1:] or list(CASES)
    report: dict = {"flexibench": str(Path(flexibench.__file__).parents[1])}
    for case in chosen:
        with tempfile.TemporaryDirectory() as folder:
            report[case] = CASES[case](Path(folder))
    print(json.dumps(report, indent=1, default=str))
