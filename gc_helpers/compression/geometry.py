"""The policy's geometry at fixed weights: per-step scores and the mean Jacobian.

Taught in notebooks/03_cem_compression.ipynb, §5 (the "project" optimiser). The score of a Gaussian policy
is g_t = J_tᵀ (a_t − μ_t) / σ² with J_t = ∂μ(s_t)/∂θ; with α_t free, α_t (a_t − μ_t) is ANY vector u_t, so for
fixed states the best combination of a chunk's steps solves a linear least-squares problem in the u_t
(``gc_research.projected_actions``, the chunk search's "project" optimiser).
"""

from __future__ import annotations

import numpy as np
import torch

from ..policies import GaussianPolicy


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
