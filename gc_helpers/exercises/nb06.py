"""Checkers for notebooks/06_ppo.ipynb: the clipped surrogate (§1), the tanh log-determinant (§2) and GAE across
episode boundaries (§3).

The references are the package's own short functions that ``train_ppo`` uses: ``training.ppo.clipped_surrogate``,
``training.ppo_core.log_det_tanh`` and ``training.ppo.gae``. Cases are random inputs from fixed seeds.
"""

from __future__ import annotations

import numpy as np
import torch

from .core import Case, check

CLIP_EXERCISE = "Exercise 6.1 (PPO's clipped surrogate)"
LOGDET_EXERCISE = "Exercise 6.2 (the tanh log-determinant)"
GAE_EXERCISE = "Exercise 6.3 (GAE across episode boundaries)"


def check_clipped_surrogate(fn):
    """Check ``fn(ratio, adv, clip)`` (torch tensors, clip ε) against ``ppo.clipped_surrogate`` (notebook 06, §1)."""
    from ..training.ppo import clipped_surrogate

    rng = np.random.default_rng(61)
    cases = []
    for name, n, eps in (("20 samples, ε = 0.2", 20, 0.2), ("8 samples, ε = 0.1", 8, 0.1),
                         ("12 samples, ε = 0.3", 12, 0.3)):
        ratio = torch.as_tensor(rng.uniform(0.3, 1.8, n))
        adv = torch.as_tensor(rng.normal(0.0, 1.5, n))
        cases.append(Case(name, (ratio, adv, eps)))
    hint = ("per sample min(r·A, clip(r, 1 − ε, 1 + ε)·A): clip the RATIO (not A), and take the MINIMUM, the "
            "pessimistic one of the two (torch.minimum, torch.clamp)")
    return check(CLIP_EXERCISE, fn, clipped_surrogate, cases, hint=hint)


def check_log_det_tanh(fn):
    """Check ``fn(u)`` (torch (..., k)) against ``ppo_core.log_det_tanh`` (notebook 06, §2)."""
    from ..training.ppo_core import log_det_tanh

    rng = np.random.default_rng(62)
    cases = [Case("a batch of 6 actions in 3 dimensions, |u| < 2", (torch.as_tensor(rng.uniform(-2, 2, (6, 3))),)),
             Case("one action in 4 dimensions (shape (4,))", (torch.as_tensor(rng.normal(0, 1, 4)),)),
             Case("saturated actions, u up to ±25 (tanh²u rounds to 1)",
                  (torch.as_tensor(np.array([[25.0, -0.5], [3.0, -20.0], [0.1, 12.0]])),))]
    hint = ("Σ over the LAST axis (the action dimensions) of log(1 − tanh²u_i); for large |u| 1 − tanh²u rounds to "
            "0, so use the stable form log(1 − tanh²u) = 2 (log 2 − u − softplus(−2u))")
    return check(LOGDET_EXERCISE, fn, log_det_tanh, cases, hint=hint)


def _gae_case(rng, T, N, p_term, p_trunc, gamma, lam):
    rewards, values, next_values = rng.normal(size=(3, T, N))
    terminated = rng.random((T, N)) < p_term
    truncated = (rng.random((T, N)) < p_trunc) & ~terminated
    return (rewards, values, next_values, terminated, truncated, gamma, lam)


def check_gae(fn):
    """Check ``fn(rewards, values, next_values, terminated, truncated, gamma, lam)`` -> (advantages, returns),
    arrays (T, N), against ``ppo.gae`` (notebook 06, §3)."""
    from ..training.ppo import gae

    rng = np.random.default_rng(63)
    cases = []
    for name, args in (("8 steps × 3 envs, falls and time limits in the batch, γ = 0.99, λ = 0.95",
                        (8, 3, 0.2, 0.15, 0.99, 0.95)),
                       ("6 steps × 2 envs, only falls (terminated), γ = 0.9, λ = 0.8", (6, 2, 0.3, 0.0, 0.9, 0.8)),
                       ("6 steps × 2 envs, only time limits (truncated), γ = 0.9, λ = 1", (6, 2, 0.0, 0.3, 0.9, 1.0)),
                       ("10 steps × 1 env, no boundary, γ = 0.95, λ = 0 (one-step TD errors)",
                        (10, 1, 0.0, 0.0, 0.95, 0.0))):
        cases.append(Case(name, _gae_case(rng, *args)))
    hint = ("δ_t = r_t + γ·(0 if terminated[t] else next_values[t]) − values[t]; backwards A_t = δ_t + γλ·A_{t+1}, "
            "with A_{t+1} replaced by 0 when the episode ENDED at t (terminated or truncated); returns = A + values")
    return check(GAE_EXERCISE, fn, gae, cases, hint=hint)
