"""How reproducible the latency columns are: the same cards measured twice, at different times.

Run: ``flexibench latency run --out /tmp/lat-repeat --limit 60`` (it measures the first cards of
the run's fixed order again, with reference measurements of its own), then
``python benchmarks/bench_latency_repeat.py --main data/shards/latency --repeat /tmp/lat-repeat``.

For every card in both folders it compares the second measurement with the first, per batch size:
the CPU-time median before normalisation (``raw``) and after it, in units of the reference card's
time (``relative``: the table's normalised value over the run's typical reference time,
:func:`flexibench.bench.latency_table.summarise`; each run scales to its own typical time, so runs
are compared in reference units). The reference card's spread (range over median, coefficient of
variation) says how much the speed a process gets moved on this shared machine; the card-level
ratios say how much of that the reference normalisation takes out. Torch-free.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from flexibench.bench.latency_table import LatencySummary, read_latency, summarise

COLUMNS = {  # (what is compared, batch size) -> column, and whether it is divided by the typical reference time
    ("raw", 1): ("latency_raw_ms", False),
    ("raw", 32): ("latency_b32_raw_ms", False),
    ("relative", 1): ("latency_ms", True),
    ("relative", 32): ("latency_b32_ms", True),
}


def values(run: LatencySummary, batch: int, column: str, relative: bool) -> dict[str, float]:
    """``column`` per card hash; in reference units when ``relative``."""
    scale = run.typical_cpu_ms[batch] if relative else 1.0
    return {h: row[column] / scale for h, row in run.values.items()}


def agreement(first: dict[str, float], second: dict[str, float]) -> dict:
    """Ratio statistics over the cards both hold (second / first)."""
    common = sorted(set(first) & set(second))
    a = np.array([first[h] for h in common])
    b = np.array([second[h] for h in common])
    log_ratio = np.log(b / a)
    return {
        "cards": len(common),
        "median_ratio": float(math.exp(np.median(log_ratio))),
        "median_abs_log_ratio": float(np.median(np.abs(log_ratio))),
        "p90_abs_log_ratio": float(np.percentile(np.abs(log_ratio), 90)),
        "spread_of_log_ratio": float(log_ratio.std()),  # the per-card noise once the level is taken out
        "spearman": float(spearmanr(a, b).statistic),
        "card_range": float(a.max() / a.min()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--main", type=Path, default=Path("data/shards/latency"), help="the run's folder")
    parser.add_argument("--repeat", type=Path, required=True, help="a second run over some of the same cards")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    main_payloads = read_latency([args.main])
    main_run, repeat = summarise(main_payloads), summarise(read_latency([args.repeat]))
    out: dict = {"reference": {}, "cards": {}}
    for name, run in (("main", main_run), ("repeat", repeat)):
        out["reference"][name] = {str(b): run.spread(b) for b in sorted(run.reference_cpu_ms)}
    for (label, batch), (column, relative) in COLUMNS.items():
        out["cards"][f"{label}, batch {batch}"] = agreement(
            values(main_run, batch, column, relative), values(repeat, batch, column, relative)
        )
    cost = [p["measure_s"] for p in main_payloads if p["role"] == "card" and "measure_s" in p]
    out["measure_s_median"] = statistics.median(cost) if cost else None
    print(json.dumps(out, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
