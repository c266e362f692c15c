"""Transformer2vec (Section 3.3.2, Eq. 4): Euclidean embeddings whose distances fit GED.

Fitting has two stages. Classical MDS gives a global initialisation: the top ``d``
eigenpairs of the double-centred squared-distance matrix, found with Lanczos
(``scipy.sparse.linalg.eigsh``) so the 9,312 x 9,312 matrix (350 MB as float32) never
needs a full eigendecomposition. Then Eq. 4 itself, the squared error between
embedding distance and GED, is minimised by Adam on uniformly sampled minibatches of
pairs (torch, CPU). Distances are in GED units (the x10 integers divided by 10).

:func:`choose_dimension` fits every candidate dimension and picks the knee of the
fit-error curve with ``kneed`` (the paper found d = 16). :func:`embed_new` places a
card that is not in the library by matching its distances to a set of anchors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.sparse.linalg import LinearOperator, eigsh
from scipy.stats import spearmanr

DIMENSIONS = (2, 4, 8, 16, 32)


@dataclass(frozen=True)
class FitReport:
    """Fit quality of one embedding on a uniform sample of pairs (GED units)."""

    dim: int
    rmse: float
    spearman: float
    pairs: int


def _pair_index(n: int, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Invert condensed indices to ``(i, j)`` with ``i < j`` (vectorised)."""
    idx = idx.astype(np.int64)
    # i is the largest value with start(i) = i*n - i*(i+1)/2 <= idx
    b = 2 * n - 1
    i = np.floor((b - np.sqrt(b * b - 8.0 * idx)) / 2).astype(np.int64)
    start = i * n - i * (i + 1) // 2
    fix = start > idx
    i[fix] -= 1
    start = i * n - i * (i + 1) // 2
    over = idx - start >= n - i - 1
    i[over] += 1
    start = i * n - i * (i + 1) // 2
    j = idx - start + i + 1
    return i, j


def classical_mds(condensed_x10: np.ndarray, n: int, dim: int, seed: int = 0) -> np.ndarray:
    """Classical (Torgerson) MDS coordinates from condensed GED x10 values, in GED units."""
    from scipy.spatial.distance import squareform
    from sklearn.utils.extmath import svd_flip

    sq = squareform(condensed_x10.astype(np.float32) / np.float32(10.0), checks=False)
    sq *= sq
    row_mean = sq.mean(axis=1, dtype=np.float64).astype(np.float32)
    grand = np.float32(row_mean.mean())

    def matvec(v: np.ndarray) -> np.ndarray:
        v = np.asarray(v, dtype=np.float32).reshape(-1)
        s = v.sum()
        # B = -1/2 (I - 11'/n) D2 (I - 11'/n), applied without forming B
        out = sq @ v - row_mean * s - np.float32(row_mean @ v) + grand * s
        return (-0.5 * out).astype(np.float64)

    op = LinearOperator((n, n), matvec=matvec, dtype=np.float64)
    rng = np.random.default_rng(seed)
    vals, vecs = eigsh(op, k=min(dim, n - 2), which="LA", v0=rng.standard_normal(n))
    order = np.argsort(vals)[::-1]
    vals, vecs = np.clip(vals[order], 0.0, None), vecs[:, order]
    # an eigenvector's sign is LAPACK's choice (an AMD and an Intel CPU chose differently for 2 of
    # 16 axes): fix it as scikit-learn's PCA does, largest-magnitude entry positive, so libraries
    # built on different machines agree
    vecs, _ = svd_flip(vecs, np.eye(vecs.shape[1]), u_based_decision=True)
    coords = vecs * np.sqrt(vals)[None, :]
    if coords.shape[1] < dim:
        coords = np.pad(coords, ((0, 0), (0, dim - coords.shape[1])))
    return coords.astype(np.float32)


def refine(
    coords: np.ndarray,
    condensed_x10: np.ndarray,
    steps: int = 2000,
    batch: int = 65536,
    lr: float = 0.05,
    seed: int = 0,
) -> np.ndarray:
    """Minimise Eq. 4 (squared error of Euclidean distance vs GED) with Adam on sampled pairs."""
    n = coords.shape[0]
    total = condensed_x10.shape[0]
    batch = min(batch, total)
    x = torch.tensor(coords, dtype=torch.float32, requires_grad=True)
    opt = torch.optim.Adam([x], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=lr * 0.02)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        idx = rng.integers(0, total, size=batch)
        i, j = _pair_index(n, idx)
        target = torch.from_numpy(condensed_x10[idx].astype(np.float32) / 10.0)
        ti, tj = torch.from_numpy(i), torch.from_numpy(j)
        dist = torch.sqrt(((x[ti] - x[tj]) ** 2).sum(dim=1) + 1e-9)
        loss = ((dist - target) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return x.detach().numpy().astype(np.float32)


def evaluate(coords: np.ndarray, condensed_x10: np.ndarray, sample: int = 1_000_000, seed: int = 1) -> FitReport:
    """RMSE and Spearman rank correlation of embedding distance vs GED on a uniform pair sample."""
    n = coords.shape[0]
    total = condensed_x10.shape[0]
    rng = np.random.default_rng(seed)
    idx = np.arange(total) if total <= sample else rng.choice(total, size=sample, replace=False)
    i, j = _pair_index(n, idx)
    dist = np.sqrt(((coords[i].astype(np.float64) - coords[j]) ** 2).sum(axis=1))
    target = condensed_x10[idx].astype(np.float64) / 10.0
    rmse = float(np.sqrt(np.mean((dist - target) ** 2)))
    rho = float(spearmanr(dist, target).statistic)
    return FitReport(coords.shape[1], rmse, rho, int(len(idx)))


def fit_embedding(condensed_x10: np.ndarray, n: int, dim: int = 16, steps: int = 2000, seed: int = 0) -> np.ndarray:
    """Transformer2vec embedding of ``n`` items: classical MDS init + Adam refinement of Eq. 4."""
    torch.manual_seed(seed)
    init = classical_mds(condensed_x10, n, dim, seed)
    return refine(init, condensed_x10, steps=steps, seed=seed)


def choose_dimension(
    condensed_x10: np.ndarray,
    n: int,
    dims: tuple[int, ...] = DIMENSIONS,
    steps: int = 2000,
    seed: int = 0,
) -> tuple[int, list[FitReport], dict[int, np.ndarray]]:
    """Fit every dimension, then pick the knee of RMSE vs d with ``kneed`` (convex, decreasing)."""
    from kneed import KneeLocator

    reports, fits = [], {}
    for d in dims:
        fits[d] = fit_embedding(condensed_x10, n, d, steps=steps, seed=seed)
        reports.append(evaluate(fits[d], condensed_x10))
    knee = KneeLocator(list(dims), [r.rmse for r in reports], curve="convex", direction="decreasing").knee
    return int(knee if knee is not None else dims[-1]), reports, fits


def embed_new(anchor_coords: np.ndarray, anchor_ged: np.ndarray, steps: int = 300, lr: float = 0.1) -> np.ndarray:
    """Embed one new graph from its GEDs (GED units) to anchors with known coordinates.

    Minimises Eq. 4 restricted to the new point (anchors fixed), starting from an
    inverse-distance weighted mean of the anchors.
    """
    anchors = torch.tensor(anchor_coords, dtype=torch.float64)
    target = torch.tensor(anchor_ged, dtype=torch.float64)
    weights = 1.0 / (target + 1e-3)
    start = (anchors * weights[:, None]).sum(0) / weights.sum()
    x = start.clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=lr)
    for _ in range(steps):
        dist = torch.sqrt(((anchors - x) ** 2).sum(dim=1) + 1e-12)
        loss = ((dist - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return x.detach().numpy().astype(np.float32)
