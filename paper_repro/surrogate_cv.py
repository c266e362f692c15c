"""Which inputs should the table's surrogate read? K-fold cross-validation on the measured cards.

The stored surrogate reports one held-out split (about 20% of the cards), which is
noisy at a few hundred cards. This script scores candidate inputs and models by
repeated K-fold cross-validation instead: every measured card is predicted once per
repeat by a model that never saw it. It backs the choice in
``flexibench.bench.table_surrogate`` (design choices one-hot + standardised log
parameter count; Transformer2vec embeddings until 357 cards were measured).
Pack stores the same figures for the chosen inputs (``cv_*``, printed by
``flexibench info``); its row here matches them.

    python paper_repro/surrogate_cv.py [--table data/flexibench.h5] [--folds 5] [--repeats 3] [--gp]
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _search_runs import command_line, table_id

import flexibench
from flexibench.bench.table_surrogate import CV_FOLDS, CV_REPEATS, DEFAULT_OPTIONS, SurrogateInputs, cross_validate
from flexibench.core import ModelCard

HERE = Path(__file__).resolve().parent


def candidates(bench: Any, whole: Any, frame: Any, with_gp: bool) -> dict[str, tuple[Callable[[], Any], np.ndarray]]:
    from flexibench.surrogates import MLPEnsemble

    cards = [ModelCard.from_json(c) for c in frame["card"]]
    params = frame["params"].to_numpy()
    embeddings = np.stack([bench.embedding(c) for c in cards]).astype(np.float32)

    def inputs(features: str, sized: bool = True) -> np.ndarray:
        # size scaled over every table row, as pack does
        chosen = SurrogateInputs.fit(whole["params"].to_numpy(), features) if sized else SurrogateInputs(features)
        return chosen.build(cards, params, embeddings, bench.space)

    options = {**DEFAULT_OPTIONS, "hidden": tuple(DEFAULT_OPTIONS["hidden"])}

    def mlp() -> Any:
        return MLPEnsemble(seed=0, **options)

    models = {
        "MLP ensemble, embedding": (mlp, inputs("embedding", sized=False)),
        "MLP ensemble, embedding + log params": (mlp, inputs("embedding")),
        "MLP ensemble, naive one-hot": (mlp, inputs("naive", sized=False)),
        "MLP ensemble, naive one-hot + log params (the table's)": (mlp, inputs("naive")),
        "MLP ensemble, naive one-hot + embedding + log params": (mlp, np.column_stack([embeddings, inputs("naive")])),
    }
    if with_gp:
        from flexibench.surrogates.gp import GPSurrogate

        models["GP, embedding + log params"] = (lambda: GPSurrogate(seed=0), inputs("embedding"))
        models["GP, naive one-hot + log params"] = (lambda: GPSurrogate(seed=0), inputs("naive"))
    return models


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default=None, help="packed table (default: the packaged one)")
    parser.add_argument("--fidelity", default=None)
    parser.add_argument("--folds", type=int, default=CV_FOLDS)
    parser.add_argument("--repeats", type=int, default=CV_REPEATS)
    parser.add_argument("--gp", action="store_true", help="also score a GP on the same inputs (slower)")
    parser.add_argument("--out", default=str(HERE / "surrogate_cv.md"))
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    bench = flexibench.load(args.table)
    fidelity = args.fidelity or bench.default_fidelity
    whole = bench.to_pandas(fidelity, predicted=True)
    frame = whole[whole["measured"]]
    y = frame["score"].to_numpy(np.float64)
    lines = [
        f"# Surrogate inputs: {args.folds}-fold cross-validation, {args.repeats} repeats",
        "",
        f"Table `{table_id(bench)}`, fidelity `{fidelity}`, {len(y)} measured cards (seed means). "
        f"`{command_line('surrogate_cv.py', argv)}`",
        "",
        "| model and inputs | Kendall tau | Spearman | RMSE | seconds |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, (make, X) in candidates(bench, whole, frame, args.gp).items():
        start = time.perf_counter()
        tau, rho, rmse = cross_validate(make, X, y, args.folds, args.repeats)
        seconds = time.perf_counter() - start
        lines.append(f"| {name} | {tau:.3f} | {rho:.3f} | {rmse:.3f} | {seconds:.0f} |")
        print(lines[-1], flush=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
