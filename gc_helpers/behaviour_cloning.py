"""Behaviour cloning, the baseline a compressed direction is compared with on the same budget of L state-action
pairs: the trained agent's own L-step trajectory (``expert_trajectory``) and the parameters that imitate it
(``behaviour_cloning``).

Taught in notebooks/05_line_search_decompression.ipynb, §4 The decompression table.
"""

from __future__ import annotations

import numpy as np
import torch

from . import envs, rollouts
from .checks import finite_array, int_at_least
from .policies import GaussianPolicy, task_of


def expert_trajectory(policy: GaussianPolicy, env_id: str | None = None, length: int | None = None, seed: int = 42,
                      noise_std: float = 0.0):
    """The trained agent's own trajectory of ``length`` steps on its task: (obs (L, d), actions (L, k), return).
    Taught in notebooks/05_line_search_decompression.ipynb, §4 The decompression table."""
    length = int_at_least(length, "length")
    r = rollouts.rollout(rollouts.EnvPool(task_of(policy, env_id), 1), policy.mean_fn(), length, seed, noise_std)
    n = int(r.lengths[0])
    return r.obs[0, :n], r.actions[0, :n], float(r.returns[0])



def behaviour_cloning(policy: GaussianPolicy, obs, actions, ridge: float = 1e-3, steps: int = 500,
                      lr: float = 1e-2) -> np.ndarray:
    """Parameters that imitate (obs, actions) by maximum likelihood, starting from ``policy``.

    Linear/quadratic means: ridge regression of the actions on φ(s) (closed form). MLP: ``steps`` of Adam on
    the mean squared error. Returns θ (the policy itself is not changed).
    Taught in notebooks/05_line_search_decompression.ipynb, §4 The decompression table.
    """
    obs = finite_array(obs, "obs")
    act = envs.check_actions(finite_array(actions, "actions"), policy.act_dim, ndim=2)
    if obs.shape != (act.shape[0], policy.obs_dim):
        raise ValueError(f"obs has shape {obs.shape}; expected ({act.shape[0]}, {policy.obs_dim})")
    if not np.isfinite(ridge) or ridge < 0:
        raise ValueError(f"ridge={ridge!r}: must be finite and >= 0")
    if policy.kind != "mlp":
        phi = policy.features(obs).numpy()
        lhs = phi.T @ phi + ridge * len(phi) * np.eye(phi.shape[1])
        W = np.linalg.solve(lhs, phi.T @ act).T
        return W.reshape(-1)
    student = policy.with_flat(policy.flat())
    opt = torch.optim.Adam(student.parameters(), lr=lr)
    o, a = torch.as_tensor(obs), torch.as_tensor(act)
    for _ in range(int(steps)):
        opt.zero_grad()
        loss = ((student.mean(o) - a) ** 2).mean()
        loss.backward()
        opt.step()
    return student.flat()
