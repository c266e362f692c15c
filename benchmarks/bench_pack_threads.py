"""Packing a table: the surrogates fitted on one torch thread against torch's default thread count.

    python benchmarks/bench_pack_threads.py [--cards 96]

Packs the same synthetic two-fidelity shard (fixture library, 80 cards x 2 seeds at one
fidelity, 30 at a second) twice in one process: as pack does now (every surrogate fit
inside ``one_thread()``) and with that context replaced by a no-op, i.e. torch's default
intra-op threads, as before. Prints both wall times and their ratio.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path

import torch

from flexibench.bench.pack import pack
from flexibench.bench.testing import fixture_library, synthetic_record, write_shard
from flexibench.surrogates import base, gp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=96)
    args = parser.parse_args()
    library = fixture_library(args.cards)
    records = [synthetic_record(c, s) for c in library.cards[:80] for s in (0, 1)]
    for card in library.cards[:30]:
        record = synthetic_record(card, 0, fidelity="long")
        records.append(replace(record, recipe={**record.recipe, "name": "long"}))
    root = Path(tempfile.mkdtemp())
    shard = write_shard(root / "w.jsonl", records)
    options = {"epochs": 60, "n_members": 3, "cv_repeats": 1}
    warnings.simplefilter("ignore")
    times = {}
    for label in ("one thread", f"torch default ({torch.get_num_threads()} threads)"):
        start = time.perf_counter()
        pack([shard], root / f"{len(times)}.h5", library=library, surrogate_options=options)
        times[label] = time.perf_counter() - start
        base.one_thread = gp.one_thread = contextlib.nullcontext  # the second pass: as before the change
    (fast, slow) = times.values()
    for label, seconds in times.items():
        print(f"{label}: {seconds:.1f} s")
    print(f"ratio: {slow / fast:.1f}x")


if __name__ == "__main__":
    main()
