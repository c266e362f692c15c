"""Noise across seeds and the share of score variance that architecture explains.

Run: ``python paper_repro/seed_noise.py [--table FILE]`` -> ``paper_repro/seed_noise.md``.
For cards measured with two or more seeds: the pooled within-card standard deviation
(seed noise), the Spearman correlation of seed 0 vs seed 1 scores across cards (do two
seeds rank architectures alike?), and the between-card share of the total sum of
squares (one-way ANOVA; 1.0 = all variance is architecture, ~1/seeds or less = noise).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

import flexibench


def summarise(per_seed: pd.DataFrame, column: str = "score") -> dict[str, float]:
    """Seed noise, seed-vs-seed Spearman and architecture's variance share for one score column."""
    ok = per_seed[np.isfinite(per_seed[column])]
    counts = ok.groupby("card")[column].transform("size")
    ok = ok[counts >= 2]
    if ok.empty:
        return {"cards": 0}
    grand = ok[column].mean()
    groups = ok.groupby("card")[column]
    total_ss = float(((ok[column] - grand) ** 2).sum())
    within_ss = float(groups.apply(lambda s: ((s - s.mean()) ** 2).sum()).sum())
    dof = len(ok) - groups.ngroups
    wide = ok.pivot_table(index="card", columns="seed", values=column)
    out = {
        "cards": int(groups.ngroups),
        "records": int(len(ok)),
        "seed_noise_std": float(np.sqrt(within_ss / dof)) if dof else float("nan"),
        "between_card_std": float(groups.mean().std(ddof=1)) if groups.ngroups > 1 else float("nan"),
        "architecture_share": 1.0 - within_ss / total_ss if total_ss > 0 else float("nan"),
    }
    if {0, 1} <= set(wide.columns) and len(wide) >= 3:
        pair = wide[[0, 1]].dropna()
        rho, p = stats.spearmanr(pair[0], pair[1])
        out.update({"spearman_seed0_seed1": float(rho), "spearman_p": float(p), "spearman_cards": int(len(pair))})
    return out


def main(table: str | None = None) -> str:
    bench = flexibench.load(table)
    fidelity = bench.default_fidelity
    per_seed = bench.to_pandas(fidelity, per_seed=True)
    per_seed = per_seed[per_seed["status"] == "ok"]
    lines = [f"# Seed noise at `{fidelity}`", "", "Command: `python paper_repro/seed_noise.py`", ""]
    columns = ["score"] + sorted(c for c in per_seed.columns if c.startswith("task_"))
    lines += [
        "| score | cards (>= 2 seeds) | seed noise (std) | between-card std | architecture share "
        "| Spearman seed 0 vs 1 (p) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for column in columns:
        s = summarise(per_seed, column)
        if not s["cards"]:
            continue
        rho = (
            f"{s['spearman_seed0_seed1']:.2f} (p={s['spearman_p']:.2f}, {s['spearman_cards']} cards)"
            if ("spearman_seed0_seed1" in s)
            else "n/a"
        )
        lines.append(
            f"| {column} | {s['cards']} | {s['seed_noise_std']:.2f} | {s['between_card_std']:.2f} "
            f"| {s['architecture_share']:.2f} | {rho} |"
        )
    text = "\n".join(lines) + "\n"
    Path(__file__).with_name("seed_noise.md").write_text(text)
    return text


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default=None, help="packed table (default: data/flexibench.h5)")
    print(main(parser.parse_args().table))
