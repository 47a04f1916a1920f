"""Closed-loop rollouts of a policy in many copies of a task at once, and evaluation on fresh episodes.

Taught in notebooks/02_train_quadratic_agent.ipynb (training episodes) and notebooks/05_line_search_decompression.ipynb
(evaluation on fresh episodes). Rewards, terminations and forward velocities are exactly gymnasium's; the copies are
stepped on worker threads with ``sim.step``. Arguments are checked once at the call; ``skip_checks=True`` (as
``mujoco.rollout`` has it) also drops the per-step checks of the policy's output, for callers that checked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import mujoco
import numpy as np

from . import envs, sim
from .checks import check_seed, finite_array, int_at_least, non_negative_float


@dataclass(frozen=True)
class Rollouts:
    """N episodes of at most T steps of a policy; steps after an episode ended are masked out."""

    obs: np.ndarray  # (N, T, obs_dim)
    actions: np.ndarray  # (N, T, act_dim)
    rewards: np.ndarray  # (N, T), zero where masked
    mask: np.ndarray  # (N, T) bool: the step was taken
    forward_velocity: np.ndarray  # (N, T), zero where masked
    lengths: np.ndarray  # (N,)
    terminated: np.ndarray  # (N,) bool: ended by falling, not by the horizon

    @property
    def returns(self) -> np.ndarray:
        return self.rewards.sum(axis=1)

    @property
    def env_steps(self) -> int:
        return int(self.lengths.sum())


class EnvPool:
    """N copies of one task's MuJoCo state, stepped together on worker threads (``rollout``, ``evaluate``).

    Kept between rollouts so repeated rollouts don't rebuild anything.
    """

    def __init__(self, env_id: str, n_envs: int, n_threads: int | None = None):
        sim.check_env_id(env_id)
        n_envs = int_at_least(n_envs, "n_envs")
        n_threads = sim.default_threads() if n_threads is None else n_threads
        n_threads = int_at_least(n_threads, "n_threads")
        self.env_id = env_id
        model = sim.model_env(env_id).unwrapped.model
        self.datas = [mujoco.MjData(model) for _ in range(int(n_envs))]
        self.n_threads = min(int(n_threads), int(n_envs))

    def __len__(self):
        return len(self.datas)

    def close(self):
        self.datas = []


def rollout(
    pool: EnvPool,
    mean_fn: Callable[[np.ndarray], np.ndarray],
    horizon: int,
    seed: int,
    noise_std: float = 0.0,
    clip: bool = True,
    skip_checks: bool = False,
) -> Rollouts:
    """Run ``len(pool)`` episodes of at most ``horizon`` steps: a_t = mean_fn(s_t) + noise_std · N(0, I).

    ``mean_fn`` maps a batch of observations (n, obs_dim) to action means (n, act_dim). Env i starts from
    ``env.reset(seed=seed + i)``; the exploration noise comes from ``numpy.random.default_rng(seed)``.
    With ``clip`` (default) the env receives a_t clipped to the action box (as a robot's actuators would; MuJoCo
    clamps the controls anyway, but gymnasium's control cost charges the unclipped value: ``clip=False`` keeps
    that, as the original study did while training); ``Rollouts.actions`` holds the
    sampled, unclipped a_t whose log-probability the policy gradient needs. Rewards are exactly those of
    ``env.step(clip(a_t))`` (tests/test_core.py compares with a plain gymnasium loop). With ``skip_checks`` the
    arguments and each step's observations and means are not checked (a caller that checked them, in a hot loop).
    """
    if not skip_checks:
        horizon = int_at_least(horizon, "horizon")
        noise_std = non_negative_float(noise_std, "noise_std")
        seed = check_seed(seed)
        if not isinstance(pool, EnvPool):
            raise ValueError(f"pool={type(pool).__name__}: must be a rollouts.EnvPool")
        if not callable(mean_fn):
            raise ValueError(f"mean_fn={mean_fn!r}: must be a callable obs (n, obs_dim) -> means (n, act_dim)")
    # all envs step together, the ones still alive on worker threads
    horizon = int(horizon)
    rng = np.random.default_rng(seed)
    env_id = pool.env_id
    spec = envs.env_spec(env_id)
    N, T, d, k = len(pool), horizon, spec.obs_dim, spec.act_dim
    obs = np.zeros((N, T, d))
    actions = np.zeros((N, T, k))
    rewards = np.zeros((N, T))
    fwd = np.zeros((N, T))
    mask = np.zeros((N, T), dtype=bool)
    terminated = np.zeros(N, dtype=bool)
    starts = [envs.reset_state(env_id, seed + i) for i in range(N)]
    physics = np.stack([s.physics for s in starts])
    x = np.array([sim.load_state(env_id, data, s) for data, s in zip(pool.datas, starts)])
    current = sim.observations(env_id, physics)
    alive = np.ones(N, dtype=bool)
    after = np.empty_like(physics)
    x_after = np.empty(N)
    contact = np.zeros(N)

    def step_envs(idx, act):
        for j, i in zip(idx, act):
            x_after[j], contact[j] = sim.step(env_id, pool.datas[j], i, after[j])

    for t in range(T):
        idx = np.flatnonzero(alive)
        if idx.size == 0:
            break
        if not skip_checks:
            finite_array(current[idx], f"observations at step {t} (the simulation diverged)")
        mean = np.asarray(mean_fn(current[idx]), dtype=np.float64)
        if not skip_checks and (mean.shape != (idx.size, k) or not np.all(np.isfinite(mean))):
            raise ValueError(f"mean_fn returned shape {mean.shape} or non-finite values; expected ({idx.size}, {k})")
        act = mean + noise_std * rng.standard_normal(mean.shape)
        obs[idx, t], actions[idx, t], mask[idx, t] = current[idx], act, True
        parts = np.array_split(np.arange(idx.size), min(pool.n_threads, idx.size))
        sent = np.clip(act, spec.act_low, spec.act_high) if clip else act
        sim.WORKERS.map(step_envs, [(idx[p], sent[p]) for p in parts])
        step = sim.step_result(env_id, sent[:, None], np.stack([physics[idx], after[idx]], axis=1),
                               np.stack([x[idx], x_after[idx]], axis=1), contact[idx, None])
        rewards[idx, t] = step.reward[:, 0]
        fwd[idx, t] = step.forward_velocity[:, 0]
        physics[idx], x[idx], current[idx] = after[idx], x_after[idx], step.obs[:, 1]
        ended = idx[step.terminated[:, 0]]
        alive[ended] = False
        terminated[ended] = True
    return Rollouts(obs, actions, rewards, mask, fwd, mask.sum(axis=1), terminated)


@dataclass(frozen=True)
class Evaluation:
    """Return statistics of ``n_episodes`` evaluation episodes (see ``evaluate``)."""

    mean_return: float
    stderr: float
    mean_length: float
    mean_forward_velocity: float  # m/s, averaged over all steps taken
    returns: np.ndarray
    lengths: np.ndarray
    noise_std: float
    horizon: int

    def __str__(self):
        return (f"return {self.mean_return:.0f} ± {self.stderr:.0f} (n={len(self.returns)}, σ={self.noise_std:g}), "
                f"length {self.mean_length:.0f}/{self.horizon}, forward velocity {self.mean_forward_velocity:.2f} m/s")


def evaluate(
    env_id: str,
    mean_fn: Callable[[np.ndarray], np.ndarray],
    n_episodes: int = 20,
    horizon: int = 1000,
    seed: int = 10_000,
    noise_std: float = 0.0,
    pool: EnvPool | None = None,
) -> Evaluation:
    """Mean return ± standard error, episode length and forward velocity over ``n_episodes`` episodes."""
    n_episodes = int_at_least(n_episodes, "n_episodes")
    if pool is None:
        pool = EnvPool(env_id, n_episodes)
    elif pool.env_id != env_id or len(pool) != n_episodes:
        raise ValueError(f"pool is for {pool.env_id} × {len(pool)}; expected {env_id} × {n_episodes}")
    r = rollout(pool, mean_fn, horizon, seed, noise_std)
    returns = r.returns
    stderr = float(returns.std(ddof=1) / np.sqrt(len(returns))) if len(returns) > 1 else float("nan")
    velocity = float(r.forward_velocity.sum() / max(r.env_steps, 1))
    return Evaluation(float(returns.mean()), stderr, float(r.lengths.mean()), velocity, returns, r.lengths,
                      float(noise_std), int(horizon))
