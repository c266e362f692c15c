"""Noise across seeds and the share of score variance that architecture explains.

Run: ``python paper_repro/seed_noise.py [--table FILE] [--fidelity NAME]`` -> ``paper_repro/seed_noise.md``
(``seed_noise_<NAME>.md`` for a fidelity other than the table's default: per GLUE task at the long
fidelity, the seed noise and the share of variance architecture explains that decide its score).
For cards measured with two or more seeds: seed noise, between-card spread, the share of
variance architecture explains (with the share pure noise would give) and the seed 0 vs
seed 1 Spearman, per score column; the statistics are :func:`flexibench.bench.noise.seed_statistics`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import flexibench
from flexibench.bench.noise import seed_statistics


def main(table: str | None = None, fidelity: str | None = None) -> str:
    bench = flexibench.load(table)
    fidelity = fidelity or bench.default_fidelity
    per_seed = bench.to_pandas(fidelity, per_seed=True)
    per_seed = per_seed[per_seed["status"] == "ok"]
    default = fidelity == bench.default_fidelity
    command = "python paper_repro/seed_noise.py" + ("" if default else f" --fidelity {fidelity}")
    lines = [f"# Seed noise at `{fidelity}`", "", f"Command: `{command}`", ""]
    columns = ["score"] + sorted(c for c in per_seed.columns if c.startswith("task_"))
    lines += [
        "| score | cards (>= 2 seeds) | seed noise (std) | between-card std | architecture share (noise alone) "
        "| Spearman seed 0 vs 1 (p) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for column in columns:
        s = seed_statistics(per_seed, column)
        if not s["cards"]:
            continue
        rho = (
            f"{s['spearman_seed0_seed1']:.2f} (p={s['spearman_p']:.2f}, {s['spearman_cards']} cards)"
            if ("spearman_seed0_seed1" in s)
            else "n/a"
        )
        lines.append(
            f"| {column} | {s['cards']} | {s['seed_noise_std']:.2f} | {s['between_card_std']:.2f} "
            f"| {s['architecture_share']:.2f} ({s['null_share']:.2f}) | {rho} |"
        )
    text = "\n".join(lines) + "\n"
    name = "seed_noise.md" if default else f"seed_noise_{fidelity}.md"
    Path(__file__).with_name(name).write_text(text)
    return text


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default=None, help="packed table (default: data/flexibench.h5)")
    parser.add_argument("--fidelity", default=None, help="default: the table's default fidelity")
    args = parser.parse_args()
    print(main(args.table, args.fidelity))
