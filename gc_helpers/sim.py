"""One ``env.step`` of a MuJoCo task's physics on a bare MjData, exactly as gymnasium v5 does it: the task table,
one cached env per task (whose MjModel is stepped), loading a saved state, stepping, and the observation and reward
read from the states. The shared pieces of ``envs.replay`` (open loop) and ``rollouts.rollout`` (closed loop),
stepped on worker threads (one MjData each; ``mj_step`` releases the GIL). Taught in notebooks/00_setup.ipynb.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import gymnasium as gym
import mujoco
import numpy as np

from .checks import int_at_least

# env id -> (gymnasium kwargs, first qpos index kept in the observation, whether qvel is clipped to ±10)
TASKS: dict[str, tuple[dict, int, bool]] = {
    "Ant-v5": ({"include_cfrc_ext_in_observation": False}, 2, False),
    "HalfCheetah-v5": ({}, 1, False),
    "Hopper-v5": ({}, 1, True),
    "Walker2d-v5": ({}, 1, True),
    "Swimmer-v5": ({}, 2, False),
}
FULLPHYSICS = mujoco.mjtState.mjSTATE_FULLPHYSICS


def supported_env_ids() -> tuple[str, ...]:
    return tuple(TASKS)


def check_env_id(env_id) -> str:
    if env_id not in TASKS:
        raise ValueError(f"env_id={env_id!r} is not supported; allowed: {', '.join(TASKS)}")
    return env_id


def make_env(env_id: str, render_mode: str | None = None, max_episode_steps: int = 1000, **kwargs) -> gym.Env:
    """A gymnasium env for ``env_id`` with the project's options (Ant-v5: the 27-dim observation)."""
    check_env_id(env_id)
    max_episode_steps = int_at_least(max_episode_steps, "max_episode_steps")
    options = {**TASKS[env_id][0], **kwargs}
    env = gym.make(env_id, render_mode=render_mode, max_episode_steps=int(max_episode_steps), **options)
    if not isinstance(env.action_space, gym.spaces.Box):
        raise ValueError(f"env_id={env_id!r} has action space {env.action_space}; a Box action space is required")
    return env


_CACHE: dict[str, gym.Env] = {}
ENV_LOCK = threading.Lock()  # held while a cached env (model_env) is reset or read


def model_env(env_id: str) -> gym.Env:
    """One cached env per id, whose MjModel the replay uses."""
    with ENV_LOCK:
        if env_id not in _CACHE:
            _CACHE[env_id] = make_env(env_id)
        return _CACHE[env_id]


@dataclass(frozen=True)
class Replay:
    """Result of replaying B open-loop sequences of L actions (see ``replay``)."""

    obs: np.ndarray  # (B, L+1, obs_dim): obs[:, t] is the state in which actions[:, t] is taken
    physics: np.ndarray  # (B, L+1, state_dim)
    reward: np.ndarray  # (B, L) as env.step reports it (Ant: contact cost recomputed)
    forward_velocity: np.ndarray  # (B, L)
    healthy: np.ndarray  # (B, L) bool, after each step
    ctrl_cost: np.ndarray  # (B, L)
    contact_cost: np.ndarray  # (B, L)
    terminated: np.ndarray  # (B, L) bool: True from the first unhealthy step on


class _Workers:
    """One MjData per worker thread, kept per env id (mj_step releases the GIL, so threads run in parallel)."""

    def __init__(self):
        self.datas: dict[tuple[str, int], list] = {}
        self.pool = None

    def get(self, env_id, n):
        if (env_id, n) not in self.datas:
            model = model_env(env_id).unwrapped.model
            self.datas[(env_id, n)] = [mujoco.MjData(model) for _ in range(n)]
        return self.datas[(env_id, n)]

    def map(self, fn, jobs):
        if len(jobs) == 1:
            return [fn(*jobs[0])]
        from concurrent.futures import ThreadPoolExecutor

        if self.pool is None or self.pool._max_workers < len(jobs):
            self.pool = ThreadPoolExecutor(max_workers=len(jobs))
        return list(self.pool.map(lambda job: fn(*job), jobs))


WORKERS = _Workers()


def default_threads() -> int:
    """Worker threads for ``replay`` and closed-loop rollouts: ``GC_THREADS`` if set (a bench script that runs beside
    others sets 1), else the number of cores (at most 8)."""
    text = os.environ.get("GC_THREADS", "").strip()
    if text:
        if not text.isdigit() or int(text) < 1:
            raise ValueError(f"GC_THREADS={text!r}: a whole number of worker threads ≥ 1 (or unset: the core count)")
        return int(text)
    return max(1, min(os.cpu_count() or 1, 8))


def load_state(env_id, data, start) -> float:
    """Load ``start`` into ``data`` as ``env.reset`` leaves it; returns the x position the env reads."""
    model = model_env(env_id).unwrapped.model
    mujoco.mj_setState(model, data, start.physics, FULLPHYSICS)
    data.qacc_warmstart[:] = start.warmstart
    mujoco.mj_forward(model, data)
    return start.x_read if np.isfinite(start.x_read) else _x_position(env_id, data)


def _x_position(env_id, data) -> float:
    # Ant measures the torso's xpos, which after an RK4 mj_step holds its last stage's kinematics.
    return float(data.xpos[1, 0]) if env_id == "Ant-v5" else float(data.qpos[0])


def step(env_id, data, action, physics_out) -> tuple[float, float]:
    """One ``env.step`` of physics on ``data``: writes the new state into ``physics_out``; returns the x
    position the env reads and (Ant) the sum of clipped squared contact forces."""
    u = model_env(env_id).unwrapped
    data.ctrl[:] = action
    mujoco.mj_step(u.model, data, nstep=u.frame_skip)
    mujoco.mj_rnePostConstraint(u.model, data)
    mujoco.mj_getState(u.model, data, physics_out, FULLPHYSICS)
    contact = 0.0
    if env_id == "Ant-v5":
        lo, hi = u._contact_force_range
        contact = float(np.sum(np.clip(data.cfrc_ext, lo, hi) ** 2))
    return _x_position(env_id, data), contact


def observations(env_id: str, physics: np.ndarray) -> np.ndarray:
    """Observations from full-physics states (..., state_dim), as the env computes them (no checks)."""
    model = model_env(env_id).unwrapped.model
    _, first, clip = TASKS[env_id]
    qpos = physics[..., 1 : 1 + model.nq]
    qvel = physics[..., 1 + model.nq : 1 + model.nq + model.nv]
    if clip:
        qvel = np.clip(qvel, -10.0, 10.0)
    return np.concatenate([qpos[..., first:], qvel], axis=-1)


def step_result(env_id, a, physics, x, contact) -> Replay:
    """Rewards and their components from replayed states, with gymnasium's v5 definitions."""
    u = model_env(env_id).unwrapped
    forward_velocity = (x[:, 1:] - x[:, :-1]) / u.dt
    ctrl_cost = u._ctrl_cost_weight * np.sum(a**2, axis=-1)
    contact_cost = u._contact_cost_weight * contact if env_id == "Ant-v5" else np.zeros_like(ctrl_cost)
    healthy = np.ones(ctrl_cost.shape, dtype=bool)
    alive = np.zeros_like(ctrl_cost)
    if hasattr(u, "_healthy_reward"):
        healthy = np.array([[type(u).is_healthy.fget(_StateView(u, s)) for s in row] for row in physics[:, 1:]])
        alive = np.where(healthy | (not u._terminate_when_unhealthy), u._healthy_reward, 0.0)
    # the same order of operations as gymnasium's _get_rew, so rewards agree bit for bit
    reward = (u._forward_reward_weight * forward_velocity + alive) - (ctrl_cost + contact_cost)
    terminate = getattr(u, "_terminate_when_unhealthy", False)
    terminated = np.logical_or.accumulate(~healthy, axis=1) if terminate else np.zeros_like(healthy)
    obs = observations(env_id, physics)
    return Replay(obs, physics, reward, forward_velocity, healthy, ctrl_cost, contact_cost, terminated)


class _StateView:
    """Lets an env's own ``is_healthy`` read qpos/qvel from a saved state instead of its live MjData."""

    def __init__(self, u, physics):
        self._u = u
        nq, nv = u.model.nq, u.model.nv
        self.data = type("StateData", (), {"qpos": physics[1 : 1 + nq], "qvel": physics[1 + nq : 1 + nq + nv]})()

    def state_vector(self):
        return np.concatenate([self.data.qpos, self.data.qvel])

    def __getattr__(self, name):
        return getattr(self._u, name)


