"""MuJoCo tasks: env specs, seeding, start states and open-loop replay of action sequences.

Taught in notebooks/00_setup.ipynb (specs, replay) and used by every later notebook. ``MUJOCO_GL`` (headless
rendering) is set once, in the package's ``__init__``, before MuJoCo is first imported.

Two ways to run a task:
- ``replay`` (here): a BATCH of open-loop action sequences from one saved MuJoCo state, stepped with ``mj_step`` on
  worker threads (one MjData each; ``mj_step`` releases the GIL). Observations match ``env.step`` bit for bit; so
  do the forward velocity, the healthy flag and the control cost. Ant's small contact cost is recomputed from the
  replayed states.
- ``rollout`` (``gc_helpers.rollouts``, re-exported here): a policy acting closed-loop in many envs at once (exact
  rewards), used for training and evaluation.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import gymnasium as gym
import mujoco
import numpy as np

from .checks import check_seed, finite_array, int_at_least

# env id -> (gymnasium kwargs, first qpos index kept in the observation, whether qvel is clipped to ±10)
_TASKS: dict[str, tuple[dict, int, bool]] = {
    "Ant-v5": ({"include_cfrc_ext_in_observation": False}, 2, False),
    "HalfCheetah-v5": ({}, 1, False),
    "Hopper-v5": ({}, 1, True),
    "Walker2d-v5": ({}, 1, True),
    "Swimmer-v5": ({}, 2, False),
}
FULLPHYSICS = mujoco.mjtState.mjSTATE_FULLPHYSICS


@dataclass(frozen=True)
class EnvSpec:
    """What the helpers need to know about a task (see ``env_spec``)."""

    env_id: str
    obs_dim: int
    act_dim: int
    frame_skip: int
    dt: float
    state_dim: int
    act_low: float
    act_high: float


def supported_env_ids() -> tuple[str, ...]:
    return tuple(_TASKS)


def check_env_id(env_id) -> str:
    if env_id not in _TASKS:
        raise ValueError(f"env_id={env_id!r} is not supported; allowed: {', '.join(_TASKS)}")
    return env_id


def make_env(env_id: str, render_mode: str | None = None, max_episode_steps: int = 1000, **kwargs) -> gym.Env:
    """A gymnasium env for ``env_id`` with the project's options (Ant-v5: the 27-dim observation)."""
    check_env_id(env_id)
    max_episode_steps = int_at_least(max_episode_steps, "max_episode_steps")
    options = {**_TASKS[env_id][0], **kwargs}
    env = gym.make(env_id, render_mode=render_mode, max_episode_steps=int(max_episode_steps), **options)
    if not isinstance(env.action_space, gym.spaces.Box):
        raise ValueError(f"env_id={env_id!r} has action space {env.action_space}; a Box action space is required")
    return env


@dataclass(frozen=True)
class RewardWeights:
    """The terms of a task's reward (gymnasium v5): forward · velocity + healthy (per healthy step) − ctrl · Σ a²
    − contact · Σ (clipped contact forces)²; healthy while the torso height is in ``healthy_z_range``."""

    forward: float
    healthy: float
    ctrl: float
    contact: float
    healthy_z_range: tuple[float, float] | None
    terminate_when_unhealthy: bool


def reward_weights(env_id: str) -> RewardWeights:
    """The reward's weights of a supported task (notebook 00 §2 computes Ant's reward from them); a task without a
    healthy bonus or contact cost has 0 there."""
    u = _model_env(check_env_id(env_id)).unwrapped
    z = getattr(u, "_healthy_z_range", None)
    return RewardWeights(forward=float(u._forward_reward_weight), healthy=float(getattr(u, "_healthy_reward", 0.0)),
                         ctrl=float(u._ctrl_cost_weight), contact=float(getattr(u, "_contact_cost_weight", 0.0)),
                         healthy_z_range=None if z is None else (float(z[0]), float(z[1])),
                         terminate_when_unhealthy=bool(getattr(u, "_terminate_when_unhealthy", False)))


_CACHE: dict[str, gym.Env] = {}
_LOCK = threading.Lock()


def _model_env(env_id: str) -> gym.Env:
    """One cached env per id, whose MjModel the replay uses."""
    with _LOCK:
        if env_id not in _CACHE:
            _CACHE[env_id] = make_env(env_id)
        return _CACHE[env_id]


def env_spec(env_id: str) -> EnvSpec:
    """The spec of a supported task."""
    env = _model_env(check_env_id(env_id))
    u = env.unwrapped
    return EnvSpec(
        env_id=env_id,
        obs_dim=int(env.observation_space.shape[0]),
        act_dim=int(env.action_space.shape[0]),
        frame_skip=int(u.frame_skip),
        dt=float(u.dt),
        state_dim=int(mujoco.mj_stateSize(u.model, FULLPHYSICS)),
        act_low=float(env.action_space.low.min()),
        act_high=float(env.action_space.high.max()),
    )


@dataclass(frozen=True)
class StartState:
    """A saved MuJoCo state to replay from: full physics state, the solver warm start and the x position the
    env will read as "before" on the next step (Ant reads the torso's xpos left by the last RK4 stage)."""

    env_id: str
    physics: np.ndarray  # (state_dim,)
    warmstart: np.ndarray  # (nv,) qacc_warmstart
    obs: np.ndarray  # (obs_dim,)
    x_read: float = float("nan")  # NaN: recompute from the state (right after a reset)


def reset_state(env_id: str, seed: int) -> StartState:
    """The state ``env.reset(seed=seed)`` starts from."""
    env = _model_env(check_env_id(env_id))
    with _LOCK:
        obs, _ = env.reset(seed=check_seed(seed))
        u = env.unwrapped
        physics = np.empty(mujoco.mj_stateSize(u.model, FULLPHYSICS))
        mujoco.mj_getState(u.model, u.data, physics, FULLPHYSICS)
        return StartState(env_id, physics, u.data.qacc_warmstart.copy(), np.asarray(obs, dtype=np.float64))


def obs_from_physics(env_id: str, physics) -> np.ndarray:
    """Observations from full physics states (..., state_dim) -> (..., obs_dim), as the env computes them."""
    state_dim = env_spec(check_env_id(env_id)).state_dim
    p = finite_array(physics, "physics")
    if p.shape[-1] != state_dim:
        raise ValueError(f"physics has shape {p.shape}; expected (..., {state_dim}) full-physics states of {env_id}")
    return _observations(env_id, p)


def _observations(env_id: str, physics: np.ndarray) -> np.ndarray:
    model = _model_env(env_id).unwrapped.model
    _, first, clip = _TASKS[env_id]
    qpos = physics[..., 1 : 1 + model.nq]
    qvel = physics[..., 1 + model.nq : 1 + model.nq + model.nv]
    if clip:
        qvel = np.clip(qvel, -10.0, 10.0)
    return np.concatenate([qpos[..., first:], qvel], axis=-1)


def check_start(start, name: str = "start") -> StartState:
    """``start`` if it is a StartState of a supported task whose physics, warm start and observation have the
    task's sizes and are finite (x_read may be NaN: recomputed from the state), else a ValueError naming it."""
    if not isinstance(start, StartState):
        raise ValueError(f"{name}={type(start).__name__}: must be an envs.StartState (envs.reset_state / advance)")
    spec = env_spec(check_env_id(start.env_id))
    nv = _model_env(start.env_id).unwrapped.model.nv
    for field, size in (("physics", spec.state_dim), ("warmstart", nv), ("obs", spec.obs_dim)):
        value = finite_array(getattr(start, field), f"{name}.{field}", ndim=1)
        if value.size != size:
            raise ValueError(f"{name}.{field} has shape {value.shape}; expected ({size},) for {start.env_id}")
    if np.isinf(start.x_read):
        raise ValueError(f"{name}.x_read={start.x_read!r}: must be finite (or NaN: recompute it from the state)")
    return start


def check_actions(actions, act_dim: int, name: str = "actions", ndim: int = 3) -> np.ndarray:
    """Float64 array of shape (..., act_dim) with ``ndim`` dims and only finite values, or a ValueError."""
    a = np.asarray(actions, dtype=np.float64)
    if a.ndim == ndim - 1:
        a = a[None]
    if a.ndim != ndim or a.shape[-1] != act_dim or 0 in a.shape:
        want = "(batch, horizon, act_dim)" if ndim == 3 else "(horizon, act_dim)"
        raise ValueError(f"{name} has shape {np.shape(actions)}; expected {want} with act_dim={act_dim}")
    return finite_array(a, name)


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
            model = _model_env(env_id).unwrapped.model
            self.datas[(env_id, n)] = [mujoco.MjData(model) for _ in range(n)]
        return self.datas[(env_id, n)]

    def map(self, fn, jobs):
        if len(jobs) == 1:
            return [fn(*jobs[0])]
        from concurrent.futures import ThreadPoolExecutor

        if self.pool is None or self.pool._max_workers < len(jobs):
            self.pool = ThreadPoolExecutor(max_workers=len(jobs))
        return list(self.pool.map(lambda job: fn(*job), jobs))


_WORKERS = _Workers()


def default_threads() -> int:
    """Worker threads for ``replay`` and closed-loop rollouts: ``GC_THREADS`` if set (a bench script that runs beside
    others sets 1), else the number of cores (at most 8)."""
    text = os.environ.get("GC_THREADS", "").strip()
    if text:
        if not text.isdigit() or int(text) < 1:
            raise ValueError(f"GC_THREADS={text!r}: a whole number of worker threads ≥ 1 (or unset: the core count)")
        return int(text)
    return max(1, min(os.cpu_count() or 1, 8))


def _begin(env_id, data, start: StartState) -> float:
    """Load ``start`` into ``data`` as ``env.reset`` leaves it; returns the x position the env reads."""
    model = _model_env(env_id).unwrapped.model
    mujoco.mj_setState(model, data, start.physics, FULLPHYSICS)
    data.qacc_warmstart[:] = start.warmstart
    mujoco.mj_forward(model, data)
    return start.x_read if np.isfinite(start.x_read) else _x_position(env_id, data)


def _x_position(env_id, data) -> float:
    # Ant measures the torso's xpos, which after an RK4 mj_step holds its last stage's kinematics.
    return float(data.xpos[1, 0]) if env_id == "Ant-v5" else float(data.qpos[0])


def _step(env_id, data, action, physics_out) -> tuple[float, float]:
    """One ``env.step`` of physics on ``data``: writes the new state into ``physics_out``; returns the x
    position the env reads and (Ant) the sum of clipped squared contact forces."""
    u = _model_env(env_id).unwrapped
    data.ctrl[:] = action
    mujoco.mj_step(u.model, data, nstep=u.frame_skip)
    mujoco.mj_rnePostConstraint(u.model, data)
    mujoco.mj_getState(u.model, data, physics_out, FULLPHYSICS)
    contact = 0.0
    if env_id == "Ant-v5":
        lo, hi = u._contact_force_range
        contact = float(np.sum(np.clip(data.cfrc_ext, lo, hi) ** 2))
    return _x_position(env_id, data), contact


def _play(env_id, data, start: StartState, a: np.ndarray):
    """Step one MjData through action sequences a (n, L, k) from ``start`` exactly as ``env.step`` does.

    Returns physics after each step (n, L, state_dim), the x position the env reads before/after each step
    (n, L+1), Ant's clipped squared contact forces (n, L) and the final warm start.
    """
    n, L, _ = a.shape
    physics = np.empty((n, L, start.physics.size))
    x = np.empty((n, L + 1))
    contact = np.zeros((n, L))
    for b in range(n):
        x[b, 0] = _begin(env_id, data, start)
        for t in range(L):
            x[b, t + 1], contact[b, t] = _step(env_id, data, a[b, t], physics[b, t])
    return physics, x, contact, data.qacc_warmstart.copy()


def replay(start: StartState, actions, n_threads: int | None = None) -> Replay:
    """Replay a batch of action sequences (B, L, act_dim) open-loop from ``start``, on ``n_threads`` threads.

    Each action is held for frame_skip physics steps, exactly as ``env.step`` does: observations, rewards and
    their components match ``env.step`` bit for bit (tests/test_core.py).
    """
    env_id = check_start(start).env_id
    spec = env_spec(env_id)
    a = check_actions(actions, spec.act_dim)
    n_threads = default_threads() if n_threads is None else n_threads
    n_threads = int_at_least(n_threads, "n_threads")
    B = a.shape[0]
    n = min(int(n_threads), B)
    datas = _WORKERS.get(env_id, n)
    parts = np.array_split(np.arange(B), n)
    results = _WORKERS.map(lambda d, idx: _play(env_id, d, start, a[idx]), [(datas[i], parts[i]) for i in range(n)])
    after = np.concatenate([r[0] for r in results])
    x = np.concatenate([r[1] for r in results])
    contact = np.concatenate([r[2] for r in results])
    physics = np.concatenate([np.broadcast_to(start.physics, (B, 1, spec.state_dim)), after], axis=1)
    return _replay_result(env_id, a, physics, x, contact)


def _replay_result(env_id, a, physics, x, contact) -> Replay:
    """Rewards and their components from replayed states, with gymnasium's v5 definitions."""
    u = _model_env(env_id).unwrapped
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
    obs = _observations(env_id, physics)
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


def advance(start: StartState, actions) -> StartState:
    """The state after playing ``actions`` (L, act_dim) from ``start``, warm start included (for chunked search)."""
    spec = env_spec(check_start(start).env_id)
    a = check_actions(actions, spec.act_dim, ndim=2)
    data = mujoco.MjData(_model_env(start.env_id).unwrapped.model)
    physics, x, _, warm = _play(start.env_id, data, start, a[None])
    obs = _observations(start.env_id, physics[0, -1])
    return StartState(start.env_id, physics[0, -1], warm, obs, float(x[0, -1]))


_ROLLOUT_NAMES = ("EnvPool", "Evaluation", "Rollouts", "evaluate", "rollout")


def __getattr__(name):
    """Closed-loop rollouts and evaluation live in ``gc_helpers.rollouts``; ``envs.rollout`` etc. still work."""
    if name in _ROLLOUT_NAMES:
        from . import rollouts

        return getattr(rollouts, name)
    raise AttributeError(f"module 'gc_helpers.envs' has no attribute {name!r}")
