"""Fewest pairs: how few state-action pairs can teach Ant to walk, and one evaluation protocol for all of them.

Taught in notebooks/07_fewest_pairs.ipynb (§1 the kernel view, §2 five ways to choose L pairs, §3 the protocol).

THE KERNEL VIEW. At the untrained weights w_first = 0 of a linear or quadratic policy the per-step score is
g_t = σ⁻² a_t ⊗ φ(s_t), so every direction built from L pairs has the form

    d = Σ_t c_t ⊗ φ(s_t)      (c_t ∈ R^k, one coefficient vector per support state s_t)

and the policy w_first + d has the mean μ(s) = Σ_t c_t ⟨φ(s_t), φ(s)⟩: a kernel machine on L support states.
A compressed trajectory ties c_t = α_t a_t / σ² to the action that also moved the robot to s_{t+1}; behaviour
cloning takes expert states and solves for free c_t (ridge regression). ``kernel_direction`` and
``kernel_mean`` write both sides of this identity.

Ways to choose the L pairs (all return ``Pairs``): ``replayed_pairs`` (open-loop actions from saved start states,
several trajectories share one α-span; used for the compressed trajectory's first L steps, for random actions
and by the outer search of ``gc_helpers.outer_search``), ``cloned_pairs`` (expert pairs, the BC direction) with
``greedy_subset`` (the L expert states whose ridge fit best reproduces the expert on its whole trajectory).

The protocol (``Protocol``, ``walk``): β picked by return on one set of episodes with
``line_search.line_search``, then the chosen point reported on FRESH episodes (other seeds): forward velocity,
return, return minus the alive bonus, episode length, and the env steps both stages used.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from . import behaviour_cloning as cloning
from . import compression as C
from . import envs, rollouts, vectors
from . import line_search as lsearch
from .checks import check_seed, finite_array, int_at_least
from .policies import GaussianPolicy

ENV_ID = "Ant-v5"


# ------------------------------------------------------------------------------------------------------------
# Input checks


def check_length(L, name: str = "L") -> int:
    """The number of pairs: an integer >= 1."""
    return int_at_least(L, name)


def _check_kernel_policy(policy: GaussianPolicy):
    if not isinstance(policy, GaussianPolicy) or policy.kind == "mlp":
        raise ValueError(f"policy={policy!r}: the kernel view needs a linear or quadratic GaussianPolicy")


# ------------------------------------------------------------------------------------------------------------
# §1 The kernel view


def kernel_direction(policy: GaussianPolicy, obs, coeffs) -> np.ndarray:
    """d = Σ_t c_t ⊗ φ(s_t) for support states obs (L, d) and coefficients coeffs (L, k), flattened like the
    policy's weights W (k × F). Notebook 07 §1: at w_first = 0, Σ_t α_t g_t is this with c_t = α_t a_t / σ²."""
    _check_kernel_policy(policy)
    o = finite_array(obs, "obs", ndim=2)
    c = finite_array(coeffs, "coeffs", ndim=2)
    if o.shape[1] != policy.obs_dim or c.shape != (o.shape[0], policy.act_dim):
        raise ValueError(f"obs {o.shape} and coeffs {c.shape}: expected (L, {policy.obs_dim}) and "
                         f"(L, {policy.act_dim}) with the same L")
    phi = policy.features(o).numpy()
    return (c.T @ phi).reshape(-1)


def kernel_mean(policy: GaussianPolicy, support_obs, coeffs, obs) -> np.ndarray:
    """μ(s) = Σ_t c_t ⟨φ(s_t), φ(s)⟩ for every row of obs (n, d): (n, k). Notebook 07 §1: the same numbers as
    the mean of the policy with weights ``kernel_direction(policy, support_obs, coeffs)``."""
    _check_kernel_policy(policy)
    c = finite_array(coeffs, "coeffs", ndim=2)
    k = policy.features(finite_array(support_obs, "support_obs", ndim=2)).numpy() @ \
        policy.features(finite_array(obs, "obs", ndim=2)).numpy().T  # (L, n)
    if c.shape != (k.shape[0], policy.act_dim):
        raise ValueError(f"coeffs has shape {c.shape}; expected ({k.shape[0]}, {policy.act_dim})")
    return k.T @ c


def compressed_coefficients(alpha, actions, sigma: float) -> np.ndarray:
    """c_t = α_t a_t / σ²: the kernel coefficients of a compressed trajectory at w_first = 0 (notebook 07 §1)."""
    a = finite_array(actions, "actions", ndim=2)
    al = finite_array(alpha, "alpha", ndim=1)
    if al.shape[0] != a.shape[0]:
        raise ValueError(f"alpha has {al.shape[0]} entries; expected one per action ({a.shape[0]})")
    return al[:, None] * a / float(sigma) ** 2


# ------------------------------------------------------------------------------------------------------------
# §2 Ways to choose L pairs


@dataclass(frozen=True)
class Pairs:
    """L state-action pairs and the direction they define (notebook 07 §2).

    obs (L, d), actions (L, k); direction (P,); alpha (L,) for compressed pairs (None for cloned ones); cosine
    with the target Δw; healthy: every replayed step stayed in the healthy range; env_steps and seconds spent
    choosing the pairs; info: how they were chosen.
    """

    obs: np.ndarray
    actions: np.ndarray
    direction: np.ndarray
    alpha: np.ndarray | None
    cosine: float
    healthy: bool
    env_steps: int = 0
    seconds: float = 0.0
    info: dict = field(default_factory=dict)

    @property
    def length(self) -> int:
        return int(len(self.actions))


def replayed_pairs(policy: GaussianPolicy, target, starts, action_seqs, info: dict | None = None) -> Pairs:
    """Replay each open-loop action sequence (L_i, k) from its start state (``envs.reset_state``) and combine the
    per-step gradients of ALL trajectories with one exact best α (``compression.best_alpha_exact``): several
    short trajectories sharing one α-span (notebook 07 §2). One start and one sequence: a single trajectory."""
    if len(starts) == 0 or len(starts) != len(action_seqs):
        raise ValueError(f"starts ({len(starts)}) and action_seqs ({len(action_seqs)}) must be equally long, ≥ 1")
    t0 = time.perf_counter()
    obs, acts, healthy = [], [], True
    for start, seq in zip(starts, action_seqs):
        a = envs.check_actions(seq, policy.act_dim, "action_seqs", ndim=2)
        rep = envs.replay(start, a[None], n_threads=1)
        obs.append(rep.obs[0, :-1])
        acts.append(a)
        healthy = healthy and not bool(rep.terminated[0].any())
    obs, acts = np.concatenate(obs), np.concatenate(acts)
    fit = C.best_alpha_exact(C.step_grads(policy, obs, acts), target)
    return Pairs(obs, acts, fit.direction, fit.alpha, fit.cosine, healthy, len(acts), time.perf_counter() - t0,
                 dict(info or {}))


def random_actions(L: int, seed: int, act_dim: int = 8, low: float = -1.0, high: float = 1.0) -> np.ndarray:
    """Uniform random actions in the box, (L, act_dim), from ``numpy.random.default_rng(seed)`` (the floor)."""
    return np.random.default_rng(check_seed(seed)).uniform(low, high, (check_length(L), act_dim))


def cloned_pairs(first: GaussianPolicy, obs, actions, target, ridge: float = 1e-3, info: dict | None = None) -> Pairs:
    """Behaviour cloning on L expert pairs (``behaviour_cloning.behaviour_cloning``, ridge regression on φ(s)); the
    direction is θ_BC − w_first, the same kind of line as every other method walks (notebook 07 §2)."""
    t0 = time.perf_counter()
    theta = cloning.behaviour_cloning(first, obs, actions, ridge=ridge)
    d = theta - first.flat()
    return Pairs(np.asarray(obs), np.asarray(actions), d, None, vectors.cosine(d, target), True, 0,
                 time.perf_counter() - t0, dict(info or {}))


def greedy_subset(policy: GaussianPolicy, obs, actions, L: int, ridge: float = 1e-3) -> np.ndarray:
    """Indices of L of the expert's states, picked greedily so that ridge regression on them (the BC fit of
    ``behaviour_cloning.behaviour_cloning`` with the same ridge) best reproduces the expert's actions on ALL its
    states (notebook 07 §2). Kernel form: the residual kernel R and residual actions E are updated by one
    Schur-complement step per pick, so each pick costs one N × N × k product."""
    L = check_length(L)
    _check_kernel_policy(policy)
    a = finite_array(actions, "actions", ndim=2)
    if L > len(a):
        raise ValueError(f"L={L}: must be at most the number of expert pairs ({len(a)})")
    phi = policy.features(finite_array(obs, "obs", ndim=2)).numpy()
    R = phi @ phi.T
    E = a.copy()
    lam = float(ridge) * L
    chosen: list[int] = []
    for _ in range(L):
        denom = np.diag(R) + lam
        RE = R @ E  # (N, k): column j's inner products with the residual
        gain = 2 * np.einsum("jk,jk->j", RE, E) / denom - np.sum(R**2, axis=0) * np.sum(E**2, axis=1) / denom**2
        gain[chosen] = -np.inf
        j = int(np.argmax(gain))
        r = R[:, j].copy()
        E -= np.outer(r, E[j]) / denom[j]
        R -= np.outer(r, r) / denom[j]
        chosen.append(j)
    return np.array(chosen)


# ------------------------------------------------------------------------------------------------------------
# §3 The evaluation protocol


@dataclass(frozen=True)
class Protocol:
    """β picked by return on ``pick_episodes`` × ``horizon`` (seed ``pick_seed``) over ``betas`` (multiples of
    the direction's own length), then reported on ``fresh_episodes`` with seed ``fresh_seed`` (notebook 07 §3)."""

    betas: tuple = (0.25, 0.5, 1.0, 1.5)
    pick_episodes: int = 3
    pick_seed: int = 20_000
    fresh_episodes: int = 20
    fresh_seed: int = 30_000
    horizon: int = 1000
    env_id: str = ENV_ID

    def __post_init__(self):
        lsearch.check_betas(self.betas)
        int_at_least(self.pick_episodes, "pick_episodes")
        int_at_least(self.fresh_episodes, "fresh_episodes")
        int_at_least(self.horizon, "horizon")
        check_seed(self.pick_seed)
        check_seed(self.fresh_seed)
        if abs(self.pick_seed - self.fresh_seed) < max(self.pick_episodes, self.fresh_episodes):
            raise ValueError(f"pick_seed={self.pick_seed} and fresh_seed={self.fresh_seed} overlap: the fresh "
                             "episodes must start from other states than the ones β was picked on")


def alive_bonus(env_id: str = ENV_ID) -> float:
    """The reward paid per step alive (Ant-v5: 1.0)."""
    return envs.reward_weights(env_id).healthy


def _evaluation_row(ev: rollouts.Evaluation, bonus: float) -> dict:
    """The numbers the table reports for one evaluation."""
    return {"velocity": ev.mean_forward_velocity, "return": ev.mean_return, "stderr": ev.stderr,
            "return_minus_alive": float(np.mean(ev.returns - bonus * ev.lengths)), "length": ev.mean_length,
            "returns": ev.returns, "lengths": ev.lengths, "env_steps": int(np.sum(ev.lengths))}


def fresh_evaluation(policy: GaussianPolicy, protocol: Protocol, n_episodes: int | None = None) -> dict:
    """``_evaluation_row`` of ``policy`` (σ = 0) on the protocol's fresh episodes (or ``n_episodes`` of them)."""
    n = protocol.fresh_episodes if n_episodes is None else int_at_least(n_episodes, "n_episodes")
    ev = rollouts.evaluate(protocol.env_id, policy.mean_fn(), n, protocol.horizon, protocol.fresh_seed, 0.0)
    return _evaluation_row(ev, alive_bonus(protocol.env_id))


def walk(first: GaussianPolicy, direction, protocol: Protocol = Protocol()) -> dict:
    """The same line search for every direction (notebook 07 §3): θ(β) = w_first + β · d for β in
    ``protocol.betas`` scored by return on the pick episodes, the best β reported on fresh episodes.

    Returns ``_evaluation_row`` of the fresh evaluation plus beta, the pick-set returns per β and env_steps
    (both stages)."""
    d = lsearch.check_direction(direction, first.n_params)
    norm = float(np.linalg.norm(d))
    ls = lsearch.line_search(first, d, protocol.betas, norm, protocol.env_id, protocol.pick_episodes, protocol.horizon,
                        seed=protocol.pick_seed)
    policy = first.with_flat(first.flat() + ls.best_beta * d)
    row = fresh_evaluation(policy, protocol)
    pick_steps = int(sum(int(np.sum(e.lengths)) for e in ls.evaluations))
    velocities = np.array([e.mean_forward_velocity for e in ls.evaluations])
    return {**row, "beta": ls.best_beta, "pick_returns": ls.returns, "pick_velocities": velocities,
            "eval_env_steps": row["env_steps"] + pick_steps}
