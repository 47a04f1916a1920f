"""The two trainers' configs: ``TrainConfig`` (REINFORCE) and ``PPOConfig``, with what they share (dict
conversion, dict-style reading, the range check). A leaf of training/: the loops and ``runs`` import it.

Taught in notebooks/02_train_quadratic_agent.ipynb, §2 (``TrainConfig``) and notebooks/06_ppo.ipynb, §4
(``PPOConfig``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .. import sim
from ..checks import check_seed, int_at_least, positive_float
from ..config import config_from_dict, config_to_dict
from ..policies import KINDS


class ConfigFields:
    """Mixed into a frozen config dataclass: ``to_dict`` / ``from_dict`` (how a run stores its config) and
    ``config["lr"]`` / ``config.get("lr")`` reading (as for the plain dict a run's meta.json holds).

    Taught in notebooks/02_train_quadratic_agent.ipynb, §3."""

    def to_dict(self) -> dict:
        """The JSON-able dict a saved run keeps under meta.json's "config"."""
        return config_to_dict(self)

    @classmethod
    def from_dict(cls, d: dict):
        """The config back from ``to_dict``'s dict (unknown keys dropped, missing ones take their default)."""
        return config_from_dict(cls, d)

    def __getitem__(self, name: str):
        if not isinstance(name, str) or not hasattr(self, name):
            raise KeyError(f"{name!r} is not a field of {type(self).__name__}")
        return getattr(self, name)

    def get(self, name: str, default=None):
        """``config[name]`` if it is a field, else ``default``."""
        return getattr(self, name, default) if isinstance(name, str) else default


def in_range(value, name: str, low: float, high: float, low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a float if it is a number (not a bool, not NaN) in the interval; infinity only where the
    interval's closed end is infinite. Otherwise a ValueError naming the argument and the interval.

    Taught in notebooks/02_train_quadratic_agent.ipynb, §2."""
    ok = (not isinstance(value, bool) and isinstance(value, int | float | np.integer | np.floating)
          and not math.isnan(value) and (value > low if low_open else value >= low)
          and (value < high if high_open else value <= high))
    if not ok:
        lb, hb = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"{name}={value!r}: must be a number in {lb}{low}, {high}{hb}")
    return float(value)


OPTIMIZERS = ("sgd", "adam")
ESTIMATORS = ("episode", "reward_to_go")
BASELINES = ("mean", "none")


@dataclass(frozen=True)
class TrainConfig(ConfigFields):
    """Everything a REINFORCE run depends on. Defaults: the study-faithful quadratic Ant run.

    Taught in notebooks/02_train_quadratic_agent.ipynb, §2."""

    algo: ClassVar[str] = "reinforce"

    env_id: str = "Ant-v5"  # the MuJoCo task (a Box action space)
    policy_kind: str = "quadratic"  # "linear", "quadratic" or "mlp" (policies.make_policy)
    sigma: float = 0.1  # exploration std while sampling (fixed unless sigma_final is set)
    sigma_final: float | None = None  # if set: σ moves linearly (in log space) from sigma to sigma_final
    hidden: int = 128  # MLP width
    init: str | None = None  # policies.make_policy's init (None: zero for linear/quadratic, study for mlp)
    n_envs: int = 64  # episodes per outer iteration
    horizon: int = 200  # steps per training episode
    n_iterations: int = 150  # outer iterations (= checkpoints after the first)
    inner_steps: int = 1  # optimiser steps per sampled batch (importance-sampled reuse when > 1)
    stop_ratio: float = 4e4  # stop the inner loop when the largest importance ratio exceeds this
    ratio_cap: float = 1e3  # importance ratios are capped at this value before weighting the loss
    optimizer: str = "sgd"  # "sgd" (with momentum, the study) or "adam"
    lr: float = 2e-3  # learning rate
    momentum: float = 0.9  # SGD only
    betas: tuple[float, float] = (0.9, 0.999)  # Adam only
    grad_clip: float | None = 1.0  # max gradient norm (None: no clipping)
    estimator: str = "episode"  # "episode" (G_i − b, the study) or "reward_to_go" (R_it − b_t)
    baseline: str = "mean"  # "mean" (ρ-weighted mean return) or "none"
    gamma: float = 1.0  # discount of the reward-to-go (estimator="reward_to_go" only)
    normalize_advantages: bool = False  # divide the advantages by their std over the batch's steps
    norm_episodes: int = 100  # random-action episodes that fit the observation normaliser (0: identity)
    norm_horizon: int = 100  # steps of each of those episodes
    seed: int = 0  # policy init, env resets and exploration noise
    n_threads: int = 1  # torch threads for the gradient computation
    clip_actions: bool = True  # env gets actions clipped to the box (False: raw, as the study; see rollouts.rollout)

    def __post_init__(self):
        _check_env(self.env_id)
        if self.policy_kind not in KINDS:
            raise ValueError(f"policy_kind={self.policy_kind!r}: allowed: {', '.join(KINDS)}")
        positive_float(self.sigma, "sigma")
        if self.sigma_final is not None:
            positive_float(self.sigma_final, "sigma_final")
        for name in ("hidden", "n_envs", "horizon", "n_iterations", "inner_steps", "norm_horizon", "n_threads"):
            int_at_least(getattr(self, name), name, 1)
        int_at_least(self.norm_episodes, "norm_episodes", 0)
        check_seed(self.seed)
        for name, allowed in (("optimizer", OPTIMIZERS), ("estimator", ESTIMATORS), ("baseline", BASELINES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name}={getattr(self, name)!r}: allowed: {', '.join(allowed)}")
        positive_float(self.lr, "lr")
        in_range(self.momentum, "momentum", 0, 1, high_open=True)
        if not isinstance(self.betas, tuple | list) or len(self.betas) != 2:
            raise ValueError(f"betas={self.betas!r}: must be two numbers in [0, 1)")
        for b in self.betas:
            in_range(b, "betas", 0, 1, high_open=True)
        if self.grad_clip is not None:
            positive_float(self.grad_clip, "grad_clip")
        in_range(self.stop_ratio, "stop_ratio", 1, math.inf, low_open=True)
        in_range(self.ratio_cap, "ratio_cap", 1, math.inf)
        in_range(self.gamma, "gamma", 0, 1, low_open=True)
        if self.init not in (None, "zero", "study"):
            raise ValueError(f"init={self.init!r}: allowed: None, 'zero', 'study'")

    def sigma_at(self, iteration: int) -> float:
        """σ used to sample at outer iteration ``iteration`` (0-based)."""
        if self.sigma_final is None or self.n_iterations == 1:
            return float(self.sigma)
        f = iteration / (self.n_iterations - 1)
        return float(math.exp((1 - f) * math.log(self.sigma) + f * math.log(self.sigma_final)))

    @property
    def sigma_trained(self) -> float:
        """The σ a trained policy keeps (sigma_final if set, else sigma)."""
        return float(self.sigma_final if self.sigma_final is not None else self.sigma)


def _check_env(env_id):
    """A supported MuJoCo task with a Box action space, or a ValueError saying what is wrong."""
    if env_id in sim.supported_env_ids():
        return env_id
    import gymnasium as gym

    if isinstance(env_id, str) and env_id in gym.registry:
        env = gym.make(env_id)
        try:
            space = env.action_space
        finally:
            env.close()
        if not isinstance(space, gym.spaces.Box):
            raise ValueError(f"env_id={env_id!r} has action space {space}; REINFORCE with a Gaussian policy needs "
                             f"a Box (continuous) action space")
    raise ValueError(f"env_id={env_id!r} is not supported; allowed: {', '.join(sim.supported_env_ids())}")


ADV_NORMS = ("batch", "minibatch", "none")


@dataclass(frozen=True)
class PPOConfig(ConfigFields):
    """Everything a PPO run depends on. Defaults: the standard MuJoCo PPO hyper-parameters on Hopper-v5.

    Taught in notebooks/06_ppo.ipynb, §4."""

    algo: ClassVar[str] = "ppo"

    env_id: str = "Hopper-v5"  # the MuJoCo task
    total_steps: int = 1_000_000  # env steps (rounded up to whole updates)
    n_envs: int = 8  # environments stepped together
    n_steps: int = 256  # steps per env per update (batch = n_envs · n_steps = 2048)
    epochs: int = 10  # passes over the batch per update
    minibatch_size: int = 64  # samples per optimiser step
    lr: float = 3e-4  # Adam's learning rate (at the start, with anneal_lr)
    anneal_lr: bool = True  # linear decay to 0 over the run
    gamma: float = 0.99  # discount
    lam: float = 0.95  # GAE's λ (0: one-step TD, 1: Monte Carlo)
    clip: float = 0.2  # ε of the clipped surrogate
    ent_coef: float = 0.0  # weight of the entropy bonus
    vf_coef: float = 0.5  # weight of the value loss
    max_grad_norm: float = 0.5  # gradient-norm clipping
    adv_norm: str = "batch"  # "batch" | "minibatch" | "none" (the seed's comparison)
    hidden: tuple[int, ...] = (64, 64)  # hidden layer widths of actor and critic
    init_log_std: float = 0.0  # the actor's initial log σ
    obs_norm: bool = True  # normalise observations with a running mean/std
    reward_scale: bool = True  # divide rewards by the running std of the discounted return
    horizon: int = 1000  # time limit of an episode (truncation)
    checkpoint_every: int = 1  # keep the actor every k updates (first and last always kept)
    seed: int = 0  # network init, action noise, minibatch order and env resets
    n_threads: int = 1  # torch threads (1 is fastest for 64×64 nets)

    def __post_init__(self):
        sim.check_env_id(self.env_id)
        for name in ("total_steps", "n_envs", "n_steps", "epochs", "minibatch_size", "horizon", "checkpoint_every",
                     "n_threads"):
            int_at_least(getattr(self, name), name, 1)
        check_seed(self.seed)
        if self.minibatch_size > self.batch_size:
            raise ValueError(f"minibatch_size={self.minibatch_size!r}: must be <= n_envs · n_steps = "
                             f"{self.batch_size}")
        in_range(self.lr, "lr", 0, 1, low_open=True)
        in_range(self.gamma, "gamma", 0, 1, low_open=True)
        in_range(self.lam, "lam", 0, 1)
        in_range(self.clip, "clip", 0, 1, low_open=True, high_open=True)
        in_range(self.ent_coef, "ent_coef", 0, math.inf, high_open=True)
        in_range(self.vf_coef, "vf_coef", 0, math.inf, high_open=True)
        positive_float(self.max_grad_norm, "max_grad_norm")
        in_range(self.init_log_std, "init_log_std", -5, 2)
        if self.adv_norm not in ADV_NORMS:
            raise ValueError(f"adv_norm={self.adv_norm!r}: allowed: {', '.join(ADV_NORMS)}")
        hidden = tuple(self.hidden) if isinstance(self.hidden, list | tuple) else None
        if not hidden or not all(not isinstance(h, bool) and isinstance(h, int | np.integer) and h >= 1
                                 for h in hidden):
            raise ValueError(f"hidden={self.hidden!r}: must be a non-empty tuple of integers >= 1, e.g. (64, 64)")
        object.__setattr__(self, "hidden", tuple(int(h) for h in hidden))
        for name in ("anneal_lr", "obs_norm", "reward_scale"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}={getattr(self, name)!r}: must be True or False")

    @property
    def batch_size(self) -> int:
        return self.n_envs * self.n_steps

    @property
    def n_updates(self) -> int:
        return -(-self.total_steps // self.batch_size)

    @property
    def n_iterations(self) -> int:
        """``n_updates`` under the name both trainers share."""
        return self.n_updates

    @property
    def optimizer(self) -> str:
        """PPO's one optimiser (actor and critic together)."""
        return "adam"
