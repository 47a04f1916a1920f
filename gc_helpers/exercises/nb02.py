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
    hint = ["count the entries first: a constant, the d coordinates, then each product x_i x_j ONCE (i ≤ j), "
            "1 + d + d(d+1)/2 in all; the leading axes are separate observations.",
            "φ = [1, x_1 … x_d, x_1x_1, x_1x_2, …, x_1x_d, x_2x_2, …, x_dx_d] along the last axis: the upper "
            "triangle of the products, row by row; not all d² products."]
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
    hint = ["R_t includes r_t and discounts what follows it; after an episode ended there is nothing to add.",
            "R_t = r_t + γ R_{t+1}, computed backwards from the last step, with R = 0 where the mask is False."]
    return check(RTG_EXERCISE, fn, reward_to_go, cases, hint=hint)


def reference_loss(logp, rewards, mask):
    """The package's loss for one batch with one inner step (ρ = 1): ``surrogate_loss`` of ``episode_advantages``."""
    from ..training import episode_advantages, surrogate_loss

    n = len(rewards)
    adv = torch.as_tensor(episode_advantages(rewards, mask, np.ones(n)), dtype=logp.dtype)
    return surrogate_loss(logp, torch.as_tensor(mask), adv, torch.ones(n, dtype=logp.dtype))


def _loss_is_differentiable(got) -> str | None:
    """None if ``got`` is a torch scalar attached to logp's graph, else why the next cell (a backward) cannot use it."""
    if not isinstance(got, torch.Tensor):
        return (f"your loss is a {type(got).__name__}, not a torch tensor. The next cells back-propagate through it "
                "to get the gradient in the weights, and numpy cannot carry a gradient: compute the loss with torch "
                "operations on logp (the rewards and the mask may stay numpy).")
    if got.grad_fn is None or not got.requires_grad:
        return ("your loss is a torch tensor detached from logp (it carries no gradient). The next cells "
                "back-propagate through it to get the gradient in the weights: compute it from logp itself, "
                "not from a detached copy or from numbers taken out of it.")
    return None


def _loss_slips():
    """Known wrong losses, each with what it gets wrong (named when a student's loss matches one)."""
    def loss(logp, rewards, mask, baseline=True, sign=1.0, masked=True):
        G = np.where(mask, rewards, 0.0).sum(axis=1)
        A = torch.as_tensor(G - G.mean() if baseline else G, dtype=logp.dtype)
        m = torch.as_tensor(mask, dtype=logp.dtype)
        if masked == "mean":  # the mean over all T steps, padded ones included
            per_episode = logp.mean(dim=1)
        else:
            per_episode = ((logp * m) if masked else logp).sum(dim=1) / m.sum(dim=1)
        return -sign * (A * per_episode).mean()

    return [
        ("log π of the padded steps after an episode ended is in the sum; those steps are not part of the episode "
         "(their log π is not 0 here), so weight log π by the mask.",
         lambda lp, r, m: loss(lp, r, m, masked=False)),
        ("the mean over time runs over all T steps, padded ones included; average log π over the n_i steps of "
         "the episode only (where the mask is True).", lambda lp, r, m: loss(lp, r, m, masked="mean")),
        ("the sign is flipped: the optimiser steps against the gradient of the loss, so minimising this loss would "
         "lower the return.", lambda lp, r, m: loss(lp, r, m, sign=-1.0)),
        ("the baseline is missing: each episode's weight is its return minus the batch's mean return.",
         lambda lp, r, m: loss(lp, r, m, baseline=False)),
    ]


LOSS_HINTS = [
    "the optimiser minimises the loss, stepping against its gradient; that step must climb the return. Which sign "
    "makes minus the gradient of the loss the policy-gradient estimate of §2? The episode weights G_i − b are "
    "numbers, not functions of θ; only log π depends on θ, and only the episode's real steps count.",
    "L = −(1/N) Σ_i (G_i − b) · (1/n_i) Σ_{t<n_i} log π_it, with G_i the return of episode i, b the mean of the G_i "
    "over the batch and n_i the number of steps where the mask is True.",
]


def check_reinforce_loss(fn):
    """Check ``fn(logp (N, T) torch, rewards (N, T), mask (N, T) bool)`` -> scalar loss against the package's
    ``episode_advantages`` + ``surrogate_loss`` with ρ = 1 (notebook 02, §2). The loss must be a torch tensor
    attached to logp's graph (the next cells call backward on it); padded steps hold non-zero log π, so an unmasked
    sum fails."""
    rng = np.random.default_rng(23)
    cases = []
    for name, N, T in (("8 episodes of up to 10 steps; padded steps hold non-zero log π", 8, 10),
                       ("3 episodes of up to 4 steps", 3, 4), ("2 episodes, one of them 1 step long", 2, 6)):
        rewards, mask = _episodes(rng, N, T)
        if N == 2:
            mask[1], rewards[1] = np.arange(T) < 1, np.where(np.arange(T) < 1, rewards[1], 0.0)
        logp = torch.as_tensor(rng.normal(-3.0, 1.0, (N, T))).requires_grad_(True)  # padded steps too
        cases.append(Case(name, (logp, rewards, mask)))
    return check(LOSS_EXERCISE, fn, reference_loss, cases, hint=LOSS_HINTS, require=_loss_is_differentiable,
                 slips=_loss_slips())
