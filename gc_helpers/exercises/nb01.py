"""Checkers for notebooks/01_policy_gradient.ipynb (§4 the Gaussian score, §6 reward-to-go and baselines, §8
importance weights). Each compares the student's function with the ``pg_theory`` function the notebook's later
cells use, on random inputs drawn from a fixed seed.
"""

from __future__ import annotations

import functools

import numpy as np

from .. import pg_theory as pg
from .core import Case, CheckResult, check


def _checker(exercise: str, reference, cases, doc: str, hint, slips=()):
    """A checker for one exercise: ``checker(fn)`` compares ``fn`` with ``reference`` on ``cases()``."""

    def run(fn) -> CheckResult:
        return check(exercise, fn, reference, cases(), hint=hint, slips=slips)

    run.__doc__ = doc
    return run


def _rng(k: int) -> np.random.Generator:
    return np.random.default_rng(1000 + k)


def _log_prob_cases() -> list[Case]:
    rng = _rng(1)
    return [
        Case("one action, m = 1, σ = 0.5", (rng.normal(size=(1,)), rng.normal(size=(1,)), 0.5)),
        Case("a batch of 6 actions, m = 2, σ = 0.7", (rng.normal(size=(6, 2)), rng.normal(size=(6, 2)), 0.7)),
        Case("a (4, 5) batch of steps, m = 3, σ = 2.0", (rng.normal(size=(4, 5, 3)), rng.normal(size=(4, 5, 3)), 2.0)),
    ]


check_log_prob = _checker(
    "Exercise 1.1 (Gaussian log-probability)", pg.gaussian_log_prob, _log_prob_cases,
    doc="Exercise 1.1 (§4): log N(a; mean, σ² I), summed over the action axis.",
    hint=["the density of m independent coordinates is a product, so its log is a sum over the action axis; "
          "the leading axes are separate samples.",
          "log N = −‖a − mean‖² / (2σ²) − m log σ − (m/2) log 2π, the squared norm over the LAST axis only, "
          "with m the length of that axis."])


def _score_cases() -> list[Case]:
    rng = _rng(2)
    out = []
    for name, m, d, batch, sigma in [("one step, m = 1, d = 3, σ = 0.5", 1, 3, (1,), 0.5),
                                     ("a batch of 6 steps, m = 2, d = 3, σ = 0.7", 2, 3, (6,), 0.7),
                                     ("a (4, 5) batch of steps, m = 3, d = 4, σ = 2.0", 3, 4, (4, 5), 2.0)]:
        W = rng.normal(size=(m, d))
        out.append(Case(name, (W, rng.normal(size=batch + (d,)), rng.normal(size=batch + (m,)), sigma)))
    return out


check_score = _checker(
    "Exercise 1.2 (Gaussian score)", pg.gaussian_score_closed_form, _score_cases,
    doc="Exercise 1.2 (§4): ∇_W log N(a; Wφ, σ² I), derived by the student, batched over leading axes.",
    hint=["only the squared distance ‖a − Wφ‖²/(2σ²) of the log-density depends on W. Differentiate it with the "
          "chain rule through the mean Wφ: what is ∂(Wφ)_j/∂W_jk? Mind the minus sign in front of the distance.",
          "∇_W log π = σ⁻² (a − Wφ) φᵀ: per sample an m × d outer product of the residual (a − Wφ)/σ² "
          "(length m) with φ (length d)."],
    slips=[("the sign is flipped: the log-density falls as a moves away from the mean Wφ, so its gradient points "
            "from Wφ towards a.", lambda W, phi, a, sigma: -pg.gaussian_score_closed_form(W, phi, a, sigma)),
           ("the σ⁻² is missing: the distance term is divided by 2σ².",
            lambda W, phi, a, sigma: sigma**2 * pg.gaussian_score_closed_form(W, phi, a, sigma))])


def _rtg_cases() -> list[Case]:
    rng = _rng(3)
    return [
        Case("one episode [1, 2, 3]", (np.array([[1.0, 2.0, 3.0]]),)),
        Case("one step per episode, 4 episodes", (rng.normal(size=(4, 1)),)),
        Case("8 episodes of 5 steps", (rng.normal(size=(8, 5)),)),
    ]


check_reward_to_go = _checker(
    "Exercise 1.3 (reward-to-go)", pg.reward_to_go, _rtg_cases,
    doc="Exercise 1.3 (§6): G_t = Σ_{t' ≥ t} r_t' along the last axis.",
    hint=["G_t includes r_t itself (t' ≥ t) and runs to the END of the episode, not from its start.",
          "G_t = r_t + G_{t+1}, with G after the last step 0: a cumulative sum taken from the last step "
          "backwards."])


def _reinforce_cases() -> list[Case]:
    out = []
    rng = _rng(4)
    for name, N, T, P, b in [("3 trajectories of 4 steps, P = 2, no baseline", 3, 4, 2, np.zeros((4, 1))),
                             ("5 trajectories of 3 steps, P = 3, a time baseline b_t", 5, 3, 3, None),
                             ("2 trajectories of 1 step, P = 4, a time baseline b_t", 2, 1, 4, None)]:
        b = rng.normal(size=(T, 1)) if b is None else b
        out.append(Case(name, (rng.normal(size=(N, T, P)), rng.normal(size=(N, T)), b)))
    return out


_reinforce_reference = functools.partial(pg.per_trajectory_gradients, use_reward_to_go=True)


check_reinforce = _checker(
    "Exercise 1.4 (REINFORCE with reward-to-go and a baseline)",
    lambda scores, rewards, baseline: _reinforce_reference(scores, rewards, baseline=baseline), _reinforce_cases,
    doc="Exercise 1.4 (§6): one REINFORCE gradient per trajectory, Σ_t score_t (G_t − b_t), shape (N, P).",
    hint=["each step's score is weighted by what followed it, minus that step's baseline; the result is one "
          "gradient per trajectory, so only the time axis is summed.",
          "ĝ_i = Σ_t g_it (G_it − b_t), with G the reward-to-go of Exercise 1.3 (N × T) and b_t of shape T × 1: "
          "scores N × T × P in, N × P out."])


def _weights_cases() -> list[Case]:
    rng = _rng(5)
    out = []
    for name, N, T, sigma in [("1 trajectory of 1 step, σ = 0.5", 1, 1, 0.5),
                              ("6 trajectories of 5 steps, σ = 0.7", 6, 5, 0.7)]:
        W_old = rng.normal(size=(1, 3))
        W_new = W_old + 0.2 * rng.normal(size=(1, 3))
        out.append(Case(name, (rng.normal(size=(N, T, 2)), rng.normal(size=(N, T, 1)), W_new, W_old, sigma)))
    return out


check_log_weights = _checker(
    "Exercise 1.5 (trajectory importance weights)", pg.trajectory_log_weights, _weights_cases,
    doc="Exercise 1.5 (§8): log w(τ) = Σ_t log π_new(a_t|s_t) − log π_old(a_t|s_t), shape (N,).",
    hint=["the dynamics cancel in p_new(τ)/p_old(τ): only the policy's factors are left, one per step, and the "
          "log turns their product into a sum. The new policy is in the numerator.",
          "log w(τ) = Σ_t [log N(a_t; W_new φ(s_t), σ²) − log N(a_t; W_old φ(s_t), σ²)], with φ the LQ task's "
          "features (§3) and the log-density of Exercise 1.1: one number per trajectory."])
