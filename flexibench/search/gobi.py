"""GOBI: gradient-based optimisation of a surrogate's acquisition in its input (embedding) space.

Tuli et al. (2021) optimise the input of a trained surrogate by backpropagation
("network inversion"); BOSHNAS does so with AdaHessian (Yao et al., 2021), a
second-order method whose preconditioner is the Hutchinson estimate of the
Hessian diagonal, ``diag(H) ~ z * (H z)`` with Rademacher ``z``. Several random
cold restarts run as one batch (their objectives are independent, so the batch
Hessian is block diagonal). The iterates are kept inside the bounding box of the
pool's embeddings, and each converged point is snapped to the nearest card that
is still available (Euclidean distance in the embedding space).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import torch


class AdaHessian(torch.optim.Optimizer):
    """AdaHessian (Yao et al., AAAI 2021): Adam with the Hutchinson Hessian diagonal as second moment.

    Call ``loss.backward(create_graph=True)`` before :meth:`step`. ``generator``
    draws the Rademacher probes (no global RNG). ``hessian_power`` k gives the
    update ``m_hat / (sqrt(v_hat)^k + eps)``; spatial averaging is not needed for
    the vector parameters optimised here.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        lr: float = 0.1,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-4,
        weight_decay: float = 0.0,
        hessian_power: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> None:
        if not 0.0 < hessian_power <= 1.0:
            raise ValueError(f"hessian_power: {hessian_power} is not allowed; allowed: 0 < k <= 1")
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, "hessian_power": hessian_power}
        super().__init__(params, defaults)
        self.generator = generator

    def hutchinson_diagonal(self, params: list[torch.Tensor]) -> list[torch.Tensor]:
        """One-probe Hutchinson estimate ``|z * (H z)|`` of each parameter's Hessian diagonal."""
        grads = [p.grad for p in params]
        if any(g is None or g.grad_fn is None for g in grads):
            raise RuntimeError("AdaHessian needs gradients with a graph: call loss.backward(create_graph=True)")
        probes = [torch.randint(0, 2, p.shape, generator=self.generator, dtype=p.dtype) * 2 - 1 for p in params]
        hz = torch.autograd.grad(grads, params, grad_outputs=probes, retain_graph=False)
        return [(h * z).abs() for h, z in zip(hz, probes)]

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        params = [p for group in self.param_groups for p in group["params"] if p.grad is not None]
        with torch.enable_grad():
            diagonals = self.hutchinson_diagonal(params)
        diag_of = dict(zip(map(id, params), diagonals))
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad, diag = p.grad.detach(), diag_of[id(p)]
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_hessian_diag_sq"] = torch.zeros_like(p)
                state["step"] += 1
                state["exp_avg"].mul_(beta1).add_(grad, alpha=1 - beta1)
                state["exp_hessian_diag_sq"].mul_(beta2).addcmul_(diag, diag, value=1 - beta2)
                t = state["step"]
                m_hat = state["exp_avg"] / (1 - beta1**t)
                v_hat = state["exp_hessian_diag_sq"] / (1 - beta2**t)
                denom = v_hat.sqrt().pow(group["hessian_power"]).add_(group["eps"])
                if group["weight_decay"]:
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                p.addcdiv_(m_hat, denom, value=-group["lr"])
                p.grad = None  # drop the graph held by the gradient
        return loss


def gobi(
    objective: Callable[[torch.Tensor], torch.Tensor],
    starts: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    *,
    steps: int = 30,
    lr: float = 0.1,
    second_order: bool = True,
    generator: torch.Generator | None = None,
) -> np.ndarray:
    """Maximise ``objective`` (batch of inputs -> batch of values) from every row of ``starts``.

    Returns the final points, shape like ``starts``, clipped to ``[low, high]``.
    ``second_order=False`` uses Adam (the paper's first-order ablation).
    """
    x = torch.tensor(starts, dtype=torch.float32, requires_grad=True)
    lo = torch.as_tensor(low, dtype=torch.float32)
    hi = torch.as_tensor(high, dtype=torch.float32)
    opt: torch.optim.Optimizer = (
        AdaHessian([x], lr=lr, generator=generator) if second_order else torch.optim.Adam([x], lr=lr)
    )
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = -objective(x).sum()
        (x.grad,) = torch.autograd.grad(loss, [x], create_graph=second_order)
        opt.step()
        with torch.no_grad():
            x.copy_(torch.maximum(torch.minimum(x, hi), lo))
    return x.detach().numpy()


def snap(points: np.ndarray, pool: np.ndarray, available: np.ndarray) -> np.ndarray:
    """Index (into ``pool``) of the nearest available row to each point (Euclidean)."""
    free = np.flatnonzero(available)
    if free.size == 0:
        raise ValueError("no available pool row to snap to")
    distances = torch.cdist(torch.from_numpy(np.asarray(points, np.float32)), torch.from_numpy(pool[free]))
    return free[distances.argmin(dim=1).numpy()]
