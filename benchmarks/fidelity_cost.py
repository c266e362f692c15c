"""What one card costs at a fidelity, read off its records: median and spread, overall and per operation family.

    python benchmarks/fidelity_cost.py data/shards/small [--out benchmarks/results/cost_small.md]

Per ok record: the process CPU seconds of pretraining plus fine-tuning (``cpu_time_s``, summed
over resumes; the cost on an idle core, whatever else the machine ran), and the wall seconds
(``pretrain_time_s + finetune_time_s``, stretched by other load on a shared machine). Records
without CPU time (written before the field, or continued from a state that predates it) count
in the wall columns only. A card's family is the set of operations its layers use (``SA``,
``LT``, ``DSC`` or a mix).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from flexibench.bench.journal import expand_shard_paths, read_shards
from flexibench.core import ModelCard


def cost_frame(paths: list[str]) -> pd.DataFrame:
    """One row per ok record: card, family, params, CPU and wall seconds (NaN where unrecorded)."""
    rows = []
    for record in read_shards(expand_shard_paths(paths)):
        if record.status != "ok":
            continue
        card = ModelCard.from_dict(record.card)
        wall = (record.pretrain_time_s or 0.0) + (record.finetune_time_s or 0.0)
        cpu = record.cpu_time_s if record.cpu_time_s is not None else np.nan
        rows.append(
            {
                "card": card.short(),
                "family": "+".join(sorted(set(card.o))),
                "params": record.params,
                "seed": record.seed,
                "cpu_s": float(cpu),
                "wall_s": float(wall),
            }
        )
    return pd.DataFrame(rows, columns=["card", "family", "params", "seed", "cpu_s", "wall_s"])


def _spread(values: pd.Series) -> str:
    values = values.dropna()
    if values.empty:
        return "| - | - | - |"
    q1, med, q3 = np.percentile(values, [25, 50, 75])
    return f"| {med:,.0f} | {q1:,.0f}-{q3:,.0f} | {values.min():,.0f}-{values.max():,.0f} |"


def cost_table(frame: pd.DataFrame, title: str) -> str:
    """Markdown: median, interquartile range and range of CPU and wall seconds, overall and per family."""
    head = (
        "| family | records | CPU s: median | IQR | range | records with CPU s | wall s: median | IQR | range |\n"
        "|---|---:|---:|---|---|---:|---:|---|---|"
    )
    lines = [f"## {title}", "", head]
    groups = [("all", frame), *((name, group) for name, group in frame.groupby("family"))]
    for name, group in groups:
        cpu, wall = _spread(group["cpu_s"]), _spread(group["wall_s"])
        lines.append(f"| {name} | {len(group)} {cpu} {int(group['cpu_s'].notna().sum())} {wall}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shards", nargs="+", help="journal shard files or folders of one fidelity")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    frame = cost_frame(args.shards)
    text = cost_table(frame, f"Cost per card: {', '.join(args.shards)} ({len(frame)} ok records)")
    if args.out:
        args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
