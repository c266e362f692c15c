"""The CLI registers commands lazily: light commands start without torch or networkx."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap

import pytest

from flexibench.cli import COMMANDS, build_parser, main

PROBE = textwrap.dedent(
    """
    import contextlib, json, sys
    from flexibench.cli import main
    with contextlib.suppress(SystemExit):
        code = main(sys.argv[1:])
    sys.stdout.flush()
    heavy = sorted(m for m in ("torch", "networkx") if m in sys.modules)
    sys.stderr.write("\\nHEAVY " + json.dumps(heavy) + "\\n")
    """
)


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str]]:
    (action,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return [(choice.dest, choice.help) for choice in action._choices_actions]


def test_commands_table_matches_what_the_modules_register() -> None:
    registered = _subcommands(build_parser())
    assert registered == [(name, help_) for name, (_, help_) in COMMANDS.items()]
    for name in COMMANDS:  # a lazily built parser lists the same commands with the same help
        assert _subcommands(build_parser(name)) == registered


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["info"], ["query", "bert-tiny"], ["card", "show", "bert-tiny"], ["space", "count"]],
    ids=lambda argv: " ".join(argv),
)
def test_light_commands_import_neither_torch_nor_networkx(argv: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=False)
    heavy = [line for line in proc.stderr.splitlines() if line.startswith("HEAVY ")]
    assert heavy, proc.stderr
    assert json.loads(heavy[-1][len("HEAVY ") :]) == [], proc.stderr
    assert proc.stdout.strip(), proc.stderr  # it did answer


def test_unknown_command_and_subcommand_help(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["frobnicate"])
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["query", "--help"])
    assert exc.value.code == 0 and "--fidelity" in capsys.readouterr().out
