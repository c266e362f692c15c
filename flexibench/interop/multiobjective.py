"""Multi-objective search on the table: Optuna's NSGA-II and TPE beside a scalarised BOSHNAS, scored by hypervolume.

``python -m flexibench.interop.multiobjective --objectives score,params --out leaderboards/multiobjective-nano``

Every method gets the same number of evaluations (one worker; the cards' costs do not
enter), the same seeds, and is scored on the same thing: the hypervolume of the cards it
evaluated, with their noise-free table values (seed means or surrogate means, exact sizes),
normalised to the table's range on each objective (0 best, 1 worst; reference point all
ones), against the hypervolume of the table's own front (:func:`~flexibench.interop.pareto.
table_front`). The methods see noisy scores, as every search on the table does.

* ``optuna-nsga2``, ``optuna-tpe``, ``optuna-random``: Optuna's samplers on a
  multi-objective :class:`~flexibench.interop.optuna_study.StudyObjective`.
* ``boshnas-scalarised``: FlexiBench's BOSHNAS on one number, the equally weighted sum of the
  normalised utilities (:class:`ScalarisedObjective`); it aims at one region of the front.

Objective names are a parameter: ``--objectives score,latency_ms`` once the table has the column.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from flexibench.core import ModelCard
from flexibench.interop.pareto import TableFront, pareto_mask, table_front, to_minimisation
from flexibench.search.objective import Evaluation

METHODS = ("optuna-nsga2", "optuna-tpe", "optuna-random", "boshnas-scalarised")
NSGA_POPULATION = 20


class ScalarisedObjective:
    """The table on several objectives as one score for single-objective searchers (higher is better).

    ``score = sum_k w_k * u_k`` with ``u_k`` the objective's utility normalised to the table's
    range (1 = the table's best, 0 = its worst); the noisy score enters as drawn, the other
    objectives (sizes) are exact. ``true_score`` and ``optimum`` use the noise-free values, so
    the runner's regret is the regret of the scalarisation.
    """

    name = "table-scalarised"

    def __init__(self, bench: Any, front: TableFront, fidelity: str, weights: Sequence[float] | None = None) -> None:
        self.bench, self.front, self.fidelity = bench, front, fidelity
        d = len(front.objectives)
        self.weights = np.full(d, 1.0 / d) if weights is None else np.asarray(weights, float)
        self._optimum = float(self._scalarise(front.values).max())

    def _scalarise(self, values: np.ndarray) -> np.ndarray:
        return (1.0 - self.front.normalised(values)) @ self.weights

    def _values(self, result: Any) -> np.ndarray:
        return np.array([o.value(self.bench, result) for o in self.front.objectives])

    def evaluate(self, card: ModelCard, rng: np.random.Generator) -> Evaluation:
        result = self.bench.query(card, self.fidelity, seed="sample", rng=rng)
        return Evaluation(float(self._scalarise(self._values(result)[None])[0]), result.pretrain_time_s, 0.0)

    def true_score(self, card: ModelCard) -> float:
        return float(self._scalarise(self._values(self.bench.query(card, self.fidelity))[None])[0])

    @property
    def optimum(self) -> float:
        return self._optimum

    def describe(self) -> dict[str, Any]:
        names = [o.name for o in self.front.objectives]
        return {"objective": self.name, "fidelity": self.fidelity, "objectives": names, "optimum": self._optimum}


def evaluated_cards(
    method: str,
    bench: Any,
    front: TableFront,
    fidelity: str,
    seed: int,
    evals: int,
    population: int = NSGA_POPULATION,
) -> list[ModelCard]:
    """The cards ``method`` evaluated, in order (``evals`` evaluations, one worker).

    ``population`` is NSGA-II's generation size: Optuna's default (50) spends a 60-evaluation
    budget on its random first generation, so the default here lets it evolve for several.
    """
    if method == "boshnas-scalarised":
        from flexibench.search.runner import run_search

        result = run_search("boshnas", ScalarisedObjective(bench, front, fidelity), budget=evals, seed=seed)
        return [ModelCard.from_dict(q["card"]) for q in result.queries]
    from flexibench.interop.optuna_study import StudyObjective, create_study

    objective = StudyObjective(bench, fidelity, front.objectives, seed=seed)
    options = {"population_size": population} if method == "optuna-nsga2" else {}
    study = create_study(objective, method, seed=seed, **options)
    study.optimize(objective, n_trials=evals)
    return [ModelCard.from_json(t.user_attrs["card"]) for t in study.trials]


def _job(job: tuple[str, str | None, str, tuple[str, ...], int, int, int]) -> list[str]:
    """One (method, seed) run in a worker process: the evaluated cards as JSON."""
    import torch

    from flexibench.bench import load

    method, table, fidelity, names, seed, evals, population = job
    torch.set_num_threads(1)
    bench = load(table)
    front = table_front(bench, fidelity, names)
    return [c.to_json() for c in evaluated_cards(method, bench, front, fidelity, seed, evals, population)]


def hypervolume_curve(bench: Any, front: TableFront, cards: Sequence[ModelCard], fidelity: str) -> np.ndarray:
    """Hypervolume of the first k evaluated cards (noise-free values), k = 1 .. len(cards)."""
    answer = bench.query_many(list(cards), fidelity)
    values = np.column_stack([o.column(answer) for o in front.objectives])
    return np.array([front.hypervolume(values[: k + 1]) for k in range(len(values))])


def _plot(bench: Any, front: TableFront, runs: dict[str, list[list[ModelCard]]], curves, out: Path, fidelity: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from flexibench.bench.flops import DEFAULT_SEQ_LEN
    from flexibench.bench.latency_table import LATENCY_LABEL
    from flexibench.search.palette import colour
    from flexibench.search.plots import mean_band

    labels = {
        "score": f"score at {fidelity} (held-out MLM, points)",
        "params": "parameters (millions)",
        "flops": f"encoder forward FLOPs per {DEFAULT_SEQ_LEN}-token sequence (billions)",
        "latency_ms": LATENCY_LABEL,
    }
    scale = {"params": 1e-6, "flops": 1e-9}
    x_name, y_name = front.objectives[1].name, front.objectives[0].name
    xi, yi = 1, 0
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    ax = axes[0]
    sx, sy = scale.get(x_name, 1.0), scale.get(y_name, 1.0)
    ax.scatter(front.values[:, xi] * sx, front.values[:, yi] * sy, s=3, color="#dddddd", label="all table cards")
    order = np.argsort(front.values[front.mask][:, xi])
    pf = front.values[front.mask][order]
    ax.step(pf[:, xi] * sx, pf[:, yi] * sy, where="post", color="black", lw=1.5, label="table front")
    for method, seeds in runs.items():
        answer = bench.query_many(seeds[0], fidelity)
        vals = np.column_stack([o.column(answer) for o in front.objectives])
        mask = pareto_mask(to_minimisation(vals, front.objectives))
        found = vals[mask][np.argsort(vals[mask][:, xi])]
        ax.step(
            found[:, xi] * sx, found[:, yi] * sy, where="post", color=colour(method), lw=1.2, label=f"{method} (seed 0)"
        )
        ax.scatter(found[:, xi] * sx, found[:, yi] * sy, s=12, color=colour(method))
    ax.set_xlabel(labels.get(x_name, x_name))
    ax.set_ylabel(labels.get(y_name, y_name))
    ax.set_title("Pareto fronts found (seed 0) vs the table's front")
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    ax = axes[1]
    best = front.best_hypervolume
    for method, matrix in curves.items():
        gap = best - matrix
        mean, half = mean_band(gap)
        x = np.arange(1, gap.shape[1] + 1)
        ax.plot(x, mean, color=colour(method), label=f"{method} (n={len(matrix)})")
        ax.fill_between(x, np.maximum(mean - half, 0.0), mean + half, color=colour(method), alpha=0.15)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("evaluations (one worker)")
    ax.set_ylabel("hypervolume gap to the table front (normalised)")
    ax.set_title(f"{y_name} vs {x_name}: hypervolume gap, mean and 90% band")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    path = out / f"fronts_{y_name}_{x_name}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--objectives", default="score,params", help="comma-separated names (first one is the score)")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--evals", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--table", default=None)
    parser.add_argument("--fidelity", default=None)
    parser.add_argument("--out", default="leaderboards/multiobjective-nano")
    parser.add_argument("--processes", type=int, default=2, help="parallel runs (default 2)")
    parser.add_argument(
        "--population", type=int, default=NSGA_POPULATION, help=f"NSGA-II's generation size (default {NSGA_POPULATION})"
    )
    args = parser.parse_args(argv)
    import torch

    from flexibench.bench import load

    torch.set_num_threads(1)
    bench = load(args.table)
    fidelity = args.fidelity or bench.default_fidelity
    front = table_front(bench, fidelity, [o.strip() for o in args.objectives.split(",")])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    methods = [m.strip() for m in args.methods.split(",")]
    names = tuple(o.name for o in front.objectives)
    settings = (str(bench.path), fidelity, names)
    jobs = [(m, *settings, s, args.evals, args.population) for m in methods for s in range(args.seeds)]
    with ProcessPoolExecutor(max_workers=max(1, args.processes), mp_context=get_context("spawn")) as pool:
        done = list(pool.map(_job, jobs))
    runs: dict[str, list[list[ModelCard]]] = {m: [] for m in methods}
    for (method, *_), cards in zip(jobs, done):
        runs[method].append([ModelCard.from_json(c) for c in cards])
    curves: dict[str, np.ndarray] = {}
    for method in methods:
        curves[method] = np.array([hypervolume_curve(bench, front, c, fidelity) for c in runs[method]])
        print(f"{method}: final HV {curves[method][:, -1].mean():.4f}", file=sys.stderr, flush=True)
    names = "_".join(names)
    with (out / f"hypervolume_{names}.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["method", "seed", "evaluations", "hypervolume", "table_hypervolume"])
        for method, matrix in curves.items():
            for seed, row in enumerate(matrix):
                for k in (10, 25, 50, len(row)):
                    writer.writerow([method, seed, k, row[min(k, len(row)) - 1], front.best_hypervolume])
    best = front.best_hypervolume
    title = " vs ".join(o.name for o in front.objectives)
    lines = [
        f"## {title} ({fidelity}, {args.evals} evaluations, {args.seeds} seeds)",
        "",
        "Made with: `python -m flexibench.interop.multiobjective " + " ".join(argv or sys.argv[1:]) + "`",
        "",
        f"Table front: {int(front.mask.sum())} of {len(front.rows)} cards, hypervolume {best:.4f} (normalised).",
        "",
        "| method | HV gap @10 | HV gap @25 | HV gap @50 | final HV gap | front cards found (mean) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    table_rows = set(front.rows[front.mask].tolist())
    order = sorted(curves, key=lambda m: -curves[m][:, -1].mean())
    for method in order:
        matrix = best - curves[method]
        cells = []
        for k in (10, 25, 50, matrix.shape[1]):
            col = matrix[:, min(k, matrix.shape[1]) - 1]
            cells.append(f"{col.mean():.4f} ± {col.std(ddof=1) / np.sqrt(len(col)):.4f}")
        hits = np.mean([len(table_rows & set(bench.query_many(c, fidelity)["row"].tolist())) for c in runs[method]])
        lines.append(f"| {method} | " + " | ".join(cells) + f" | {hits:.1f} |")
    path = _plot(bench, front, runs, curves, out, fidelity)
    (out / f"hypervolume_{names}.md").write_text("\n".join(lines) + "\n")
    print(out / f"hypervolume_{names}.md")
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
