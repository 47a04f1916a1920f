"""The policy's geometry at fixed weights: per-step scores, the mean Jacobian, and the least-squares actions.

Taught in notebooks/03_cem_compression.ipynb, §5 (the "project" optimiser). The score of a Gaussian policy
is g_t = J_tᵀ (a_t − μ_t) / σ² with J_t = ∂μ(s_t)/∂θ; with α_t free, α_t (a_t − μ_t) is ANY vector u_t, so for
fixed states the best combination of a chunk's steps solves a linear least-squares problem in the u_t
(``project_directions``), and a_t − μ_t ∝ u_t attains it (``box_step``: as far as the action box allows).
"""

from __future__ import annotations

import numpy as np
import torch

from ..policies import GaussianPolicy
from .incremental import IncrementalSpan


def step_grads(policy: GaussianPolicy, obs, actions) -> torch.Tensor:
    """Per-step scores ∇θ log π(a_t|s_t) for obs (..., L, d) and actions (..., L, k): (..., L, P).
    Taught in notebooks/01_policy_gradient.ipynb, §4 The score of a Gaussian policy with fixed σ."""
    return policy.score(obs, actions)


def mean_jacobian(policy: GaussianPolicy, obs) -> torch.Tensor:
    """J_t = ∂μ(s_t)/∂θ for obs (n, d): (n, k, P). Closed form (e_i ⊗ φ_t) for linear/quadratic policies.
    Taught in notebooks/03_cem_compression.ipynb, §5 (the "project" optimiser)."""
    o = torch.as_tensor(np.asarray(obs, dtype=np.float64))
    if policy.kind != "mlp":
        phi = policy.features(o)  # (n, F)
        k = policy.act_dim
        eye = torch.eye(k, dtype=torch.float64)
        return torch.einsum("ij,nf->nijf", eye, phi).reshape(o.shape[0], k, -1)
    from torch.func import functional_call, jacrev, vmap

    params = {name: p.detach() for name, p in policy.named_parameters()}
    buffers = dict(policy.named_buffers())

    def mu(p, x):
        return functional_call(policy, (p, buffers), (x[None],))[0]

    jac = vmap(jacrev(mu), in_dims=(None, 0))(params, o)
    return torch.cat([jac[name].reshape(o.shape[0], policy.act_dim, -1) for name, _ in policy.named_parameters()],
                     dim=-1)


def policy_mean(policy: GaussianPolicy, obs) -> np.ndarray:
    """μ(s) for obs (..., d) as a numpy array (..., k).
    Taught in notebooks/03_cem_compression.ipynb, §5 Longer sequences: grow them chunk by chunk."""
    with torch.no_grad():
        return policy.mean(torch.as_tensor(obs)).numpy()


def box_step(mu: np.ndarray, u: np.ndarray, lo: float, hi: float, reach: float = 1.0) -> np.ndarray:
    """a = μ + s·u with the largest |s| (either sign) keeping a in [lo, hi]^k, times ``reach`` ∈ (0, 1].
    Then a − μ ∝ u exactly (when μ is inside the box). Rows with u = 0 keep a = μ.
    Taught in notebooks/03_cem_compression.ipynb, §5 (the "project" optimiser)."""
    mu = np.clip(mu, lo, hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        up = np.where(u > 0, (hi - mu) / u, np.where(u < 0, (lo - mu) / u, np.inf)).min(-1)  # largest s > 0
        dn = np.where(u > 0, (mu - lo) / u, np.where(u < 0, (mu - hi) / u, np.inf)).min(-1)  # largest −s
    s = np.where(up >= dn, up, -dn)
    s = np.where(np.isfinite(s), s, 0.0) * reach
    return np.clip(mu + s[..., None] * u, lo, hi)


def project_directions(policy: GaussianPolicy, span: IncrementalSpan, obs: np.ndarray, ridge: float) -> np.ndarray:
    """The least-squares u_t (c, k) for one chunk's states obs (c, d): min ‖Σ_t J_tᵀ u_t − r‖ with r the target's
    part outside the prefix span (so the prefix's α can still adjust), ridge-regularised.
    Taught in notebooks/03_cem_compression.ipynb, §5 (the "project" optimiser)."""
    J = mean_jacobian(policy, obs)  # (c, k, P)
    c, k, P = J.shape
    C = J.reshape(c * k, P)
    norms = torch.linalg.norm(C, dim=-1, keepdim=True).clamp_min(1e-300)
    Cn = span.orthogonal_part(C / norms)
    gram = Cn @ Cn.T
    lam = ridge * float(torch.linalg.eigvalsh(gram)[-1]) + 1e-300
    coef = torch.linalg.solve(gram + lam * torch.eye(c * k, dtype=torch.float64), Cn @ span.r)
    return (coef / norms[:, 0]).reshape(c, k).numpy()


def project_actions(policy: GaussianPolicy, span: IncrementalSpan, obs, ridge: float, reach: float,
                    lo: float, hi: float) -> np.ndarray:
    """Actions (c, k) along the least-squares directions u_t at the states obs, ``reach`` of the way to the box.
    Taught in notebooks/03_cem_compression.ipynb, §5 Longer sequences: grow them chunk by chunk."""
    u = project_directions(policy, span, obs, ridge)
    return box_step(policy_mean(policy, obs), u, lo, hi, reach)
