"""Checkers for notebooks/06_ppo.ipynb: the clipped surrogate, derived from "remove the incentive to move r outside
[1 − ε, 1 + ε]" (§1), the tanh log-determinant, derived from the change of variables (§2), and GAE across episode
boundaries (§3).

The references are the package's own short functions that ``train_ppo`` uses: ``training.ppo.clipped_surrogate``,
``training.ppo_core.log_det_tanh`` and ``training.ppo.gae``. Cases are random inputs from fixed seeds. The
surrogate's cases carry a ratio that requires a gradient, and its output must stay attached to it: the next cells
backpropagate through it. Hints are graduated and never show code.
"""

from __future__ import annotations

import numpy as np
import torch

from .core import Case, check

CLIP_EXERCISE = "Exercise 6.1 (PPO's clipped surrogate)"
LOGDET_EXERCISE = "Exercise 6.2 (the tanh log-determinant)"
GAE_EXERCISE = "Exercise 6.3 (GAE across episode boundaries)"


NOT_ATTACHED = ("the output is not a torch tensor attached to the ratio's gradient graph: the next cells (the ε "
                "widget, and PPO's optimiser) backpropagate through the surrogate, and a numpy array or a detached "
                "tensor has no gradient. Compute it with torch operations on the tensors you are given.")

CLIP_HINTS = [
    "For A > 0 the objective should earn nothing once r passes 1 + ε, and for A < 0 nothing once r drops below "
    "1 − ε; moves that make the objective worse must never be clipped. Which of r·A and its clipped version is "
    "the pessimistic one?",
    "Per sample: the minimum of r·A and clip(r, 1 − ε, 1 + ε)·A. It is the ratio that is clipped, not the "
    "advantage, and the result keeps one value per sample.",
]


class NotAttached(Exception):
    """The student's surrogate left torch (numpy on a tensor that requires a gradient): the message says why."""


def _torch_only(fn):
    """fn, with numpy's refusal of a tensor that requires a gradient turned into the reason the next cells need
    torch."""
    def run(ratio, adv, eps):
        try:
            return fn(ratio, adv, eps)
        except RuntimeError as err:
            if "numpy" in str(err) or "requires grad" in str(err):
                raise NotAttached(NOT_ATTACHED) from None
            raise
    return run


def attached(got):
    """None if ``got`` is a torch tensor that carries a gradient, else why the next cells cannot use it."""
    if isinstance(got, torch.Tensor) and got.requires_grad and got.grad_fn is not None:
        return None
    return NOT_ATTACHED


def _surrogate_cases():
    rng = np.random.default_rng(61)
    cases = []
    for name, n, eps in (("20 samples, ε = 0.2", 20, 0.2), ("8 samples, ε = 0.1", 8, 0.1),
                         ("12 samples, ε = 0.3", 12, 0.3)):
        ratio = torch.as_tensor(rng.uniform(0.3, 1.8, n)).requires_grad_(True)
        adv = torch.as_tensor(rng.normal(0.0, 1.5, n))
        cases.append(Case(name, (ratio, adv, eps)))
    return cases


def check_clipped_surrogate(fn):
    """Check ``fn(ratio, adv, clip)`` (torch tensors, the ratio requiring a gradient; clip ε) against
    ``ppo.clipped_surrogate``; the output must be a torch tensor attached to the ratio's graph (notebook 06, §1).
    Later cells get ``fn`` itself if it passed."""
    from dataclasses import replace

    from ..training.ppo import clipped_surrogate

    slips = [("this clips the advantage; PPO clips the ratio r",
              lambda r, a, e: torch.minimum(r * a, r * torch.clamp(a, 1 - e, 1 + e))),
             ("this takes the maximum, the optimistic one: the gradient would then never vanish where it should",
              lambda r, a, e: torch.maximum(r * a, torch.clamp(r, 1 - e, 1 + e) * a))]
    if not callable(fn):
        return check(CLIP_EXERCISE, fn, clipped_surrogate, [], hint=CLIP_HINTS)
    result = check(CLIP_EXERCISE, _torch_only(fn), clipped_surrogate, _surrogate_cases(), hint=CLIP_HINTS,
                   require=attached, slips=slips)
    return replace(result, fn=fn) if result.passed else result


def check_log_det_tanh(fn):
    """Check ``fn(u)`` (torch (..., k)) against ``ppo_core.log_det_tanh`` (notebook 06, §2)."""
    from ..training.ppo_core import log_det_tanh

    rng = np.random.default_rng(62)
    cases = [Case("a batch of 6 actions in 3 dimensions, |u| < 2", (torch.as_tensor(rng.uniform(-2, 2, (6, 3))),)),
             Case("one action in 4 dimensions (shape (4,))", (torch.as_tensor(rng.normal(0, 1, 4)),)),
             Case("saturated actions, u up to ±25 (tanh²u rounds to 1)",
                  (torch.as_tensor(np.array([[25.0, -0.5], [3.0, -20.0], [0.1, 12.0]])),))]
    hint = ["tanh acts on each coordinate alone, so its Jacobian is diagonal: the log-determinant is a sum, over the "
            "last axis (the action dimensions), of the log of one derivative.",
            "The derivative of tanh u is 1 − tanh²u = 4 / (eᵘ + e⁻ᵘ)². Taking its log through tanh gives log 0 once "
            "tanh²u rounds to 1 (|u| above about 19): write the log of 4 / (eᵘ + e⁻ᵘ)² without computing tanh.",
            "log(4 / (eᵘ + e⁻ᵘ)²) = 2 (log 2 − u − log(1 + e⁻²ᵘ)), and log(1 + eˣ) is the softplus of x, which torch "
            "computes without overflow."]
    slips = [("this goes through log(1 − tanh²u), which is log 0 = −inf for saturated actions",
              lambda u: torch.log(1 - torch.tanh(u) ** 2).sum(-1))]
    return check(LOGDET_EXERCISE, fn, log_det_tanh, cases, hint=hint, slips=slips)


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
    hint = ["Two questions at each step: does the future after s_t count in δ_t (was the episode cut by the time "
            "limit, or did the robot fall?), and may the accumulation A_t carry A_{t+1} across the end of an episode?",
            "δ_t = r_t + γ V(s'_t) − V(s_t), with the γ V(s'_t) term dropped when the episode terminated at t (a fall "
            "has no future; a time limit does). Work backwards: A_t = δ_t + γλ A_{t+1}, with A_{t+1} taken as 0 "
            "whenever the episode ended at t, by either kind of end.",
            "The second output is the returns: the advantages plus the values, same shape (T, N)."]
    return check(GAE_EXERCISE, fn, gae, cases, hint=hint)
