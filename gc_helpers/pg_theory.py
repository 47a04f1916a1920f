"""Policy-gradient theory on problems with a known answer (taught in notebooks/01_policy_gradient.ipynb).

Two toy problems whose true gradient is known in closed form:

* a short-horizon linear-quadratic (LQ) task driven by a linear-Gaussian policy
  ``a_t ~ N(W phi(s_t), sigma^2 I)`` with ``phi(s) = [s, 1]``: states stay Gaussian, so the expected return
  J(W) is an explicit function of W and its gradient is exact (autograd through the closed form);
* a one-step Gaussian bandit ``a ~ N(mu, sigma^2)`` with reward ``-(a - target)^2``, used for the Fisher
  matrix and the natural gradient (``gc_helpers.natural_gradient``).

Everything is numpy in, small frozen dataclasses (or arrays) out; randomness only through an explicit seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .checks import check_seed, finite_array, int_at_least, positive_float

__all__ = [
    "LQTask",
    "Trajectories",
    "ExactGradient",
    "GradientEstimate",
    "ErrorCurve",
    "ISWeightStats",
    "OffPolicyEstimate",
    "make_lq_task",
    "lq_features",
    "exact_gradient",
    "sample_trajectories",
    "gaussian_log_prob",
    "gaussian_score_closed_form",
    "per_step_scores",
    "reward_to_go",
    "per_trajectory_gradients",
    "optimal_baseline",
    "time_baseline",
    "summarize",
    "mc_error_curve",
    "reduce_gradient",
    "is_weight_variance_exact",
    "is_weight_stats",
    "trajectory_log_weights",
    "off_policy_gradient",
]


# ----------------------------------------------------------------------------------------------- LQ task
@dataclass(frozen=True)
class LQTask:
    """s_{t+1} = A s_t + B a_t, reward r_t = -(s_t' Q s_t + a_t' R a_t), s_0 ~ N(m0, S0), policy noise sigma."""

    A: np.ndarray
    B: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    m0: np.ndarray
    S0: np.ndarray
    horizon: int
    sigma: float

    @property
    def state_dim(self) -> int:
        return self.A.shape[0]

    @property
    def action_dim(self) -> int:
        return self.B.shape[1]

    @property
    def weight_shape(self) -> tuple[int, int]:
        """Shape of W: (action_dim, state_dim + 1) -- the last column is the bias."""
        return (self.action_dim, self.state_dim + 1)


def make_lq_task(horizon: int = 5, sigma: float = 0.5, dt: float = 0.2, action_cost: float = 0.1) -> LQTask:
    """A point mass (position, velocity) pushed by a force, asked to return to 0 within ``horizon`` steps.

    Taught in notebooks/01_policy_gradient.ipynb.
    """
    horizon = int_at_least(horizon, "horizon")
    sigma = positive_float(sigma, "sigma")
    dt = positive_float(dt, "dt")
    action_cost = positive_float(action_cost, "action_cost")
    A = np.array([[1.0, dt], [0.0, 1.0]])
    B = np.array([[0.5 * dt * dt], [dt]])
    return LQTask(
        A=A, B=B, Q=np.eye(2), R=action_cost * np.eye(1), m0=np.array([1.0, 0.0]), S0=0.05 * np.eye(2),
        horizon=horizon, sigma=sigma,
    )


def _check_W(task: LQTask, W) -> np.ndarray:
    W = finite_array(W, "W", ndim=2)
    if W.shape != task.weight_shape:
        raise ValueError(f"W has shape {W.shape}: this task needs {task.weight_shape} (action_dim, state_dim + 1)")
    return W


def lq_features(states) -> np.ndarray:
    """phi(s) = [s, 1] on the last axis (taught in notebooks/01_policy_gradient.ipynb)."""
    s = finite_array(states, "states")
    if s.ndim < 1:
        raise ValueError(f"states has shape {s.shape}: expected at least 1 dimension (..., state_dim)")
    return np.concatenate([s, np.ones(s.shape[:-1] + (1,))], axis=-1)


@dataclass(frozen=True)
class ExactGradient:
    value: float  # J(W), the expected return
    grad: np.ndarray  # dJ/dW, same shape as W


def _exact_return_torch(task: LQTask, W: torch.Tensor) -> torch.Tensor:
    t = lambda x: torch.as_tensor(x, dtype=torch.float64)  # noqa: E731
    A, B, Q, R = t(task.A), t(task.B), t(task.Q), t(task.R)
    K, c = W[:, :-1], W[:, -1]
    m, S = t(task.m0), t(task.S0)
    Acl = A + B @ K
    noise = task.sigma**2 * (B @ B.T)
    J = torch.zeros((), dtype=torch.float64)
    for _ in range(task.horizon):
        ma = K @ m + c
        Sa = K @ S @ K.T + task.sigma**2 * torch.eye(task.action_dim, dtype=torch.float64)
        J = J - (torch.trace(Q @ S) + m @ Q @ m + torch.trace(R @ Sa) + ma @ R @ ma)
        m = Acl @ m + B @ c
        S = Acl @ S @ Acl.T + noise
    return J


def exact_gradient(task: LQTask, W) -> ExactGradient:
    """J(W) and its exact gradient: states stay Gaussian, so J is a closed-form function of W.

    Taught in notebooks/01_policy_gradient.ipynb.
    """
    W = _check_W(task, W)
    Wt = torch.tensor(W, dtype=torch.float64, requires_grad=True)
    J = _exact_return_torch(task, Wt)
    (g,) = torch.autograd.grad(J, Wt)
    return ExactGradient(value=float(J.detach()), grad=g.numpy().copy())


@dataclass(frozen=True)
class Trajectories:
    states: np.ndarray  # (N, T, state_dim), s_0 .. s_{T-1}
    actions: np.ndarray  # (N, T, action_dim)
    rewards: np.ndarray  # (N, T)
    W: np.ndarray  # the policy that generated them
    sigma: float

    @property
    def n(self) -> int:
        return self.rewards.shape[0]


def sample_trajectories(task: LQTask, W, n_samples: int, seed: int) -> Trajectories:
    """Roll out ``n_samples`` episodes of the linear-Gaussian policy W.

    Taught in notebooks/01_policy_gradient.ipynb.
    """
    W = _check_W(task, W)
    n = int_at_least(n_samples, "n_samples")
    rng = np.random.default_rng(check_seed(seed))
    T, ns, na = task.horizon, task.state_dim, task.action_dim
    states = np.empty((n, T, ns))
    actions = np.empty((n, T, na))
    rewards = np.empty((n, T))
    s = rng.multivariate_normal(task.m0, task.S0, size=n)
    for t in range(T):
        a = lq_features(s) @ W.T + task.sigma * rng.standard_normal((n, na))
        states[:, t], actions[:, t] = s, a
        rewards[:, t] = -(np.einsum("ni,ij,nj->n", s, task.Q, s) + np.einsum("ni,ij,nj->n", a, task.R, a))
        s = s @ task.A.T + a @ task.B.T
    return Trajectories(states=states, actions=actions, rewards=rewards, W=W, sigma=task.sigma)


# ----------------------------------------------------------------------------------------------- scores
def gaussian_log_prob(a, mean, sigma: float) -> np.ndarray:
    """log N(a; mean, sigma^2 I), summed over the last axis (notebooks/01_policy_gradient.ipynb §4, Exercise 1.1)."""
    sigma = positive_float(sigma, "sigma")
    a, mean = finite_array(a, "a"), finite_array(mean, "mean")
    try:
        ok = a.ndim >= 1 and a.shape == np.broadcast_shapes(a.shape, mean.shape)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"mean has shape {mean.shape}: must broadcast to a's shape {a.shape} (..., action_dim)")
    d = a.shape[-1]
    return -0.5 * np.sum((a - mean) ** 2, axis=-1) / sigma**2 - d * (math.log(sigma) + 0.5 * math.log(2 * math.pi))


def gaussian_score_closed_form(W, phi, a, sigma: float) -> np.ndarray:
    """grad_W log N(a; W phi, sigma^2 I) = sigma^-2 (a - W phi) phi^T, batched over leading axes.

    W: (m, d); phi: (..., d); a: (..., m) -> (..., m, d). Notebooks/01_policy_gradient.ipynb §4, Exercise 1.2.
    """
    sigma = positive_float(sigma, "sigma")
    W, phi, a = finite_array(W, "W", ndim=2), finite_array(phi, "phi"), finite_array(a, "a")
    m, d = W.shape
    if phi.ndim < 1 or phi.shape[-1] != d:
        raise ValueError(f"phi has shape {phi.shape}: last axis must be W's column count {d}")
    if a.ndim < 1 or a.shape[-1] != m or a.shape[:-1] != phi.shape[:-1]:
        raise ValueError(f"a has shape {a.shape}: expected {phi.shape[:-1] + (m,)} (phi's batch axes, then W's rows)")
    resid = (a - phi @ W.T) / sigma**2
    return resid[..., :, None] * phi[..., None, :]


def per_step_scores(traj: Trajectories, W=None) -> np.ndarray:
    """grad_W log pi_W(a_t | s_t) for every step, flattened: (N, T, P) with P = W.size.

    W defaults to the behaviour policy (pass another W for off-policy use). Taught in 01_policy_gradient.ipynb.
    """
    W = traj.W if W is None else finite_array(W, "W", ndim=2)
    if W.shape != traj.W.shape:
        raise ValueError(f"W has shape {W.shape}: these trajectories need {traj.W.shape}")
    g = gaussian_score_closed_form(W, lq_features(traj.states), traj.actions, traj.sigma)
    return g.reshape(g.shape[0], g.shape[1], -1)


# ----------------------------------------------------------------------------------------------- estimators
def reward_to_go(rewards) -> np.ndarray:
    """G_t = sum_{t' >= t} r_t' along the last axis (notebooks/01_policy_gradient.ipynb §6, Exercise 1.3)."""
    r = finite_array(rewards, "rewards")
    if r.ndim < 1 or r.shape[-1] < 1:
        raise ValueError(f"rewards has shape {r.shape}: expected (..., T) with T >= 1")
    return np.flip(np.cumsum(np.flip(r, axis=-1), axis=-1), axis=-1)


def per_trajectory_gradients(scores, rewards, *, use_reward_to_go: bool = False, baseline=0.0) -> np.ndarray:
    """One REINFORCE gradient per trajectory: sum_t score_t * (G_t - b), shape (N, P).

    G_t is the whole return (``use_reward_to_go=False``) or the reward-to-go. ``baseline`` broadcasts against
    (T, P): a scalar, a (T, 1) time-dependent baseline, or a (P,) per-parameter baseline.
    Notebooks/01_policy_gradient.ipynb §6, Exercise 1.4 (reward-to-go with a time baseline).
    """
    s = finite_array(scores, "scores", ndim=3)
    r = finite_array(rewards, "rewards", ndim=2)
    if r.shape != s.shape[:2]:
        raise ValueError(f"rewards has shape {r.shape}: must match scores' (N, T) = {s.shape[:2]}")
    b = finite_array(baseline, "baseline")
    T, P = s.shape[1:]
    try:
        ok = np.broadcast_shapes(b.shape, (T, P)) == (T, P)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"baseline has shape {b.shape}: allowed are (), (T, 1) = ({T}, 1) or (P,) = ({P},)")
    G = reward_to_go(r) if use_reward_to_go else np.repeat(r.sum(axis=1, keepdims=True), T, axis=1)
    return np.einsum("ntp,ntp->np", s, G[:, :, None] - b)


def optimal_baseline(scores, rewards) -> np.ndarray:
    """Per-parameter variance-minimising constant baseline for the whole-return estimator, shape (P,).

    b_k = E[g_k^2 R] / E[g_k^2] with g = sum_t score_t and R the return. Taught in 01_policy_gradient.ipynb.
    """
    s = finite_array(scores, "scores", ndim=3)
    r = finite_array(rewards, "rewards", ndim=2)
    if r.shape != s.shape[:2]:
        raise ValueError(f"rewards has shape {r.shape}: must match scores' (N, T) = {s.shape[:2]}")
    g2 = s.sum(axis=1) ** 2
    return (g2 * r.sum(axis=1, keepdims=True)).mean(axis=0) / g2.mean(axis=0)


def time_baseline(rewards) -> np.ndarray:
    """Average reward-to-go at each step, shape (T, 1): a time-dependent baseline (taught in 01_policy_gradient)."""
    r = finite_array(rewards, "rewards", ndim=2)
    return reward_to_go(r).mean(axis=0)[:, None]


@dataclass(frozen=True)
class GradientEstimate:
    mean: np.ndarray  # (P,) Monte-Carlo estimate of the gradient
    stderr: np.ndarray  # (P,) standard error of each component
    total_variance: float  # trace of the per-trajectory covariance (variance of ONE trajectory's estimate)
    n: int

    def z_scores(self, exact) -> np.ndarray:
        """(estimate - exact) / standard error, per component."""
        return (self.mean - np.ravel(exact)) / self.stderr


def summarize(samples) -> GradientEstimate:
    """Mean, standard errors and total variance of per-trajectory gradients (N, P), N >= 2."""
    x = finite_array(samples, "samples", ndim=2)
    if x.shape[0] < 2:
        raise ValueError(f"samples has {x.shape[0]} rows: need at least 2 trajectories for a variance")
    var = x.var(axis=0, ddof=1)
    return GradientEstimate(mean=x.mean(axis=0), stderr=np.sqrt(var / x.shape[0]), total_variance=float(var.sum()),
                            n=x.shape[0])


@dataclass(frozen=True)
class ErrorCurve:
    sizes: np.ndarray  # batch sizes N
    rms_error: np.ndarray  # sqrt(mean over repeats of ||g_N - grad J||^2)
    predicted: np.ndarray  # sqrt(total_variance / N), the 1/sqrt(N) law
    slope: float  # least-squares slope of log(rms_error) against log(N)


def mc_error_curve(task: LQTask, W, sizes, repeats: int, seed: int, use_reward_to_go: bool = False) -> ErrorCurve:
    """Error of the REINFORCE estimate against the exact gradient as the batch grows (01_policy_gradient)."""
    sizes = np.asarray(sizes)
    if sizes.ndim != 1 or sizes.size < 2 or not np.issubdtype(sizes.dtype, np.integer) or sizes.min() < 2:
        raise ValueError(f"sizes={sizes!r}: need at least two integer batch sizes, each >= 2")
    repeats = int_at_least(repeats, "repeats")
    seed = check_seed(seed)
    exact = exact_gradient(task, W).grad.ravel()
    big = sample_trajectories(task, W, int(sizes.max()), seed)
    total_var = summarize(per_trajectory_gradients(per_step_scores(big), big.rewards,
                                                   use_reward_to_go=use_reward_to_go)).total_variance
    rms = []
    for i, n in enumerate(sizes):
        errs = []
        for k in range(repeats):
            tr = sample_trajectories(task, W, int(n), seed + 1 + i * repeats + k)
            g = per_trajectory_gradients(per_step_scores(tr), tr.rewards, use_reward_to_go=use_reward_to_go)
            errs.append(np.sum((g.mean(axis=0) - exact) ** 2))
        rms.append(math.sqrt(np.mean(errs)))
    rms = np.array(rms)
    slope = float(np.polyfit(np.log(sizes), np.log(rms), 1)[0])
    return ErrorCurve(sizes=sizes, rms_error=rms, predicted=np.sqrt(total_var / sizes), slope=slope)


def reduce_gradient(per_step_terms, over_time: str = "sum", over_trajectories: str = "mean") -> np.ndarray:
    """Collapse per-step gradient terms (N, T, P) to one vector by summing or averaging each axis.

    The three common choices differ only by a positive factor (T, N). Taught in 01_policy_gradient.ipynb.
    """
    x = finite_array(per_step_terms, "per_step_terms", ndim=3)
    for name, how in (("over_time", over_time), ("over_trajectories", over_trajectories)):
        if how not in ("sum", "mean"):
            raise ValueError(f"{name}={how!r}: allowed are 'sum' or 'mean'")
    x = x.sum(axis=1) if over_time == "sum" else x.mean(axis=1)
    return x.sum(axis=0) if over_trajectories == "sum" else x.mean(axis=0)


# ----------------------------------------------------------------------------------------------- importance sampling
def is_weight_variance_exact(shift_over_sigma: float, horizon: int, action_dim: int = 1) -> float:
    """Var of the weight prod_t N(a_t; mu + delta, sigma^2 I) / N(a_t; mu, sigma^2 I), a_t ~ N(mu, sigma^2 I).

    Every action coordinate is shifted by delta_i = shift_over_sigma * sigma.

    log w is Gaussian with variance v = T d shift^2, so Var[w] = exp(v) - 1. Taught in 01_policy_gradient.ipynb.
    """
    x = float(shift_over_sigma)
    if not math.isfinite(x) or x < 0:
        raise ValueError(f"shift_over_sigma={shift_over_sigma!r}: must be a finite number >= 0")
    v = int_at_least(horizon, "horizon") * int_at_least(action_dim, "action_dim") * x * x
    return math.expm1(v) if v < 700 else math.inf


@dataclass(frozen=True)
class ISWeightStats:
    exact_variance: float
    sample_variance: float  # what you would measure from n_samples trajectories
    max_weight: float  # the largest ratio in the batch
    ess_fraction: float  # Kish effective sample size (sum w)^2 / sum w^2, divided by n_samples


def is_weight_stats(shift_over_sigma: float, horizon: int, action_dim: int, n_samples: int, seed: int) -> ISWeightStats:
    """Sample open-loop action sequences from N(0, I) and weight them for the shifted policy N(shift, I).

    Taught in notebooks/01_policy_gradient.ipynb.
    """
    exact = is_weight_variance_exact(shift_over_sigma, horizon, action_dim)
    n = int_at_least(n_samples, "n_samples", 2)
    rng = np.random.default_rng(check_seed(seed))
    x = float(shift_over_sigma)
    a = rng.standard_normal((n, horizon, action_dim))
    logw = np.sum(x * a - 0.5 * x * x, axis=(1, 2))
    w = np.exp(logw - logw.max())  # stable; rescale afterwards
    scale = math.exp(logw.max()) if logw.max() < 700 else math.inf
    ess = float(w.sum() ** 2 / np.sum(w * w)) / n
    with np.errstate(over="ignore", invalid="ignore"):
        sample_var = float(np.var(np.exp(logw), ddof=1))
    return ISWeightStats(exact_variance=exact, sample_variance=sample_var, max_weight=scale, ess_fraction=ess)


def trajectory_log_weights(states, actions, W_target, W_behaviour, sigma: float) -> np.ndarray:
    """log w(tau) = sum_t [log pi_target(a_t|s_t) - log pi_behaviour(a_t|s_t)] for linear-Gaussian policies.

    states (N, T, state_dim), actions (N, T, m) -> (N,). Taught in notebooks/01_policy_gradient.ipynb, §8
    (Exercise 1.4); the dynamics cancel in the ratio, so only the two policies' log-probabilities appear.
    """
    phi = lq_features(states)
    return (gaussian_log_prob(actions, phi @ finite_array(W_target, "W_target", ndim=2).T, sigma)
            - gaussian_log_prob(actions, phi @ finite_array(W_behaviour, "W_behaviour", ndim=2).T, sigma)).sum(axis=-1)


@dataclass(frozen=True)
class OffPolicyEstimate:
    estimate: GradientEstimate
    weights: np.ndarray  # (N,) trajectory importance weights p_target(tau) / p_behaviour(tau)


def off_policy_gradient(traj: Trajectories, W_target, baseline: float = 0.0) -> OffPolicyEstimate:
    """Gradient at W_target from trajectories of another policy: w(tau) * sum_t score_t(W_target) * (R(tau) - b).

    Taught in notebooks/01_policy_gradient.ipynb.
    """
    W_target = finite_array(W_target, "W_target", ndim=2)
    if W_target.shape != traj.W.shape:
        raise ValueError(f"W_target has shape {W_target.shape}: these trajectories need {traj.W.shape}")
    w = np.exp(trajectory_log_weights(traj.states, traj.actions, W_target, traj.W, traj.sigma))
    b = float(finite_array(baseline, "baseline", ndim=0))
    g = per_trajectory_gradients(per_step_scores(traj, W_target), traj.rewards, baseline=b) * w[:, None]
    return OffPolicyEstimate(estimate=summarize(g), weights=w)
