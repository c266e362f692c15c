"""Noise across seeds and the share of score variance that architecture explains.

Run: ``python paper_repro/seed_noise.py [--table FILE]`` -> ``paper_repro/seed_noise.md``.
For cards measured with two or more seeds: seed noise, between-card spread, the share of
variance architecture explains (with the share pure noise would give) and the seed 0 vs
seed 1 Spearman, per score column; the statistics are :func:`flexibench.bench.noise.seed_statistics`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import flexibench
from flexibench.bench.noise import seed_statistics


def main(table: str | None = None) -> str:
    bench = flexibench.load(table)
    fidelity = bench.default_fidelity
    per_seed = bench.to_pandas(fidelity, per_seed=True)
    per_seed = per_seed[per_seed["status"] == "ok"]
    lines = [f"# Seed noise at `{fidelity}`", "", "Command: `python paper_repro/seed_noise.py`", ""]
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
    Path(__file__).with_name("seed_noise.md").write_text(text)
    return text


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default=None, help="packed table (default: data/flexibench.h5)")
    print(main(parser.parse_args().table))
