"""Checkers for notebooks/02_train_quadratic_agent.ipynb: the quadratic features (§1), the reward-to-go and the
REINFORCE loss of one batch (§2).

The references are the package's own short functions that the trainer uses: ``policies.quadratic_features``,
``training.reward_to_go``, and ``training.episode_advantages`` + ``training.surrogate_loss`` (the study's
"episode" estimator with one inner step, so every importance weight is 1). Cases are random inputs from fixed seeds.
"""

from __future__ import annotations

import numpy as np
import torch

from .core import Case, check

FEATURES_EXERCISE = "Exercise 2.1 (quadratic features φ(s))"
RTG_EXERCISE = "Exercise 2.2 (reward-to-go)"
LOSS_EXERCISE = "Exercise 2.3 (the REINFORCE loss of one batch)"


def check_quadratic_features(fn):
    """Check ``fn(x)`` (normalised observations (..., d), numpy) against ``policies.quadratic_features``
    (notebook 02, §1)."""
    from ..policies import quadratic_features

    rng = np.random.default_rng(21)
    cases = [Case("a batch of 5 Ant observations (d = 27)", (rng.standard_normal((5, 27)),)),
             Case("one observation of d = 4 (shape (4,))", (rng.standard_normal(4),)),
             Case("a (2, 3) grid of observations with d = 3", (rng.standard_normal((2, 3, 3)),))]
    hint = ("φ = [1, x_1..x_d, x_i x_j for i ≤ j] along the last axis: a constant 1, the d coordinates, then the "
            "d(d+1)/2 products with i ≤ j in row-major order (np.triu_indices(d)); not all d² products")
    return check(FEATURES_EXERCISE, fn, lambda x: quadratic_features(np.asarray(x)), cases, hint=hint)


def _episodes(rng, N, T):
    """Random rewards (N, T) with episodes of random lengths (zero reward after an episode ended) and the mask."""
    lengths = rng.integers(1, T + 1, N)
    lengths[0] = T
    mask = np.arange(T)[None, :] < lengths[:, None]
    rewards = np.where(mask, rng.normal(1.0, 2.0, (N, T)), 0.0)
    return rewards, mask


def check_reward_to_go(fn):
    """Check ``fn(rewards (N, T), mask (N, T), gamma)`` against ``training.reward_to_go`` (notebook 02, §2)."""
    from ..training import reward_to_go

    rng = np.random.default_rng(22)
    cases = []
    for name, N, T, gamma in (("4 episodes of up to 7 steps, γ = 1", 4, 7, 1.0),
                              ("3 episodes of up to 6 steps, γ = 0.9", 3, 6, 0.9),
                              ("one episode of 5 steps, γ = 0.5", 1, 5, 0.5)):
        rewards, mask = _episodes(rng, N, T)
        cases.append(Case(name, (rewards, mask, gamma)))
    hint = ("R_t = r_t + γ R_{t+1}, computed backwards from the last step; R_t INCLUDES r_t; "
            "zero where mask is False")
    return check(RTG_EXERCISE, fn, reward_to_go, cases, hint=hint)


def reference_loss(logp, rewards, mask):
    """The package's loss for one batch with one inner step (ρ = 1): ``surrogate_loss`` of ``episode_advantages``."""
    from ..training import episode_advantages, surrogate_loss

    n = len(rewards)
    adv = torch.as_tensor(episode_advantages(rewards, mask, np.ones(n)), dtype=logp.dtype)
    return surrogate_loss(logp, torch.as_tensor(mask), adv, torch.ones(n, dtype=logp.dtype))


def check_reinforce_loss(fn):
    """Check ``fn(logp (N, T) torch, rewards (N, T), mask (N, T) bool)`` -> scalar loss against the package's
    ``episode_advantages`` + ``surrogate_loss`` with ρ = 1 (notebook 02, §2)."""
    rng = np.random.default_rng(23)
    cases = []
    for name, N, T in (("8 episodes of up to 10 steps", 8, 10), ("3 episodes of up to 4 steps", 3, 4),
                       ("2 episodes, one of them 1 step long", 2, 6)):
        rewards, mask = _episodes(rng, N, T)
        if N == 2:
            mask[1], rewards[1] = np.arange(T) < 1, np.where(np.arange(T) < 1, rewards[1], 0.0)
        logp = torch.as_tensor(np.where(mask, rng.normal(-3.0, 1.0, (N, T)), 0.0))
        cases.append(Case(name, (logp, rewards, mask)))
    hint = ("G_i = Σ_t r_it, A_i = G_i − mean_i G_i (the baseline), loss = −mean_i(A_i · mean over the n_i steps "
            "of episode i of log π_it): minimising it climbs the return, so mind the sign")
    return check(LOSS_EXERCISE, fn, reference_loss, cases, hint=hint)
