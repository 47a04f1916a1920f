"""The least-squares actions of the chunk search's "project" optimiser. The score of a Gaussian policy is
g_t = J_tᵀ (a_t − μ_t) / σ² with J_t = ∂μ(s_t)/∂θ (``gc_helpers.compression.geometry.mean_jacobian``); with α_t
free, α_t (a_t − μ_t) is ANY vector u_t, so for fixed states the best combination of a chunk's steps solves a
linear least-squares problem in the u_t (``project_directions``), and a_t − μ_t ∝ u_t attains it (``box_step``: as
far as the action box allows). Notebook 03 §5 (the "project" optimiser) describes it.
"""

from __future__ import annotations

import numpy as np
import torch

from gc_helpers.compression.geometry import mean_jacobian
from gc_helpers.policies import GaussianPolicy
from gc_research.incremental_span import IncrementalSpan


def policy_mean(policy: GaussianPolicy, obs) -> np.ndarray:
    """μ(s) for obs (..., d) as a numpy array (..., k)."""
    with torch.no_grad():
        return policy.mean(torch.as_tensor(obs)).numpy()


def box_step(mu: np.ndarray, u: np.ndarray, lo: float, hi: float, reach: float = 1.0) -> np.ndarray:
    """a = μ + s·u with the largest |s| (either sign) keeping a in [lo, hi]^k, times ``reach`` ∈ (0, 1].
    Then a − μ ∝ u exactly (when μ is inside the box). Rows with u = 0 keep a = μ."""
    mu = np.clip(mu, lo, hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        up = np.where(u > 0, (hi - mu) / u, np.where(u < 0, (lo - mu) / u, np.inf)).min(-1)  # largest s > 0
        dn = np.where(u > 0, (mu - lo) / u, np.where(u < 0, (mu - hi) / u, np.inf)).min(-1)  # largest −s
    s = np.where(up >= dn, up, -dn)
    s = np.where(np.isfinite(s), s, 0.0) * reach
    return np.clip(mu + s[..., None] * u, lo, hi)


def project_directions(policy: GaussianPolicy, span: IncrementalSpan, obs: np.ndarray, ridge: float) -> np.ndarray:
    """The least-squares u_t (c, k) for one chunk's states obs (c, d): min ‖Σ_t J_tᵀ u_t − r‖ with r the target's
    part outside the prefix span (so the prefix's α can still adjust), ridge-regularised."""
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
    """Actions (c, k) along the least-squares directions u_t at the states obs, ``reach`` of the way to the box."""
    u = project_directions(policy, span, obs, ridge)
    return box_step(policy_mean(policy, obs), u, lo, hi, reach)
