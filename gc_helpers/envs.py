"""MuJoCo tasks: env specs, the reward's weights, start states and open-loop replay of action sequences.

Taught in notebooks/00_setup.ipynb (specs, replay) and used by every later notebook. ``MUJOCO_GL`` (headless
rendering) is set once, in the package's ``__init__``, before MuJoCo is first imported.

``replay`` plays a BATCH of open-loop action sequences from one saved MuJoCo state with ``sim.step`` on worker
threads. Observations match ``env.step`` bit for bit; so do the forward velocity, the healthy flag and the control
cost. Ant's small contact cost is recomputed from the replayed states. A policy acting closed-loop is
``rollouts.rollout``.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from . import sim
from .checks import check_seed, finite_array, int_at_least
from .sim import FULLPHYSICS, Replay, check_env_id, model_env


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
    u = model_env(check_env_id(env_id)).unwrapped
    z = getattr(u, "_healthy_z_range", None)
    return RewardWeights(forward=float(u._forward_reward_weight), healthy=float(getattr(u, "_healthy_reward", 0.0)),
                         ctrl=float(u._ctrl_cost_weight), contact=float(getattr(u, "_contact_cost_weight", 0.0)),
                         healthy_z_range=None if z is None else (float(z[0]), float(z[1])),
                         terminate_when_unhealthy=bool(getattr(u, "_terminate_when_unhealthy", False)))


def env_spec(env_id: str) -> EnvSpec:
    """The spec of a supported task."""
    env = model_env(check_env_id(env_id))
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
    env = model_env(check_env_id(env_id))
    with sim.ENV_LOCK:
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
    return sim.observations(env_id, p)


def check_start(start, name: str = "start") -> StartState:
    """``start`` if it is a StartState of a supported task whose physics, warm start and observation have the
    task's sizes and are finite (x_read may be NaN: recomputed from the state), else a ValueError naming it."""
    if not isinstance(start, StartState):
        raise ValueError(f"{name}={type(start).__name__}: must be an envs.StartState (envs.reset_state / advance)")
    spec = env_spec(check_env_id(start.env_id))
    nv = model_env(start.env_id).unwrapped.model.nv
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
        x[b, 0] = sim.load_state(env_id, data, start)
        for t in range(L):
            x[b, t + 1], contact[b, t] = sim.step(env_id, data, a[b, t], physics[b, t])
    return physics, x, contact, data.qacc_warmstart.copy()


def replay(start: StartState, actions, n_threads: int | None = None) -> Replay:
    """Replay a batch of action sequences (B, L, act_dim) open-loop from ``start``, on ``n_threads`` threads.

    Each action is held for frame_skip physics steps, exactly as ``env.step`` does: observations, rewards and
    their components match ``env.step`` bit for bit (tests/test_core.py).
    """
    env_id = check_start(start).env_id
    spec = env_spec(env_id)
    a = check_actions(actions, spec.act_dim)
    n_threads = sim.default_threads() if n_threads is None else n_threads
    n_threads = int_at_least(n_threads, "n_threads")
    B = a.shape[0]
    n = min(int(n_threads), B)
    datas = sim.WORKERS.get(env_id, n)
    parts = np.array_split(np.arange(B), n)
    results = sim.WORKERS.map(lambda d, idx: _play(env_id, d, start, a[idx]), [(datas[i], parts[i]) for i in range(n)])
    after = np.concatenate([r[0] for r in results])
    x = np.concatenate([r[1] for r in results])
    contact = np.concatenate([r[2] for r in results])
    physics = np.concatenate([np.broadcast_to(start.physics, (B, 1, spec.state_dim)), after], axis=1)
    return sim.step_result(env_id, a, physics, x, contact)


def advance(start: StartState, actions) -> StartState:
    """The state after playing ``actions`` (L, act_dim) from ``start``, warm start included (for chunked search)."""
    spec = env_spec(check_start(start).env_id)
    a = check_actions(actions, spec.act_dim, ndim=2)
    data = mujoco.MjData(model_env(start.env_id).unwrapped.model)
    physics, x, _, warm = _play(start.env_id, data, start, a[None])
    obs = sim.observations(start.env_id, physics[0, -1])
    return StartState(start.env_id, physics[0, -1], warm, obs, float(x[0, -1]))


_MOVED = {"rollout": "rollouts", "EnvPool": "rollouts", "evaluate": "rollouts", "Evaluation": "rollouts",
          "Rollouts": "rollouts", "make_env": "sim", "supported_env_ids": "sim", "default_threads": "sim",
          "_model_env": "sim.model_env"}


def __getattr__(name):
    """Names that lived here before: say where they are now (no re-export, so no import cycle)."""
    if name in _MOVED:
        raise AttributeError(f"gc_helpers.envs.{name} moved: use gc_helpers.{_MOVED[name]}"
                             + ("" if "." in _MOVED[name] else f".{name}"))
    raise AttributeError(f"module 'gc_helpers.envs' has no attribute {name!r}")
