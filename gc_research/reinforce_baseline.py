"""One REINFORCE step on one on-policy trajectory of length L: a baseline on the same budget of L state-action
pairs as a compressed direction (tested; notebook 05 compares with behaviour cloning instead).
"""

from __future__ import annotations

import numpy as np

from gc_helpers import rollouts
from gc_helpers.checks import int_at_least
from gc_helpers.policies import GaussianPolicy, task_of


def reinforce_direction(policy: GaussianPolicy, env_id: str | None = None, length: int | None = None,
                        seed: int = 42, noise_std: float | None = None) -> np.ndarray:
    """One REINFORCE gradient from ONE on-policy trajectory of ``length`` steps on the policy's task:
    Σ_t ∇θ log π(a_t|s_t) (G_t − mean_t G_t), with reward-to-go G_t (notebook 01 derives it)."""
    length = int_at_least(length, "length")
    sigma = policy.sigma if noise_std is None else noise_std
    r = rollouts.rollout(rollouts.EnvPool(task_of(policy, env_id), 1), policy.mean_fn(), length, seed, sigma)
    n = int(r.lengths[0])
    rewards = r.rewards[0, :n]
    to_go = np.cumsum(rewards[::-1])[::-1]
    adv = to_go - to_go.mean()
    scores = policy.score(r.obs[0, :n], r.actions[0, :n]).numpy()
    return adv @ scores
