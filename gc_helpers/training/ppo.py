"""PPO with GAE for MuJoCo locomotion (the rl-mujoco seed), keeping a checkpoint of the actor per update.

Taught in notebooks/06_ppo.ipynb; shipped runs live in data/runs/ppo_*/ and bench/ppo.py reproduces them.

One update (``n_envs`` environments stepped together, ``n_steps`` steps each, batch B = n_envs · n_steps):
1. collect the batch with the current policy. Episodes end inside the batch (terminated: the robot fell;
   truncated: the time limit). For every step we keep the TRUE next observation (at a boundary: the final
   observation of the ended episode, not the reset observation that follows it), so a truncated episode
   bootstraps from V(final observation) and a terminated one from 0;
2. GAE(γ, λ): δ_t = r_t + γ (1 − terminated_t) V(s'_t) − V(s_t), A_t = δ_t + γ λ (1 − ended_t) A_{t+1}
   (ended = terminated or truncated; the last step of the batch bootstraps and A_{T} = 0), returns R = A + V;
3. ``epochs`` passes over shuffled minibatches: maximise the clipped surrogate
   E[min(r A, clip(r, 1 − ε, 1 + ε) A)], r = π_θ(a|s) / π_old(a|s), plus ``ent_coef`` · entropy, minus
   ``vf_coef`` · ½ (V(s) − R)², one Adam optimiser, gradient-norm clipping;
4. keep a copy of the actor's flat parameters (every ``checkpoint_every`` updates) and of the observation
   normaliser it acts with.

Policy: a 64×64 tanh MLP gives the mean μ(s) of a Gaussian over a pre-squash action u, with a learned,
state-independent log-std; the env receives a = low + (tanh(u) + 1)/2 · (high − low). Its density is the
change of variables log π(a|s) = log N(u; μ, σ²) − Σ_i log|da_i/du_i|, da/du = (1 − tanh²u) (high − low)/2
(``squashed_log_prob``). We store u, so the ratio never inverts tanh; the log-det term depends on u only and
cancels in r — it matters for the log-likelihood itself (and the squashed entropy), not for the ratio.
The entropy bonus uses the base Gaussian's entropy Σ (log σ_i + ½ log 2πe) (the squashed entropy has no closed
form); the squashed entropy is reported as the sample estimate −mean log π(a|s).

Observations are normalised with running mean/std (updated after each update with the batch just collected, so
the policy is fixed within a batch and r = 1 at the first minibatch); rewards are divided by the running std of
the discounted return (as gymnasium's NormalizeReward), both clipped to ±10.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import envs
from ..checks import int_at_least
from ..config import config_from_dict, config_to_dict
from ..policies import flat_parameters, load_flat_parameters
from .reinforce import _resolve, runs_dir  # noqa: F401  (data/runs/<name> or a folder)

ADV_NORMS = ("batch", "minibatch", "none")
RUN_KIND = "run"
POLICY_KIND = "tanh_gaussian_mlp"
CLIP_OBS = 10.0
CLIP_REWARD = 10.0


# ------------------------------------------------------------------------------------------------------------
# Configuration


def _is_number(x) -> bool:
    return not isinstance(x, bool) and isinstance(x, int | float | np.integer | np.floating) and math.isfinite(x)


def _in_range(x, name, low, high, low_open=False, high_open=False):
    ok = _is_number(x) and (x > low if low_open else x >= low) and (x < high if high_open else x <= high)
    if not ok:
        lb, hb = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"{name}={x!r}: must be a number in {lb}{low}, {high}{hb}")
    return float(x)


@dataclass(frozen=True)
class PPOConfig:
    """Everything a PPO run depends on. Defaults: the standard MuJoCo PPO hyper-parameters on Hopper-v5."""

    env_id: str = "Hopper-v5"
    total_steps: int = 1_000_000  # env steps (rounded up to whole updates)
    n_envs: int = 8  # environments stepped together
    n_steps: int = 256  # steps per env per update (batch = n_envs · n_steps = 2048)
    epochs: int = 10
    minibatch_size: int = 64
    lr: float = 3e-4
    anneal_lr: bool = True  # linear decay to 0 over the run
    gamma: float = 0.99
    lam: float = 0.95
    clip: float = 0.2
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    adv_norm: str = "batch"  # "batch" | "minibatch" | "none" (the seed's comparison)
    hidden: tuple[int, ...] = (64, 64)
    init_log_std: float = 0.0
    obs_norm: bool = True
    reward_scale: bool = True
    horizon: int = 1000  # time limit of an episode (truncation)
    checkpoint_every: int = 1  # keep the actor every k updates (first and last always kept)
    seed: int = 0
    n_threads: int = 1  # torch threads (1 is fastest for 64×64 nets)

    def __post_init__(self):
        envs.check_env_id(self.env_id)
        for name in ("total_steps", "n_envs", "n_steps", "epochs", "minibatch_size", "horizon", "checkpoint_every",
                     "n_threads"):
            int_at_least(getattr(self, name), name, 1)
        envs.check_seed(self.seed)
        if self.minibatch_size > self.batch_size:
            raise ValueError(f"minibatch_size={self.minibatch_size!r}: must be <= n_envs · n_steps = "
                             f"{self.batch_size}")
        _in_range(self.lr, "lr", 0, 1, low_open=True)
        _in_range(self.gamma, "gamma", 0, 1, low_open=True)
        _in_range(self.lam, "lam", 0, 1)
        _in_range(self.clip, "clip", 0, 1, low_open=True, high_open=True)
        _in_range(self.ent_coef, "ent_coef", 0, math.inf, high_open=True)
        _in_range(self.vf_coef, "vf_coef", 0, math.inf, high_open=True)
        _in_range(self.max_grad_norm, "max_grad_norm", 0, math.inf, low_open=True, high_open=True)
        _in_range(self.init_log_std, "init_log_std", -5, 2)
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

    def to_dict(self) -> dict:
        return config_to_dict(self)

    @classmethod
    def from_dict(cls, d: dict) -> PPOConfig:
        return config_from_dict(cls, d)


# ------------------------------------------------------------------------------------------------------------
# Pure pieces: GAE, the squashed log-likelihood, the clipped surrogate


def gae(rewards, values, next_values, terminated, truncated, gamma: float, lam: float):
    """GAE(γ, λ) over a rollout batch of shape (T, N) (T steps of N parallel envs); returns (advantages, returns).

    ``values[t]`` = V(s_t), ``next_values[t]`` = V(s'_t) of the TRUE next observation (for a step that ended an
    episode: the final observation before the reset). ``terminated[t]``: no future after s'_t (bootstrap 0);
    ``truncated[t]``: the episode was cut after this step (bootstrap V(s'_t)) — either way the accumulation
    stops there. The last row bootstraps from next_values[T−1]. returns = advantages + values.
    """
    r = np.asarray(rewards, dtype=np.float64)
    if r.ndim != 2 or 0 in r.shape:
        raise ValueError(f"rewards has shape {r.shape}; expected (T, N) with T, N >= 1")
    arrays = {"values": values, "next_values": next_values, "terminated": terminated, "truncated": truncated}
    for name, a in arrays.items():
        if np.shape(a) != r.shape:
            raise ValueError(f"{name} has shape {np.shape(a)}; expected {r.shape} like rewards")
    v, nv = np.asarray(values, dtype=np.float64), np.asarray(next_values, dtype=np.float64)
    for name, a in (("rewards", r), ("values", v)):
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} contains NaN or inf")
    _in_range(gamma, "gamma", 0, 1)
    _in_range(lam, "lam", 0, 1)
    term = np.asarray(terminated, dtype=bool)
    ended = term | np.asarray(truncated, dtype=bool)
    nv = np.where(term, 0.0, nv)  # a terminal next state has no value (and may be NaN-free garbage)
    if not np.all(np.isfinite(nv)):
        raise ValueError("next_values contains NaN or inf at a non-terminal step")
    delta = r + gamma * nv - v
    adv = np.empty_like(delta)
    running = np.zeros(r.shape[1])
    for t in range(r.shape[0] - 1, -1, -1):
        running = delta[t] + gamma * lam * np.where(ended[t], 0.0, running)
        adv[t] = running
    return adv, adv + v


def gaussian_log_prob(u: torch.Tensor, mu: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """log N(u; μ, diag σ²) summed over the last axis."""
    z = (u - mu) * torch.exp(-log_std)
    return (-0.5 * z**2 - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)


def log_det_tanh(u: torch.Tensor) -> torch.Tensor:
    """Σ_i log(1 − tanh²u_i), computed stably as 2 (log 2 − u − softplus(−2u))."""
    return (2.0 * (math.log(2.0) - u - torch.nn.functional.softplus(-2.0 * u))).sum(-1)


def squash(u, low: float = -1.0, high: float = 1.0):
    """The env action a = low + (tanh(u) + 1)/2 · (high − low)."""
    return low + (torch.tanh(u) + 1.0) * (0.5 * (high - low))


def squashed_log_prob(u: torch.Tensor, mu: torch.Tensor, log_std: torch.Tensor, low: float = -1.0,
                      high: float = 1.0) -> torch.Tensor:
    """log π(a|s) of a = squash(u), u ~ N(μ, σ²): log N(u) − Σ log(1 − tanh²u) − k log((high − low)/2)."""
    if not high > low:
        raise ValueError(f"high={high!r} must be > low={low!r}")
    k = u.shape[-1]
    return gaussian_log_prob(u, mu, log_std) - log_det_tanh(u) - k * math.log(0.5 * (high - low))


def clipped_surrogate(ratio: torch.Tensor, adv: torch.Tensor, clip: float) -> torch.Tensor:
    """Per-sample PPO objective min(r A, clip(r, 1 − ε, 1 + ε) A) (to be maximised)."""
    _in_range(clip, "clip", 0, 1, low_open=True, high_open=True)
    return torch.minimum(ratio * adv, torch.clamp(ratio, 1.0 - clip, 1.0 + clip) * adv)


# ------------------------------------------------------------------------------------------------------------
# Networks and normalisers


def _mlp(sizes, out_gain, dtype):
    layers = []
    for i in range(len(sizes) - 1):
        lin = torch.nn.Linear(sizes[i], sizes[i + 1], dtype=dtype)
        last = i == len(sizes) - 2
        torch.nn.init.orthogonal_(lin.weight, out_gain if last else math.sqrt(2))
        torch.nn.init.zeros_(lin.bias)
        layers += [lin] if last else [lin, torch.nn.Tanh()]
    return torch.nn.Sequential(*layers)


class Actor(torch.nn.Module):
    """Tanh-squashed Gaussian policy: mean μ(x) from a tanh MLP of the normalised observation x, learned
    state-independent log-std. Operates on normalised observations; ``TanhGaussianPolicy`` adds the normaliser."""

    def __init__(self, obs_dim, act_dim, hidden=(64, 64), init_log_std=0.0, dtype=torch.float32):
        super().__init__()
        self.obs_dim, self.act_dim, self.hidden = int(obs_dim), int(act_dim), tuple(hidden)
        self.net = _mlp((self.obs_dim, *self.hidden, self.act_dim), 0.01, dtype)
        self.log_std = torch.nn.Parameter(torch.full((self.act_dim,), float(init_log_std), dtype=dtype))

    def forward(self, x):
        return self.net(x)

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def flat(self) -> np.ndarray:
        return flat_parameters(self)

    def set_flat(self, theta) -> Actor:
        return load_flat_parameters(self, theta, "actor")


class Critic(torch.nn.Module):
    def __init__(self, obs_dim, hidden=(64, 64), dtype=torch.float32):
        super().__init__()
        self.net = _mlp((int(obs_dim), *tuple(hidden), 1), 1.0, dtype)

    def forward(self, x):
        return self.net(x).squeeze(-1)


class RunningMeanStd:
    """Running mean and variance (Chan et al. parallel update), float64."""

    def __init__(self, shape=()):
        self.mean = np.zeros(shape)
        self.var = np.ones(shape)
        self.count = 1e-4

    def update(self, x):
        x = np.asarray(x, dtype=np.float64).reshape(-1, *self.mean.shape)
        n, m, v = x.shape[0], x.mean(axis=0), x.var(axis=0)
        total = self.count + n
        delta = m - self.mean
        self.mean = self.mean + delta * n / total
        self.var = (self.var * self.count + v * n + delta**2 * self.count * n / total) / total
        self.count = total


def normalize_obs(obs, mean, var):
    return np.clip((np.asarray(obs) - mean) / np.sqrt(var + 1e-8), -CLIP_OBS, CLIP_OBS)


@dataclass
class TanhGaussianPolicy:
    """A checkpoint as a policy on RAW observations: actor + the observation normaliser it acts with."""

    actor: Actor
    obs_mean: np.ndarray
    obs_var: np.ndarray
    act_low: float
    act_high: float

    def x(self, obs) -> torch.Tensor:
        return torch.as_tensor(normalize_obs(obs, self.obs_mean, self.obs_var), dtype=self.actor.log_std.dtype)

    def log_prob(self, obs, u) -> torch.Tensor:
        """log π(a|s) of the squashed action a = squash(u) (differentiable in the actor's parameters)."""
        return squashed_log_prob(torch.as_tensor(u, dtype=self.actor.log_std.dtype), self.actor(self.x(obs)),
                                 self.actor.log_std, self.act_low, self.act_high)

    def mean_fn(self):
        """obs (n, d) -> the deterministic action squash(μ(s)), for envs.evaluate / envs.rollout (noise_std=0)."""

        def fn(obs):
            with torch.no_grad():
                return squash(self.actor(self.x(obs)), self.act_low, self.act_high).double().numpy()

        return fn

    def score(self, obs, u) -> torch.Tensor:
        """Per-step gradients ∇θ log π(a_t|s_t), (L, n_params), for obs (L, d) and pre-squash actions u (L, k)."""
        from torch.func import functional_call, grad, vmap

        params = {k: p.detach() for k, p in self.actor.named_parameters()}
        x = self.x(obs)
        uu = torch.as_tensor(u, dtype=x.dtype)

        def one(p, xi, ui):
            mu = functional_call(self.actor, p, (xi[None],))[0]
            return squashed_log_prob(ui, mu, p["log_std"], self.act_low, self.act_high)

        g = vmap(grad(one), in_dims=(None, 0, 0))(params, x, uu)
        return torch.cat([g[k].reshape(x.shape[0], -1) for k, _ in self.actor.named_parameters()], dim=1)

    def action_score(self, obs, actions, eps: float = 1e-6) -> torch.Tensor:
        """``score`` for env actions a in the box: u = atanh of a rescaled to [-1 + eps, 1 − eps]."""
        a = np.asarray(actions, dtype=np.float64)
        y = np.clip((a - self.act_low) / (0.5 * (self.act_high - self.act_low)) - 1.0, -1 + eps, 1 - eps)
        return self.score(obs, np.arctanh(y))


# ------------------------------------------------------------------------------------------------------------
# Rollout collection


@dataclass(frozen=True)
class Batch:
    """One rollout batch, arrays of shape (T, N, ...): T = n_steps, N = n_envs."""

    obs: np.ndarray  # raw observation s_t
    next_obs: np.ndarray  # raw TRUE next observation s'_t (the final one when the episode ended at t)
    u: np.ndarray  # pre-squash action
    logp: np.ndarray  # log π_old(a_t|s_t) (squashed, with the log-det correction)
    rewards: np.ndarray  # raw env rewards
    terminated: np.ndarray
    truncated: np.ndarray
    episode_returns: np.ndarray  # of the episodes that ended in this batch (raw, undiscounted)
    episode_lengths: np.ndarray
    episode_end_steps: np.ndarray  # cumulative env steps at the end of each of those episodes


class _Envs:
    """N gymnasium envs stepped in a loop; an env is reset by us as soon as its episode ends, after its final
    observation has been recorded (so no autoreset step is ever stored)."""

    def __init__(self, env_id, n, horizon, seed):
        self.envs = [envs.make_env(env_id, max_episode_steps=horizon) for _ in range(n)]
        self.obs = np.stack([e.reset(seed=seed + i)[0] for i, e in enumerate(self.envs)])
        for i, e in enumerate(self.envs):
            e.action_space.seed(seed + i)
        self.ep_return = np.zeros(n)
        self.ep_length = np.zeros(n, dtype=np.int64)

    def close(self):
        for e in self.envs:
            e.close()


def collect(venv: _Envs, policy: TanhGaussianPolicy, n_steps: int, gen: torch.Generator, steps_before: int) -> Batch:
    """Step every env ``n_steps`` times with actions sampled from ``policy``."""
    N, d = venv.obs.shape
    k = policy.actor.act_dim
    obs = np.empty((n_steps, N, d))
    next_obs = np.empty((n_steps, N, d))
    us = np.empty((n_steps, N, k), dtype=np.float32)
    logps = np.empty((n_steps, N))
    rewards = np.empty((n_steps, N))
    term = np.zeros((n_steps, N), dtype=bool)
    trunc = np.zeros((n_steps, N), dtype=bool)
    ep_ret, ep_len, ep_end = [], [], []
    std = torch.exp(policy.actor.log_std.detach())
    for t in range(n_steps):
        obs[t] = venv.obs
        with torch.no_grad():
            mu = policy.actor(policy.x(venv.obs))
            u = mu + std * torch.randn(mu.shape, generator=gen, dtype=mu.dtype)
            logps[t] = squashed_log_prob(u, mu, policy.actor.log_std, policy.act_low, policy.act_high).numpy()
            a = squash(u, policy.act_low, policy.act_high).double().numpy()
        us[t] = u.numpy()
        for i, env in enumerate(venv.envs):
            o, r, te, tr, _ = env.step(a[i])
            next_obs[t, i], rewards[t, i], term[t, i], trunc[t, i] = o, r, te, tr
            venv.ep_return[i] += r
            venv.ep_length[i] += 1
            if te or tr:
                ep_ret.append(venv.ep_return[i])
                ep_len.append(venv.ep_length[i])
                ep_end.append(steps_before + t * N + i + 1)
                venv.ep_return[i], venv.ep_length[i] = 0.0, 0
                o, _ = env.reset()
            venv.obs[i] = o
    return Batch(obs, next_obs, us, logps, rewards, term, trunc, np.array(ep_ret), np.array(ep_len, dtype=np.int64),
                 np.array(ep_end, dtype=np.int64))


# ------------------------------------------------------------------------------------------------------------
# Training


@dataclass(frozen=True)
class PPOProgress:
    """What the progress callback receives after every update."""

    update: int  # 1-based
    n_updates: int
    env_steps: int
    mean_return: float  # of the training episodes that ended in this update's batch (NaN if none)
    best_return: float  # best mean_return so far
    policy_loss: float
    value_loss: float
    entropy: float
    approx_kl: float
    clip_fraction: float
    wall_time: float
    steps_per_s: float


@dataclass(frozen=True)
class PPORun:
    """A PPO run. ``checkpoints[j]`` is the actor after update ``checkpoint_updates[j]`` (0: initial weights),
    acting with the normaliser ``obs_mean[j]``, ``obs_var[j]``. ``history`` holds per-update arrays (env_steps,
    mean_return, policy_loss, entropy_loss, value_loss, critic_error, explained_variance, approx_kl,
    clip_fraction, grad_norm, grad_norm_std, log_std, lr, wall_time) and per-episode arrays (episode_returns,
    episode_lengths, episode_end_steps)."""

    config: PPOConfig
    description: dict
    checkpoints: np.ndarray
    checkpoint_updates: np.ndarray
    obs_mean: np.ndarray
    obs_var: np.ndarray
    history: dict
    meta: dict
    path: Path | None = None

    @property
    def env_id(self) -> str:
        return self.config.env_id

    @property
    def weight_change(self) -> np.ndarray:
        """Actor w_last − w_first."""
        return self.checkpoints[-1].astype(np.float64) - self.checkpoints[0].astype(np.float64)

    @property
    def best_return(self) -> float:
        r = self.history["mean_return"]
        return float(np.nanmax(r)) if np.any(np.isfinite(r)) else float("nan")

    def policy(self, j: int = -1, dtype=torch.float64) -> TanhGaussianPolicy:
        """The policy of checkpoint ``j`` (0: before training, -1: last)."""
        n = self.checkpoints.shape[0]
        if isinstance(j, bool) or not isinstance(j, int | np.integer) or not -n <= j < n:
            raise ValueError(f"j={j!r}: must be an integer in [{-n}, {n - 1}]")
        d = self.description
        actor = Actor(d["obs_dim"], d["act_dim"], tuple(d["hidden"]), dtype=dtype).set_flat(self.checkpoints[j])
        return TanhGaussianPolicy(actor, self.obs_mean[j].astype(np.float64), self.obs_var[j].astype(np.float64),
                                  d["act_low"], d["act_high"])


def describe(actor: Actor, spec: envs.EnvSpec) -> dict:
    return {"policy_kind": POLICY_KIND, "obs_dim": actor.obs_dim, "act_dim": actor.act_dim,
            "hidden": list(actor.hidden), "activation": "tanh", "log_std": "learned, state-independent",
            "squash": "tanh", "act_low": spec.act_low, "act_high": spec.act_high, "n_params": actor.n_params}


def train_ppo(config: PPOConfig = PPOConfig(), progress: Callable[[PPOProgress], object] | None = None,
              path=None, save_every: int = 25) -> PPORun:
    """Train with PPO (module docstring). If ``path`` (a name under data/runs/ or a folder) is given, the run is
    saved there every ``save_every`` updates and at the end — also when interrupted (KeyboardInterrupt, or the
    ``progress`` callback returning False), in which case the partial run is returned with meta interrupted=True.
    """
    if not isinstance(config, PPOConfig):
        raise ValueError(f"config={config!r}: must be a PPOConfig")
    int_at_least(save_every, "save_every", 1)
    c = config
    spec = envs.env_spec(c.env_id)
    threads = torch.get_num_threads()
    torch.set_num_threads(c.n_threads)
    try:
        return _train(c, spec, progress, None if path is None else _resolve(path), save_every)
    finally:
        torch.set_num_threads(threads)


def _train(c: PPOConfig, spec, progress, path, save_every) -> PPORun:
    t0 = time.perf_counter()
    with torch.random.fork_rng():  # seeded initialisation without touching the caller's global torch RNG
        torch.manual_seed(c.seed)
        actor = Actor(spec.obs_dim, spec.act_dim, c.hidden, c.init_log_std)
        critic = Critic(spec.obs_dim, c.hidden)
    gen = torch.Generator().manual_seed(c.seed + 1)
    rng = np.random.default_rng(c.seed + 2)
    params = list(actor.parameters()) + list(critic.parameters())
    opt = torch.optim.Adam(params, lr=c.lr, eps=1e-5)
    obs_rms = RunningMeanStd((spec.obs_dim,))
    ret_rms = RunningMeanStd(())
    disc_ret = np.zeros(c.n_envs)
    venv = _Envs(c.env_id, c.n_envs, c.horizon, seed=1_000_000 * (c.seed + 1))
    policy = TanhGaussianPolicy(actor, obs_rms.mean.copy(), obs_rms.var.copy(), spec.act_low, spec.act_high)
    ckpts, ckpt_updates, ckpt_mean, ckpt_var = [actor.flat()], [0], [policy.obs_mean], [policy.obs_var]
    keys = ("env_steps", "mean_return", "policy_loss", "entropy_loss", "entropy", "squashed_entropy", "value_loss",
            "critic_error", "explained_variance", "approx_kl", "clip_fraction", "grad_norm", "grad_norm_std",
            "log_std", "lr", "wall_time")
    hist = {k: [] for k in keys}
    eps_ret, eps_len, eps_end = [], [], []
    steps, best = 0, -math.inf
    interrupted = False
    description = describe(actor, spec)

    def snapshot(done: bool) -> PPORun:
        h = {k: np.asarray(v, dtype=np.float64) for k, v in hist.items()}
        h["log_std"] = np.asarray(hist["log_std"]).reshape(-1, spec.act_dim)
        h["episode_returns"] = np.asarray(eps_ret, dtype=np.float64)
        h["episode_lengths"] = np.asarray(eps_len, dtype=np.int64)
        h["episode_end_steps"] = np.asarray(eps_end, dtype=np.int64)
        wall = time.perf_counter() - t0
        meta = {"env_id": c.env_id, "algorithm": "ppo", **description, "config": c.to_dict(), "seed": c.seed,
                "optimizer": "adam", "wall_time_s": wall, "env_steps": steps, "n_updates_done": len(hist["env_steps"]),
                "steps_per_s": steps / max(wall, 1e-9), "torch_threads": c.n_threads, "interrupted": not done,
                "best_return": float(np.nanmax(h["mean_return"])) if np.any(np.isfinite(h["mean_return"])) else None}
        run = PPORun(c, description, np.stack(ckpts).astype(np.float32), np.asarray(ckpt_updates),
                     np.stack(ckpt_mean), np.stack(ckpt_var), h, meta, path)
        if path is not None:
            save_ppo_run(run, path)
        return run

    try:
        for update in range(1, c.n_updates + 1):
            frac = 1.0 - (update - 1) / c.n_updates
            lr = c.lr * frac if c.anneal_lr else c.lr
            for g in opt.param_groups:
                g["lr"] = lr
            batch = collect(venv, policy, c.n_steps, gen, steps)
            steps += c.batch_size
            # reward scaling by the running std of the discounted return (per env, reset at episode ends)
            rew = batch.rewards
            if c.reward_scale:
                rets = np.empty_like(rew)
                for t in range(c.n_steps):
                    disc_ret = disc_ret * c.gamma + rew[t]
                    rets[t] = disc_ret
                    disc_ret = np.where(batch.terminated[t] | batch.truncated[t], 0.0, disc_ret)
                ret_rms.update(rets)
                rew = np.clip(rew / math.sqrt(ret_rms.var + 1e-8), -CLIP_REWARD, CLIP_REWARD)
            stats = _update(c, actor, critic, opt, params, policy, batch, rew, rng)
            if c.obs_norm:  # the next batch acts with the normaliser that includes this one
                obs_rms.update(batch.obs)
                policy.obs_mean, policy.obs_var = obs_rms.mean.copy(), obs_rms.var.copy()
            eps_ret.extend(batch.episode_returns)
            eps_len.extend(batch.episode_lengths)
            eps_end.extend(batch.episode_end_steps)
            mean_ret = float(batch.episode_returns.mean()) if batch.episode_returns.size else float("nan")
            if math.isfinite(mean_ret):
                best = max(best, mean_ret)
            wall = time.perf_counter() - t0
            for k, v in {"env_steps": steps, "mean_return": mean_ret, "lr": lr, "wall_time": wall, **stats}.items():
                hist[k].append(v)
            if update % c.checkpoint_every == 0 or update == c.n_updates:
                ckpts.append(actor.flat())
                ckpt_updates.append(update)
                ckpt_mean.append(policy.obs_mean)
                ckpt_var.append(policy.obs_var)
            if progress is not None:
                p = PPOProgress(update, c.n_updates, steps, mean_ret, best, stats["policy_loss"], stats["value_loss"],
                                stats["entropy"], stats["approx_kl"], stats["clip_fraction"], wall, steps / wall)
                if progress(p) is False:
                    interrupted = True
                    break
            if path is not None and update % save_every == 0 and update < c.n_updates:
                snapshot(False)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        venv.close()
    if interrupted and ckpt_updates[-1] != len(hist["env_steps"]) and hist["env_steps"]:
        ckpts.append(actor.flat())
        ckpt_updates.append(len(hist["env_steps"]))
        ckpt_mean.append(policy.obs_mean)
        ckpt_var.append(policy.obs_var)
    return snapshot(not interrupted)


def _update(c: PPOConfig, actor, critic, opt, params, policy, batch: Batch, rew, rng) -> dict:
    T, N = rew.shape
    B = T * N
    x = policy.x(batch.obs.reshape(B, -1))
    x_next = policy.x(batch.next_obs.reshape(B, -1))
    with torch.no_grad():
        values = critic(x).double().numpy().reshape(T, N)
        next_values = critic(x_next).double().numpy().reshape(T, N)
    adv, ret = gae(rew, values, next_values, batch.terminated, batch.truncated, c.gamma, c.lam)
    critic_error = float(np.mean((values - ret) ** 2))  # of the critic that made the batch, before fitting
    explained = float(1 - np.var(ret - values) / max(np.var(ret), 1e-12))
    adv_t = torch.as_tensor(adv.reshape(B), dtype=torch.float32)
    if c.adv_norm == "batch":
        adv_t = (adv_t - adv_t.mean()) / (adv_t.std() + 1e-8)
    ret_t = torch.as_tensor(ret.reshape(B), dtype=torch.float32)
    u = torch.as_tensor(batch.u.reshape(B, -1))
    logp_old = torch.as_tensor(batch.logp.reshape(B), dtype=torch.float32)
    sums = {"policy_loss": 0.0, "entropy_loss": 0.0, "value_loss": 0.0, "approx_kl": 0.0, "clip_fraction": 0.0}
    norms = []
    n_mb = 0
    for _ in range(c.epochs):
        perm = rng.permutation(B)
        for start in range(0, B - c.minibatch_size + 1, c.minibatch_size):
            idx = torch.as_tensor(perm[start:start + c.minibatch_size])
            mu = actor(x[idx])
            logp = squashed_log_prob(u[idx], mu, actor.log_std, policy.act_low, policy.act_high)
            log_ratio = logp - logp_old[idx]
            ratio = torch.exp(log_ratio)
            a = adv_t[idx]
            if c.adv_norm == "minibatch":
                a = (a - a.mean()) / (a.std() + 1e-8)
            policy_loss = -clipped_surrogate(ratio, a, c.clip).mean()
            entropy = (actor.log_std + 0.5 * math.log(2 * math.pi * math.e)).sum()
            entropy_loss = -c.ent_coef * entropy
            value_loss = 0.5 * ((critic(x[idx]) - ret_t[idx]) ** 2).mean()
            loss = policy_loss + entropy_loss + c.vf_coef * value_loss
            opt.zero_grad()
            loss.backward()
            norms.append(float(torch.nn.utils.clip_grad_norm_(params, c.max_grad_norm)))
            opt.step()
            with torch.no_grad():
                sums["policy_loss"] += float(policy_loss)
                sums["entropy_loss"] += float(-entropy)  # −H, as the seed plots it (independent of ent_coef)
                sums["value_loss"] += float(value_loss)
                sums["approx_kl"] += float(((ratio - 1) - log_ratio).mean())
                sums["clip_fraction"] += float(((ratio - 1).abs() > c.clip).float().mean())
            n_mb += 1
    out = {k: v / n_mb for k, v in sums.items()}
    with torch.no_grad():
        base_entropy = float((actor.log_std + 0.5 * math.log(2 * math.pi * math.e)).sum())
    out.update(entropy=base_entropy, squashed_entropy=float(-batch.logp.mean()), critic_error=critic_error,
               explained_variance=explained, grad_norm=float(np.mean(norms)), grad_norm_std=float(np.std(norms)),
               log_std=actor.log_std.detach().numpy().astype(np.float64).copy())
    return out


# ------------------------------------------------------------------------------------------------------------
# Saving, loading, evaluating


def save_ppo_run(run: PPORun, name_or_path) -> Path:
    """Save to data/runs/<name>/ (or a folder) with gc_helpers.store, kind "run", algorithm "ppo"."""
    from .. import store

    arrays = {"checkpoints": run.checkpoints.astype(np.float32), "checkpoint_updates": run.checkpoint_updates,
              "obs_mean": run.obs_mean, "obs_var": run.obs_var, **run.history}
    return store.save(_resolve(name_or_path), RUN_KIND, arrays, run.meta)


def load_ppo_run(name_or_path, **expect) -> PPORun:
    """Load a PPO run by name (data/runs/<name>) or folder; ``expect`` as in store.load (e.g. env_id="Hopper-v5")."""
    from .. import store

    path = _resolve(name_or_path)
    art = store.load(path, RUN_KIND, **expect)
    if art.meta.get("algorithm") != "ppo":
        raise ValueError(f"{path} holds a {art.meta.get('algorithm', 'non-PPO')!r} run; expected a PPO run "
                         "(train one with bench/ppo.py)")
    keys = ("policy_kind", "obs_dim", "act_dim", "hidden", "activation", "log_std", "squash", "act_low", "act_high",
            "n_params")
    desc = {k: art.meta[k] for k in keys}
    fixed = ("checkpoints", "checkpoint_updates", "obs_mean", "obs_var")
    history = {k: v for k, v in art.arrays.items() if k not in fixed}
    return PPORun(PPOConfig.from_dict(art.meta["config"]), desc, art["checkpoints"], art["checkpoint_updates"],
                  art["obs_mean"], art["obs_var"], history, art.meta, art.path)


def evaluate_ppo(run: PPORun, j: int = -1, n_episodes: int = 10, horizon: int = 1000, seed: int = 10_000,
                 noise_std: float = 0.0) -> envs.Evaluation:
    """Return of checkpoint ``j`` acting deterministically (a = squash(μ(s))) with envs.evaluate."""
    return envs.evaluate(run.env_id, run.policy(j).mean_fn(), n_episodes=n_episodes, horizon=horizon, seed=seed,
                         noise_std=noise_std)


def smooth(y, window: int = 10) -> np.ndarray:
    """Moving average ignoring NaNs (for plotting noisy per-update curves)."""
    int_at_least(window, "window", 1)
    y = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(y)
    k = np.ones(window)
    num = np.convolve(np.where(ok, y, 0.0), k, mode="full")[: len(y)]
    den = np.convolve(ok.astype(float), k, mode="full")[: len(y)]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.maximum(den, 1), np.nan)


# ------------------------------------------------------------------------------------------------------------
# Compressibility of a weight change (notebook 06, last part; the tools are notebook 04's)


@dataclass(frozen=True)
class Compressibility:
    """Best-α cosine between a target and the span of the per-step scores of the first L steps of one random-action
    sequence, for each L in ``lengths``; ``null`` = √(L/P), the cosine with a random L-dim subspace."""

    lengths: np.ndarray
    cosines: np.ndarray
    null: np.ndarray
    n_params: int
    env_id: str
    reset_seed: int
    seed: int

    @property
    def ratio_to_null(self) -> np.ndarray:
        return self.cosines / self.null


def random_action_compressibility(score_fn: Callable, target, env_id: str, lengths, reset_seed: int = 42,
                                  seed: int = 0) -> Compressibility:
    """Replay ONE sequence of max(lengths) uniform-random actions open-loop from ``env.reset(seed=reset_seed)``,
    take the per-step scores ``score_fn(obs (L, d), actions (L, k)) -> (L, P)`` and fit the exact best α
    (compression.best_alpha_exact) on the first L steps, for each L. Any policy works: a PPO checkpoint's
    ``action_score`` or a fixed-σ GaussianPolicy's ``score``."""
    from .. import compression

    w = np.asarray(target, dtype=np.float64)
    if w.ndim != 1 or not np.all(np.isfinite(w)) or not np.any(w):
        raise ValueError("target must be a finite, non-zero vector (P,)")
    L = np.asarray(lengths)
    if L.ndim != 1 or L.size == 0 or not np.issubdtype(L.dtype, np.integer) or np.any(L < 1):
        raise ValueError(f"lengths={lengths!r}: must be a non-empty list of integers >= 1")
    if np.any(L > w.size):
        raise ValueError(f"lengths={lengths!r}: must not exceed the number of parameters P={w.size}")
    spec = envs.env_spec(envs.check_env_id(env_id))
    rng = np.random.default_rng(envs.check_seed(seed))
    n = int(L.max())
    actions = rng.uniform(spec.act_low, spec.act_high, (n, spec.act_dim))
    rep = envs.replay(envs.reset_state(env_id, envs.check_seed(reset_seed)), actions[None])
    G = np.asarray(score_fn(rep.obs[0, :n], actions), dtype=np.float64)
    if G.shape != (n, w.size):
        raise ValueError(f"score_fn returned shape {G.shape}; expected ({n}, {w.size})")
    cos = np.array([compression.best_alpha_exact(G[:m], w).cosine for m in L])
    return Compressibility(L.astype(np.int64), cos, compression.null_cosine(L, w.size), int(w.size), env_id,
                           int(reset_seed), int(seed))
