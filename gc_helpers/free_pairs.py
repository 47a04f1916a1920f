"""The ladder of manufactured datasets: four ways to write L state-action pairs, from today's trajectory to HaDES.

Taught in notebooks/08_which_constraint.ipynb (§1 the four rungs, §2 behaviour cloning in closed form).

Every rung turns a search vector u ∈ [-1, 1]^n (what the evolution strategy of ``gc_helpers.ladder_search`` moves)
into L pairs and the policy they teach, a kernel machine at the untrained weights w_first = 0 (notebook 07 §1):

    μ(s) = Σ_t c_t ⟨φ(s_t), φ(s)⟩,   the weights W = Σ_t c_t ⊗ φ(s_t) = ``fewest_pairs.kernel_direction``.

1. ``reset_traj``: L actions played open-loop from the standing reset state; the states are the ones the actions
   reach, the coefficients are tied to the actions, c_t = α_t a_t / k(s_t, s_t) (α_t searched: α_t = 1 makes the
   policy play a_t at s_t if the other pairs did not interfere).
2. ``start_traj``: the same from a SEARCHED physical start state (``StateLimits``: torso height in the healthy
   range, a unit quaternion, joint angles in the model's ranges, bounded velocities).
3. ``free_states``: L physical states, each within the limits but not reached by any action, and L free actions;
   the coefficients are behaviour cloning's, c = (K + λI)⁻¹ A with λ = ridge · L (``bc_coefficients``).
4. ``free_obs`` (HaDES): L free observation vectors (within ``OBS_SCALE`` normaliser standard deviations of the
   run's observation mean) and L free actions, cloned the same way.

So the rungs free, one at a time, the start state (1 → 2), the states and the tie between coefficients and actions
(2 → 3), and physical validity (3 → 4). A physical state is written like Ant's observation (27 numbers): torso
height, orientation quaternion (w, x, y, z), 8 joint angles, then the 14 velocities.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from . import envs, sim
from .checks import finite_array, non_negative_float
from .fewest_pairs import check_length, kernel_direction
from .policies import GaussianPolicy
from .sim import model_env

ENV_ID = "Ant-v5"
RUNGS = {1: "reset_traj", 2: "start_traj", 3: "free_states", 4: "free_obs"}
ALPHA_SCALE = 2.0  # α_t = ALPHA_SCALE · u_t for the trajectory rungs
OBS_SCALE = 4.0  # a free observation is normaliser mean + OBS_SCALE · std · u (u ∈ [-1, 1])
RIDGE = 1e-3  # behaviour cloning's ridge per pair (the same as behaviour_cloning.behaviour_cloning's default)
STATE_DIM = 27  # z, quaternion (4), 8 joint angles, 14 velocities: Ant's observation
_QUAT = slice(1, 5)
_JOINTS = slice(5, 13)
_VEL = slice(13, 27)
_UNIT = np.array([1.0, 0.0, 0.0, 0.0])


# ------------------------------------------------------------------------------------------------------------
# Physical states within the model's limits


@dataclass(frozen=True)
class StateLimits:
    """What a valid Ant state may be (notebook 08 §1): torso height in [z_low, z_high] (the healthy range), joint
    angles in [joint_low, joint_high] (the model's ranges), every velocity within ±max_velocity, a unit quaternion."""

    z_low: float
    z_high: float
    joint_low: np.ndarray
    joint_high: np.ndarray
    max_velocity: float


def state_limits(env_id: str = ENV_ID, max_velocity: float = 10.0) -> StateLimits:
    """The limits read from the MuJoCo model (hinge joints' ranges) and the task's healthy height range."""
    if env_id != ENV_ID:
        raise ValueError(f"env_id={env_id!r}: the ladder's state layout is Ant-v5's")
    model = model_env(env_id).unwrapped.model
    hinge = np.flatnonzero(model.jnt_type == mujoco.mjtJoint.mjJNT_HINGE)
    z = envs.reward_weights(env_id).healthy_z_range
    v = non_negative_float(max_velocity, "max_velocity")
    if v == 0:
        raise ValueError("max_velocity=0: must be > 0")
    return StateLimits(float(z[0]), float(z[1]), model.jnt_range[hinge, 0].copy(), model.jnt_range[hinge, 1].copy(), v)


def valid_states(states, limits: StateLimits, name: str = "states", atol: float = 1e-9) -> np.ndarray:
    """``states`` (n, 27) or (27,) as float64 if every one is a valid physical state, else a ValueError naming
    ``name``, the first bad state and the limit it breaks."""
    s = finite_array(states, name)
    flat = s.reshape(-1, s.shape[-1]) if s.ndim else s
    if s.ndim not in (1, 2) or s.shape[-1] != STATE_DIM:
        raise ValueError(f"{name} has shape {s.shape}; expected (n, {STATE_DIM}) or ({STATE_DIM},) physical states")
    lim = limits
    for i, x in enumerate(flat):
        where = f"{name}[{i}]" if s.ndim == 2 else name
        if not lim.z_low - atol <= x[0] <= lim.z_high + atol:
            raise ValueError(f"{where}: torso height {x[0]:.4g} outside the healthy range [{lim.z_low}, {lim.z_high}]")
        if abs(np.linalg.norm(x[_QUAT]) - 1) > 1e-6:
            raise ValueError(f"{where}: orientation {x[_QUAT]} is not a unit quaternion")
        j = x[_JOINTS]
        bad = np.flatnonzero((j < lim.joint_low - atol) | (j > lim.joint_high + atol))
        if bad.size:
            k = int(bad[0])
            raise ValueError(f"{where}: joint {k} angle {j[k]:.4g} outside the model's range "
                             f"[{lim.joint_low[k]:.4g}, {lim.joint_high[k]:.4g}]")
        if np.max(np.abs(x[_VEL])) > lim.max_velocity + atol:
            top = np.max(np.abs(x[_VEL]))
            raise ValueError(f"{where}: a velocity {top:.4g} exceeds max_velocity={lim.max_velocity}")
    return s


def decode_states(u, limits: StateLimits) -> np.ndarray:
    """Search coordinates u (..., 27) in [-1, 1] (clipped) → physical states within ``limits``: height, joints and
    velocities map linearly onto their ranges; the quaternion is (1, 0, 0, 0) + 2u normalised (upright at u = 0)."""
    u = np.clip(np.asarray(u, dtype=np.float64), -1.0, 1.0)
    lim = limits
    out = np.empty_like(u)
    out[..., 0] = 0.5 * (lim.z_low + lim.z_high) + 0.5 * (lim.z_high - lim.z_low) * u[..., 0]
    q = _UNIT + 2.0 * u[..., _QUAT]
    n = np.linalg.norm(q, axis=-1, keepdims=True)
    out[..., _QUAT] = np.where(n > 1e-9, q / np.maximum(n, 1e-9), _UNIT)
    mid, half = 0.5 * (lim.joint_low + lim.joint_high), 0.5 * (lim.joint_high - lim.joint_low)
    out[..., _JOINTS] = mid + half * u[..., _JOINTS]
    out[..., _VEL] = lim.max_velocity * u[..., _VEL]
    return out


def clip_states(states, limits: StateLimits) -> np.ndarray:
    """``states`` (..., 27) moved into ``limits``: height, joint angles and velocities clipped to their ranges, the
    quaternion normalised. A state the simulator reached can sit just past a joint's range (MuJoCo's joint limits
    are soft); this is the nearest valid state (notebook 08 §8: an expert dataset written as a rung-3 point)."""
    s = np.array(finite_array(states, "states"), dtype=np.float64)
    if s.shape[-1] != STATE_DIM:
        raise ValueError(f"states has shape {s.shape}; expected (..., {STATE_DIM}) physical states")
    lim = limits
    s[..., 0] = np.clip(s[..., 0], lim.z_low, lim.z_high)
    s[..., _QUAT] /= np.linalg.norm(s[..., _QUAT], axis=-1, keepdims=True)
    s[..., _JOINTS] = np.clip(s[..., _JOINTS], lim.joint_low, lim.joint_high)
    s[..., _VEL] = np.clip(s[..., _VEL], -lim.max_velocity, lim.max_velocity)
    return s


def encode_states(states, limits: StateLimits) -> np.ndarray:
    """The inverse of ``decode_states`` for valid states (``valid_states``): search coordinates in [-1, 1]."""
    s = valid_states(states, limits)
    lim = limits
    u = np.empty_like(s)
    u[..., 0] = (s[..., 0] - 0.5 * (lim.z_low + lim.z_high)) / (0.5 * (lim.z_high - lim.z_low))
    u[..., _QUAT] = (s[..., _QUAT] - _UNIT) / 2.0
    mid, half = 0.5 * (lim.joint_low + lim.joint_high), 0.5 * (lim.joint_high - lim.joint_low)
    u[..., _JOINTS] = (s[..., _JOINTS] - mid) / half
    u[..., _VEL] = s[..., _VEL] / lim.max_velocity
    return np.clip(u, -1.0, 1.0)


def start_from_state(state, limits: StateLimits, env_id: str = ENV_ID) -> envs.StartState:
    """An ``envs.StartState`` at x = y = 0 with the physical ``state`` (27,) (checked against ``limits``)."""
    s = valid_states(state, limits, "start")
    if s.ndim != 1:
        raise ValueError(f"start has shape {s.shape}; expected ({STATE_DIM},)")
    model = model_env(env_id).unwrapped.model
    data = mujoco.MjData(model)
    data.qpos[:] = np.concatenate([[0.0, 0.0], s[:13]])
    data.qvel[:] = s[13:]
    mujoco.mj_forward(model, data)
    physics = np.empty(mujoco.mj_stateSize(model, sim.FULLPHYSICS))
    mujoco.mj_getState(model, data, physics, sim.FULLPHYSICS)
    return envs.StartState(env_id, physics, np.zeros(model.nv), envs.obs_from_physics(env_id, physics))


# ------------------------------------------------------------------------------------------------------------
# §2 Behaviour cloning in closed form (the kernel view)


def bc_coefficients(policy: GaussianPolicy, obs, actions, ridge: float = RIDGE) -> np.ndarray:
    """c = (K + λ I)⁻¹ A with K_ij = ⟨φ(s_i), φ(s_j)⟩ and λ = ridge · L: ridge regression of the actions on the
    features, written on the L pairs instead of the F features (notebook 08 §2). The weights Σ_t c_t ⊗ φ(s_t) equal
    ``behaviour_cloning.behaviour_cloning``'s (ΦᵀΦ + λI)⁻¹ΦᵀA because Φᵀ(ΦΦᵀ + λI)⁻¹ = (ΦᵀΦ + λI)⁻¹Φᵀ."""
    o = finite_array(obs, "obs", ndim=2)
    a = finite_array(actions, "actions", ndim=2)
    if len(o) != len(a) or len(o) < 1:
        raise ValueError(f"obs ({len(o)} rows) and actions ({len(a)} rows) must hold the same L ≥ 1 pairs")
    return ridge_coefficients(policy.features(o).numpy(), a, ridge)


def ridge_coefficients(phi, actions, ridge: float = RIDGE) -> np.ndarray:
    """The core line of ``bc_coefficients`` on features phi (L, F): C = (ΦΦᵀ + ridge · L · I)⁻¹ A, (L, k).
    Notebook 08 §2 derives it (exercise 7.1)."""
    phi = finite_array(phi, "phi", ndim=2)
    a = finite_array(actions, "actions", ndim=2)
    if len(phi) != len(a):
        raise ValueError(f"phi ({len(phi)} rows) and actions ({len(a)} rows) must hold the same L pairs")
    lam = non_negative_float(ridge, "ridge") * len(phi)
    return np.linalg.solve(phi @ phi.T + lam * np.eye(len(phi)), a)


def trajectory_coefficients(policy: GaussianPolicy, obs, actions, alpha) -> np.ndarray:
    """c_t = α_t a_t / k(s_t, s_t): the coefficients of a trajectory rung, tied to the actions (notebook 08 §1)."""
    o = finite_array(obs, "obs", ndim=2)
    a = finite_array(actions, "actions", ndim=2)
    al = finite_array(alpha, "alpha", ndim=1)
    if not len(o) == len(a) == len(al):
        raise ValueError(f"obs, actions and alpha hold {len(o)}, {len(a)} and {len(al)} rows; expected one L")
    phi = policy.features(o).numpy()
    return al[:, None] * a / np.sum(phi**2, axis=1)[:, None]


# ------------------------------------------------------------------------------------------------------------
# §1 The four rungs


@dataclass(frozen=True)
class Dataset:
    """L manufactured pairs and the policy weights they teach: obs (L, 27), actions (L, 8), coeffs (L, 8),
    direction (P,) = Σ_t c_t ⊗ φ(s_t); start (27,) the trajectory's start state (None for free pairs); healthy:
    a trajectory stayed in the healthy range; env_steps spent making the pairs (a replay)."""

    rung: int
    obs: np.ndarray
    actions: np.ndarray
    coeffs: np.ndarray
    direction: np.ndarray
    start: np.ndarray | None
    healthy: bool
    env_steps: int


class Rung:
    """One rung's parametrisation at L pairs: ``size`` search coordinates in [-1, 1], ``initial(seed)`` where the
    search starts, ``decode(u)`` the dataset (notebook 08 §1). ``policy`` is the run's untrained policy (w_first = 0,
    linear or quadratic); ``reset_start`` the reset state rung 1 starts from."""

    def __init__(self, rung: int, L: int, policy: GaussianPolicy, reset_start: envs.StartState | None = None,
                 limits: StateLimits | None = None, ridge: float = RIDGE):
        if rung not in RUNGS:
            raise ValueError(f"rung={rung!r}: allowed 1, 2, 3, 4 ({', '.join(f'{k} {v}' for k, v in RUNGS.items())})")
        if not isinstance(policy, GaussianPolicy) or policy.kind == "mlp":
            raise ValueError(f"policy={policy!r}: the kernel view needs a linear or quadratic GaussianPolicy")
        if np.any(policy.flat() != 0):
            raise ValueError("policy: must be the untrained policy w_first = 0 (the kernel view of notebook 07 §1)")
        if rung == 1:
            if reset_start is None:
                raise ValueError("reset_start: rung 1 needs the reset state its trajectory starts from")
            envs.check_start(reset_start, "reset_start")
        self.rung, self.L, self.policy = rung, check_length(L), policy
        self.name = RUNGS[rung]
        self.reset_start, self.ridge = reset_start, non_negative_float(ridge, "ridge")
        self.limits = limits or state_limits()
        self.k = policy.act_dim
        self.n_state = {1: 0, 2: STATE_DIM, 3: L * STATE_DIM, 4: L * STATE_DIM}[rung]
        self.n_alpha = L if rung in (1, 2) else 0
        self.size = self.n_state + L * self.k + self.n_alpha
        self._norm = policy.normalizer()

    @property
    def trajectory(self) -> bool:
        return self.rung in (1, 2)

    def replay_steps(self) -> int:
        """Env steps one decode costs (the trajectory's replay; 0 for free pairs)."""
        return self.L if self.trajectory else 0

    def initial(self, seed: int = 0) -> np.ndarray:
        """The search's starting point: zero actions, α = 1, and for free states L reset states of the task (seeds
        ``42 + 1000 · seed + t``) written in the rung's coordinates (rung 2: one reset state as the start)."""
        u = np.zeros(self.size)
        n_starts = {1: 0, 2: 1, 3: self.L, 4: self.L}[self.rung]
        starts = np.stack([envs.reset_state(ENV_ID, 42 + 1000 * int(seed) + t).obs for t in range(n_starts)]) \
            if n_starts else np.zeros((0, STATE_DIM))
        if self.rung in (2, 3):
            u[: self.n_state] = encode_states(clip_states(starts, self.limits), self.limits).ravel()
        elif self.rung == 4:
            u[: self.n_state] = np.clip((starts - self._norm.mean) / (OBS_SCALE * self._norm.std), -1, 1).ravel()
        if self.n_alpha:
            u[-self.n_alpha:] = 1.0 / ALPHA_SCALE
        return u

    def check_u(self, u, name: str = "u") -> np.ndarray:
        x = finite_array(u, name, ndim=1)
        if x.size != self.size:
            raise ValueError(f"{name} has {x.size} entries; rung {self.rung} at L = {self.L} has {self.size}")
        return np.clip(x, -1.0, 1.0)

    def decode(self, u) -> Dataset:
        """The dataset of search vector u (clipped to [-1, 1]): pairs, coefficients and the policy's weights."""
        x = self.check_u(u)
        L, k = self.L, self.k
        acts = x[self.n_state: self.n_state + L * k].reshape(L, k)
        start, steps, healthy = None, 0, True
        if self.trajectory:
            if self.rung == 1:
                st = self.reset_start
            else:
                start = decode_states(x[:STATE_DIM], self.limits)
                st = start_from_state(start, self.limits)
            rep = envs.replay(st, acts[None], n_threads=1)
            obs, steps, healthy = rep.obs[0, :-1], L, not bool(rep.terminated[0].any())
            if start is None:
                start = rep.obs[0, 0]
            coeffs = trajectory_coefficients(self.policy, obs, acts, ALPHA_SCALE * x[-L:])
        else:
            s = x[: self.n_state].reshape(L, STATE_DIM)
            obs = decode_states(s, self.limits) if self.rung == 3 else self._norm.mean + OBS_SCALE * self._norm.std * s
            coeffs = bc_coefficients(self.policy, obs, acts, self.ridge)
        d = kernel_direction(self.policy, obs, coeffs)
        return Dataset(self.rung, obs, acts, coeffs, d, start, healthy, steps)


def policy_of(first: GaussianPolicy, dataset: Dataset) -> GaussianPolicy:
    """The policy a dataset teaches: w_first + Σ_t c_t ⊗ φ(s_t)."""
    d = finite_array(dataset.direction, "dataset.direction", ndim=1)
    if d.size != first.n_params:
        raise ValueError(f"dataset.direction has {d.size} entries; the policy has {first.n_params} parameters")
    return first.with_flat(first.flat() + d)
