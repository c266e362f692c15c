"""How long does a ``flexibench`` command take to start? Wall time of whole processes, median of runs.

Run: ``python benchmarks/bench_cli.py [--runs 7] [--src OTHER_CHECKOUT ...]``.

Each command runs as ``python -c "from flexibench.cli import main; ..." ARGS`` (what the
``flexibench`` console script does) in a fresh process, so every import counts. With
``--src DIR`` (a checkout or an exported tree, e.g. ``git archive main | tar -x -C DIR``)
the same commands also run with ``PYTHONPATH=DIR``, interleaved round by round with the
current tree, so a loaded machine slows both alike. Each process also reports whether
torch and networkx ended up in ``sys.modules``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
COMMANDS = (
    ("--help",),
    ("info",),
    ("query", "bert-tiny"),
    ("card", "show", "bert-tiny"),
    ("space", "count", "--level", "1"),
)
PROBE = (
    "import sys, json, atexit, contextlib\n"
    "def _report():\n"
    "    heavy = {m: m in sys.modules for m in ('torch', 'networkx')}\n"
    "    sys.__stderr__.write('\\nIMPORTS ' + json.dumps(heavy) + '\\n')\n"
    "atexit.register(_report)\n"
    "from flexibench.cli import main\n"
    "with contextlib.suppress(SystemExit):\n"
    "    code = main(sys.argv[1:])\n"
)


def run_once(src: Path, args: tuple[str, ...]) -> tuple[float, dict[str, bool]]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    env.pop("FLEXIBENCH_TABLE", None)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=src, env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    line = [ln for ln in proc.stderr.splitlines() if ln.startswith("IMPORTS ")]
    if proc.returncode != 0 or not line:
        raise SystemExit(f"{' '.join(args)} failed under {src}:\n{proc.stdout}\n{proc.stderr}")
    return wall, json.loads(line[-1][len("IMPORTS ") :])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--src", action="append", default=[], help="another tree to time the same way")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    trees = {"this tree": HERE, **{f"--src {p}": Path(p).resolve() for p in args.src}}
    times: dict[tuple[str, str], list[float]] = {}
    heavy: dict[tuple[str, str], dict[str, bool]] = {}
    for _ in range(args.runs):
        for command in COMMANDS:
            for label, src in trees.items():
                wall, imports = run_once(src, command)
                key = (label, " ".join(command))
                times.setdefault(key, []).append(wall)
                heavy[key] = imports
    rows = [
        {
            "tree": label,
            "command": f"flexibench {command}",
            "median_s": round(statistics.median(walls), 3),
            "min_s": round(min(walls), 3),
            "max_s": round(max(walls), 3),
            "runs": len(walls),
            **heavy[(label, command)],
        }
        for (label, command), walls in times.items()
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print("| command | tree | median s | min-max s | torch | networkx |")
    print("|---|---|---:|---:|---|---|")
    for row in sorted(rows, key=lambda r: (r["command"], r["tree"])):
        print(
            f"| `{row['command']}` | {row['tree']} | {row['median_s']:.2f} | {row['min_s']:.2f}-{row['max_s']:.2f} "
            f"| {'imported' if row['torch'] else 'no'} | {'imported' if row['networkx'] else 'no'} |"
        )


if __name__ == "__main__":
    main()
