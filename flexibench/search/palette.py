"""One colour per search algorithm, the same in every figure the project draws.

Leaderboards, paper_repro figures and the interop leaderboards all colour a line by the
algorithm's name through :func:`colour`, so BOSHNAS is the same red in Figure 4, Figure 5,
B.5 and every leaderboard. FlexiBench's own algorithms and the external libraries'
schedulers the project runs have fixed entries; any other name gets a stable colour
from the name's hash (never one of the fixed ones), so a new method does not repaint the
others.
"""

from __future__ import annotations

import hashlib

#: Fixed colours: FlexiBench's algorithms first (tab10), then external schedulers and samplers.
COLOURS: dict[str, str] = {
    "rs": "#7f7f7f",  # grey: the baseline every figure compares against
    "re": "#1f77b4",
    "reinforce": "#9467bd",
    "gpbo": "#2ca02c",
    "bananas": "#ff7f0e",
    "boshnas": "#d62728",
    "boshnas-first-order": "#e377c2",
    "boshnas-homoscedastic": "#8c564b",
    # external libraries (syne-tune schedulers, Optuna samplers), darker or lighter kin of tab20
    "st-rs": "#c7c7c7",
    "st-re": "#aec7e8",
    "st-bo": "#98df8a",
    "st-asha": "#17becf",
    "st-bohb": "#bcbd22",
    "st-mobster": "#dbdb8d",
    "st-hypertune": "#9edae5",
    "optuna-tpe": "#393b79",
    "optuna-random": "#636363",
    "optuna-cmaes": "#637939",
    "optuna-nsga2": "#843c39",
    "st-tpe": "#c5b0d5",
    "optuna-gp": "#e7969c",
    "boshnas-scalarised": "#f7b6d2",  # BOSHNAS on a weighted sum of objectives (flexibench.interop.multiobjective)
}

_SPARE = ("#5254a3", "#8ca252", "#bd9e39", "#ad494a", "#a55194", "#6b6ecf", "#b5cf6b", "#e7ba52", "#d6616b", "#ce6dbd")


def colour(name: str) -> str:
    """The colour of algorithm ``name``: its fixed entry, else a stable spare picked by the name's hash."""
    if name in COLOURS:
        return COLOURS[name]
    digest = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big")
    return _SPARE[digest % len(_SPARE)]
