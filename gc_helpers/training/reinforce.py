"""REINFORCE with a baseline and importance-sampled reuse of trajectories, keeping a checkpoint per iteration.

Taught in notebooks/02_train_quadratic_agent.ipynb, §2; the saved runs (data/runs/<name>/) are the targets that
notebooks 03–05 compress. ``train_reinforce`` reads top to bottom; the lines marked ``# ALGO:`` are the
algorithm, the rest is bookkeeping (``recorder.Recorder``).

One outer iteration:
1. sample ``n_envs`` episodes of at most ``horizon`` steps with the current policy (σ fixed), remembering
   log π_sample(a_t|s_t) for every step;
2. take up to ``inner_steps`` optimiser steps on that batch. Step k re-weights trajectory i by the importance
   ratio ρ_i = exp(Σ_t log π_θ(a_t|s_t) − Σ_t log π_sample(a_t|s_t)) (ρ = 1 on the first step). The inner loop
   stops as soon as the largest ratio exceeds ``stop_ratio`` (the study: 4e4) or falls below 1/stop_ratio
   (every trajectory has become unlikely: the self-normalised weights would be noise), and ratios are capped at
   ``ratio_cap`` (truncated importance sampling) before they weight the loss;
3. save a copy of the weights (the checkpoint).

Loss (``estimator="episode"``, the study's): L(θ) = −Σ_i ρ_i (G_i − b) · mean_t log π_θ(a_t|s_t) / Σ_i ρ_i with
G_i the undiscounted episode return and b = Σ ρ_i G_i / Σ ρ_i. ρ is a constant weight in the loss (detached):
ρ ∇ log π_θ(τ) = ∇ρ, so the gradient is the importance-sampled policy gradient.
``estimator="reward_to_go"`` replaces (G_i − b) by A_it = R_it − b_t (R_it = Σ_{t'≥t} γ^{t'−t} r_it', b_t the
ρ-weighted mean of R_·t over the episodes still alive at t) and averages Σ_t A_it log π over all steps.

The optimiser is a choice: SGD with momentum (the study) makes the weight change a sum of policy gradients;
Adam rescales each coordinate, so its weight change is much less compressible (notebooks/04_alpha_optimisation.ipynb).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from .. import envs, rollouts, sim
from ..checks import check_seed, finite_array, int_at_least
from ..policies import Normalizer, describe, make_policy
from .configs import BASELINES, ESTIMATORS, TrainConfig, in_range
from .recorder import Progress, Recorder
from .runs import Run

# ------------------------------------------------------------------------------------------------------------
# Reference functions: the pieces of one REINFORCE step (notebook exercises check students against these)


def reward_to_go(rewards: np.ndarray, mask: np.ndarray, gamma: float = 1.0, skip_checks: bool = False) -> np.ndarray:
    """R_it = Σ_{t'≥t} γ^{t'−t} r_it' over the steps of each episode, (N, T) (zero rewards where ``mask`` is False).
    ``skip_checks``: the caller checked the arguments.

    Taught in notebooks/02_train_quadratic_agent.ipynb, §2."""
    if not skip_checks:
        rewards = finite_array(rewards, "rewards", ndim=2)
        if np.shape(mask) != rewards.shape:
            raise ValueError(f"mask has shape {np.shape(mask)}; expected {rewards.shape} like rewards")
        in_range(gamma, "gamma", 0, 1)
    r = np.where(mask, rewards, 0.0)
    R = np.zeros_like(r)
    acc = np.zeros(r.shape[0])
    for t in range(r.shape[1] - 1, -1, -1):
        acc = r[:, t] + gamma * acc
        R[:, t] = acc
    return R


def episode_advantages(rewards: np.ndarray, mask: np.ndarray, rho: np.ndarray, baseline: str = "mean") -> np.ndarray:
    """A_it = G_i − b for every step of episode i, (N, T): G_i its return, b = Σ ρ_i G_i / Σ ρ_i ("mean") or 0.

    Taught in notebooks/02_train_quadratic_agent.ipynb, §2."""
    G = np.where(mask, rewards, 0.0).sum(axis=1, keepdims=True)
    w = np.asarray(rho, dtype=np.float64)[:, None]
    b = (w * G).sum() / w.sum() if baseline == "mean" else 0.0
    return np.where(mask, G - b, 0.0)


def reward_to_go_advantages(rewards: np.ndarray, mask: np.ndarray, rho: np.ndarray, gamma: float = 1.0,
                            baseline: str = "mean", skip_checks: bool = False) -> np.ndarray:
    """A_it = R_it − b_t, (N, T): b_t the ρ-weighted mean reward-to-go of the episodes alive at t ("mean") or 0.

    Taught in notebooks/02_train_quadratic_agent.ipynb, §2 REINFORCE with a baseline."""
    R = reward_to_go(rewards, mask, gamma, skip_checks=skip_checks)
    if baseline == "mean":
        wm = np.asarray(rho, dtype=np.float64)[:, None] * mask
        R = R - (wm * R).sum(axis=0) / np.maximum(wm.sum(axis=0), 1e-300)
    return np.where(mask, R, 0.0)


def advantages(rewards: np.ndarray, mask: np.ndarray, rho: np.ndarray, estimator: str = "episode",
               baseline: str = "mean", gamma: float = 1.0, normalize: bool = False) -> np.ndarray:
    """The weight A_it of log π(a_t|s_t) in the loss, (N, T), zero where ``mask`` is False: ``episode_advantages``
    or ``reward_to_go_advantages``, divided by their std over the steps if ``normalize``.

    Taught in notebooks/02_train_quadratic_agent.ipynb, §2."""
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator={estimator!r}: allowed: {', '.join(ESTIMATORS)}")
    if baseline not in BASELINES:
        raise ValueError(f"baseline={baseline!r}: allowed: {', '.join(BASELINES)}")
    if estimator == "episode":
        A = episode_advantages(rewards, mask, rho, baseline)
    else:
        A = reward_to_go_advantages(rewards, mask, rho, gamma, baseline)
    return np.where(mask, A / max(A[mask].std(), 1e-8), 0.0) if normalize else A


def importance_weights(logp_new: torch.Tensor, logp_old: torch.Tensor, ratio_cap: float) -> torch.Tensor:
    """Capped importance ratios ρ_i = min(exp(Σ_t log π_new − Σ_t log π_old), ratio_cap), one per episode.

    ``logp_new`` and ``logp_old`` are per-episode sums (N,). The result is detached (a weight, not a function of θ).
    Taught in notebooks/02_train_quadratic_agent.ipynb, §2."""
    in_range(ratio_cap, "ratio_cap", 1, math.inf)
    log_rho = (logp_new - logp_old).detach()
    return torch.exp(torch.clamp(log_rho, max=math.log(ratio_cap)))


def surrogate_loss(logp: torch.Tensor, mask: torch.Tensor, adv: torch.Tensor, rho: torch.Tensor,
                   estimator: str = "episode", skip_checks: bool = False) -> torch.Tensor:
    """The REINFORCE surrogate whose gradient is the (importance-sampled) policy gradient.

    logp, mask, adv: (N, T) per-step log π_θ, step mask, advantage; rho: (N,) detached importance weights.
    "episode" (the study): −Σ_i ρ_i Σ_t A_it log π_it / n_i / Σ ρ_i (n_i the episode's length: mean_t).
    "reward_to_go": −Σ_i ρ_i Σ_t A_it log π_it / Σ_i ρ_i n_i (every step counts the same).
    With ρ = 1 the "episode" loss is −mean_i (A_i · mean_t log π_it). ``skip_checks``: the caller checked.

    Taught in notebooks/02_train_quadratic_agent.ipynb, §2."""
    if not skip_checks:
        for name, t in (("logp", logp), ("mask", mask), ("adv", adv), ("rho", rho)):
            if not isinstance(t, torch.Tensor):
                raise ValueError(f"{name} is a {type(t).__name__}; expected a torch tensor")
        if logp.ndim != 2 or mask.shape != logp.shape or adv.shape != logp.shape:
            raise ValueError(f"logp, mask, adv have shapes {tuple(logp.shape)}, {tuple(mask.shape)}, "
                             f"{tuple(adv.shape)}; expected the same (N, T)")
        if rho.shape != logp.shape[:1] or not bool(torch.all(rho > 0)):
            raise ValueError(f"rho has shape {tuple(rho.shape)}; expected ({logp.shape[0]},) weights > 0")
        if estimator not in ESTIMATORS:
            raise ValueError(f"estimator={estimator!r}: allowed: {', '.join(ESTIMATORS)}")
    m = mask.to(logp.dtype)
    per_episode = (adv * logp * m).sum(dim=1)
    n = m.sum(dim=1).clamp(min=1)
    if estimator == "episode":
        return -(rho * per_episode / n).sum() / rho.sum()
    return -(rho * per_episode).sum() / (rho * n).sum()


# ------------------------------------------------------------------------------------------------------------
# Training


def fit_normalizer(env_id: str, n_episodes: int = 100, horizon: int = 100, seed: int = 0,
                   pool: rollouts.EnvPool | None = None) -> tuple[Normalizer, int]:
    """Observation mean/std from ``n_episodes`` uniform-random-action episodes of ``horizon`` steps (the study's
    recipe), and the env steps it took. ``n_episodes=0`` gives the identity normaliser.

    Taught in notebooks/02_train_quadratic_agent.ipynb, §1."""
    spec = envs.env_spec(sim.check_env_id(env_id))
    int_at_least(n_episodes, "n_episodes", 0)
    int_at_least(horizon, "horizon", 1)
    if n_episodes == 0:
        return Normalizer.identity(spec.obs_dim), 0
    rng = np.random.default_rng(check_seed(seed))
    pool = pool if pool is not None and len(pool) == n_episodes else rollouts.EnvPool(env_id, n_episodes)
    r = rollouts.rollout(pool, lambda obs: rng.uniform(spec.act_low, spec.act_high, (len(obs), spec.act_dim)),
                     horizon, seed=seed, noise_std=0.0)
    return Normalizer.fit(r.obs[r.mask]), r.env_steps


def _iteration_seed(seed: int, iteration: int, n_envs: int) -> int:
    """Env-reset / noise seed of an outer iteration: distinct per iteration, far from evaluate's seeds.
    Taught in notebooks/02_train_quadratic_agent.ipynb, §2 (same config, same weights)."""
    return 1_000_000 * (seed + 1) + iteration * n_envs


def train_reinforce(config: TrainConfig = TrainConfig(), callback: Callable[[Progress], object] | None = None,  # noqa: B008
                    pool: rollouts.EnvPool | None = None, verbose: bool = False, path=None,
                    save_every: int = 25) -> Run:
    """Train a Gaussian policy with REINFORCE (the module docstring); returns the Run (saved only with ``path``).

    ``callback(progress)`` is called after every outer iteration (a tqdm bar, a live plot); if it returns
    False, training stops there. Ctrl-C also stops training and returns what was done so far
    (``run.interrupted``). With ``path`` (a name under data/runs/ or a folder) the run is saved every
    ``save_every`` iterations and at the end. The same config (seed included) gives the same weights.

    Taught in notebooks/02_train_quadratic_agent.ipynb, §2."""
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config={config!r}: must be a TrainConfig")
    c = config
    with Recorder(c, callback, path, save_every, verbose=verbose) as rec:
        spec = envs.env_spec(c.env_id)
        normalizer, steps = fit_normalizer(c.env_id, c.norm_episodes, c.norm_horizon, seed=c.seed)
        policy = make_policy(c.policy_kind, spec.obs_dim, spec.act_dim, c.sigma, normalizer, hidden=c.hidden,
                             init=c.init, seed=c.seed)
        params = list(policy.parameters())
        if c.optimizer == "sgd":
            opt = torch.optim.SGD(params, lr=c.lr, momentum=c.momentum)
        else:
            opt = torch.optim.Adam(params, lr=c.lr, betas=c.betas)
        if pool is None or pool.env_id != c.env_id or len(pool) != c.n_envs:
            pool = rollouts.EnvPool(c.env_id, c.n_envs)
        rec.start(lambda: {**describe(policy), "sigma": c.sigma_trained}, policy.flat())

        for it in range(c.n_iterations):
            # ALGO: sample a batch of n_envs episodes with the current policy (σ fixed within the batch)
            sigma = c.sigma_at(it)
            policy.sigma = sigma
            r = rollouts.rollout(pool, policy.mean_fn(), c.horizon, _iteration_seed(c.seed, it, c.n_envs), sigma,
                             clip=c.clip_actions)
            steps += r.env_steps
            obs, act, mask = torch.as_tensor(r.obs), torch.as_tensor(r.actions), torch.as_tensor(r.mask)
            with torch.no_grad():
                logp_old = (policy.log_prob(obs, act) * mask).sum(dim=1)  # log π_sample(τ_i)

            n_inner, max_ratio, gnorm = 0, 1.0, 0.0
            for k in range(c.inner_steps):
                # ALGO: importance weights ρ_i = π_θ(τ_i) / π_sample(τ_i) (1 on the first step); stop if they blow up
                logp = policy.log_prob(obs, act)
                if k == 0:
                    rho = torch.ones(len(r.lengths), dtype=logp.dtype)
                else:
                    max_ratio = float(torch.exp(((logp * mask).sum(dim=1) - logp_old).detach().max()))
                    if not 1 / c.stop_ratio <= max_ratio <= c.stop_ratio:
                        break
                    rho = importance_weights((logp * mask).sum(dim=1), logp_old, c.ratio_cap)

                # ALGO: advantages (G_i − b, or the reward-to-go minus its baseline)
                adv = advantages(r.rewards, r.mask, rho.numpy(), c.estimator, c.baseline, c.gamma,
                                 c.normalize_advantages)

                # ALGO: loss and step
                loss = surrogate_loss(logp, mask, torch.as_tensor(adv), rho, c.estimator, skip_checks=True)
                opt.zero_grad()
                loss.backward()
                gnorm = float(torch.nn.utils.clip_grad_norm_(params, c.grad_clip if c.grad_clip else math.inf))
                opt.step()
                n_inner += 1

            rec.checkpoint(it + 1, policy.flat())
            if not rec.log(it + 1, steps, returns=r.returns.mean(), return_std=r.returns.std(),
                           lengths=r.lengths.mean(), forward_velocity=r.forward_velocity.sum() / max(r.env_steps, 1),
                           inner_steps=n_inner, max_ratio=max_ratio, grad_norm=gnorm, sigma=sigma):
                break
    return rec.run
