"""PPO's building blocks: the tanh-squashed Gaussian's density, the actor and critic networks, running
normalisers, and rollout collection from parallel environments. The algorithm itself reads top to bottom in
``gc_helpers.training.ppo.train_ppo``.

Taught in notebooks/06_ppo.ipynb: §2 (the squashed Gaussian and its change of variables), §3 (collecting a batch
with episode boundaries), §4 (the trainer).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .. import envs, sim
from ..policies import flat_parameters, load_flat_parameters

POLICY_KIND = "tanh_gaussian_mlp"
CLIP_OBS = 10.0
CLIP_REWARD = 10.0


# ------------------------------------------------------------------------------------------------------------
# The squashed Gaussian's density


def gaussian_log_prob(u: torch.Tensor, mu: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """log N(u; μ, diag σ²) summed over the last axis. Taught in notebooks/06_ppo.ipynb, §2."""
    z = (u - mu) * torch.exp(-log_std)
    return (-0.5 * z**2 - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)


def log_det_tanh(u: torch.Tensor) -> torch.Tensor:
    """Σ_i log(1 − tanh²u_i), computed stably as 2 (log 2 − u − softplus(−2u)).

    Taught in notebooks/06_ppo.ipynb, §2 (the change of variables); an exercise checks it."""
    return (2.0 * (math.log(2.0) - u - torch.nn.functional.softplus(-2.0 * u))).sum(-1)


def gaussian_entropy(log_std: torch.Tensor) -> torch.Tensor:
    """Entropy of the base Gaussian N(μ, diag σ²): Σ_i (log σ_i + ½ log 2πe) (the squashed entropy has no closed
    form). Taught in notebooks/06_ppo.ipynb, §2."""
    return (log_std + 0.5 * math.log(2 * math.pi * math.e)).sum()


def squash(u, low: float = -1.0, high: float = 1.0):
    """The env action a = low + (tanh(u) + 1)/2 · (high − low). Taught in notebooks/06_ppo.ipynb, §2."""
    return low + (torch.tanh(u) + 1.0) * (0.5 * (high - low))


def squashed_log_prob(u: torch.Tensor, mu: torch.Tensor, log_std: torch.Tensor, low: float = -1.0,
                      high: float = 1.0) -> torch.Tensor:
    """log π(a|s) of a = squash(u), u ~ N(μ, σ²): log N(u) − Σ log(1 − tanh²u) − k log((high − low)/2).
    Taught in notebooks/06_ppo.ipynb, §2."""
    if not high > low:
        raise ValueError(f"high={high!r} must be > low={low!r}")
    k = u.shape[-1]
    return gaussian_log_prob(u, mu, log_std) - log_det_tanh(u) - k * math.log(0.5 * (high - low))



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
    state-independent log-std. Operates on normalised observations; ``TanhGaussianPolicy`` adds the normaliser.
    Taught in notebooks/06_ppo.ipynb, §4."""

    def __init__(self, obs_dim, act_dim, hidden=(64, 64), init_log_std=0.0, dtype=torch.float32):
        super().__init__()
        self.obs_dim, self.act_dim, self.hidden = int(obs_dim), int(act_dim), tuple(hidden)
        self.net = _mlp((self.obs_dim, *self.hidden, self.act_dim), 0.01, dtype)
        self.log_std = torch.nn.Parameter(torch.full((self.act_dim,), float(init_log_std), dtype=dtype))
        self.n_params = sum(p.numel() for p in self.parameters())

    def forward(self, x):
        return self.net(x)

    def flat(self) -> np.ndarray:
        return flat_parameters(self)

    def set_flat(self, theta) -> Actor:
        return load_flat_parameters(self, theta, "actor")


class Critic(torch.nn.Module):
    """The value network V(x) of the normalised observation x. Taught in notebooks/06_ppo.ipynb, §4."""

    def __init__(self, obs_dim, hidden=(64, 64), dtype=torch.float32):
        super().__init__()
        self.net = _mlp((int(obs_dim), *tuple(hidden), 1), 1.0, dtype)

    def forward(self, x):
        return self.net(x).squeeze(-1)


class RunningMeanStd:
    """Running mean and variance (Chan et al. parallel update), float64. Taught in notebooks/06_ppo.ipynb, §4."""

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
    """(obs − mean) / √(var + 1e-8), clipped to ±CLIP_OBS. Taught in notebooks/06_ppo.ipynb, §4."""
    return np.clip((np.asarray(obs) - mean) / np.sqrt(var + 1e-8), -CLIP_OBS, CLIP_OBS)


@dataclass
class TanhGaussianPolicy:
    """A checkpoint as a policy on RAW observations: actor + the observation normaliser it acts with.
    Taught in notebooks/06_ppo.ipynb, §6."""

    actor: Actor
    obs_mean: np.ndarray
    obs_var: np.ndarray
    act_low: float
    act_high: float

    def normalized(self, obs) -> torch.Tensor:
        """The observations as the actor sees them: normalised with (obs_mean, obs_var) and clipped to ±10."""
        return torch.as_tensor(normalize_obs(obs, self.obs_mean, self.obs_var), dtype=self.actor.log_std.dtype)

    def log_prob(self, obs, u) -> torch.Tensor:
        """log π(a|s) of the squashed action a = squash(u) (differentiable in the actor's parameters)."""
        return squashed_log_prob(torch.as_tensor(u, dtype=self.actor.log_std.dtype), self.actor(self.normalized(obs)),
                                 self.actor.log_std, self.act_low, self.act_high)

    def mean_fn(self):
        """obs (n, d) -> the deterministic action squash(μ(s)), for rollouts.evaluate / .rollout (noise_std=0)."""

        def fn(obs):
            with torch.no_grad():
                return squash(self.actor(self.normalized(obs)), self.act_low, self.act_high).double().numpy()

        return fn

    def score(self, obs, u) -> torch.Tensor:
        """Per-step gradients ∇θ log π(a_t|s_t), (L, n_params), for obs (L, d) and pre-squash actions u (L, k)."""
        from torch.func import functional_call, grad, vmap

        params = {k: p.detach() for k, p in self.actor.named_parameters()}
        x = self.normalized(obs)
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
    """One rollout batch, arrays of shape (T, N, ...): T = n_steps, N = n_envs. Taught in notebooks/06_ppo.ipynb, §3."""

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


class ParallelEnvs:
    """N gymnasium envs stepped in a loop; an env is reset by us as soon as its episode ends, after its final
    observation has been recorded (so no autoreset step is ever stored). A context manager that closes them.

    Taught in notebooks/06_ppo.ipynb, §3."""

    def __init__(self, env_id, n, horizon, seed):
        self.envs = [sim.make_env(env_id, max_episode_steps=horizon) for _ in range(n)]
        self.obs = np.stack([e.reset(seed=seed + i)[0] for i, e in enumerate(self.envs)])
        for i, e in enumerate(self.envs):
            e.action_space.seed(seed + i)
        self.ep_return = np.zeros(n)
        self.ep_length = np.zeros(n, dtype=np.int64)

    def close(self):
        for e in self.envs:
            e.close()

    def __enter__(self) -> ParallelEnvs:
        return self

    def __exit__(self, *exc):
        self.close()


def collect(venv: ParallelEnvs, policy: TanhGaussianPolicy, n_steps: int, gen: torch.Generator,
            steps_before: int) -> Batch:
    """Step every env ``n_steps`` times with actions sampled from ``policy``; the batch of arrays (T, N, ...).
    Taught in notebooks/06_ppo.ipynb, §3."""
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
            mu = policy.actor(policy.normalized(venv.obs))
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


def tanh_gaussian_policy(description: dict, theta, obs_mean, obs_var, dtype=torch.float64) -> TanhGaussianPolicy:
    """The policy a PPO run's ``description`` and one checkpoint (weights ``theta``, normaliser ``obs_mean``,
    ``obs_var``) describe. Taught in notebooks/06_ppo.ipynb, §5."""
    d = description
    actor = Actor(d["obs_dim"], d["act_dim"], tuple(d["hidden"]), dtype=dtype).set_flat(theta)
    return TanhGaussianPolicy(actor, np.asarray(obs_mean).astype(np.float64), np.asarray(obs_var).astype(np.float64),
                              d["act_low"], d["act_high"])


def describe_actor(actor: Actor, spec: envs.EnvSpec) -> dict:
    """The JSON-able description that ``tanh_gaussian_policy`` rebuilds the policy from (weights not included).
    Taught in notebooks/06_ppo.ipynb, §4."""
    return {"policy_kind": POLICY_KIND, "obs_dim": actor.obs_dim, "act_dim": actor.act_dim,
            "hidden": list(actor.hidden), "activation": "tanh", "log_std": "learned, state-independent",
            "squash": "tanh", "act_low": spec.act_low, "act_high": spec.act_high, "n_params": actor.n_params}


class RewardScaler:
    """Divides rewards by the running std of the discounted return (as gymnasium's NormalizeReward), clipped to
    ±CLIP_REWARD; the discounted return of each env restarts at an episode's end.

    Taught in notebooks/06_ppo.ipynb, §4."""

    def __init__(self, n_envs: int, gamma: float):
        self.gamma = gamma
        self.discounted = np.zeros(n_envs)
        self.rms = RunningMeanStd(())

    def __call__(self, rewards: np.ndarray, ended: np.ndarray) -> np.ndarray:
        """Scaled rewards of a (T, N) batch; ``ended[t, i]``: env i's episode ended at step t."""
        rets = np.empty_like(rewards)
        for t in range(rewards.shape[0]):
            self.discounted = self.discounted * self.gamma + rewards[t]
            rets[t] = self.discounted
            self.discounted = np.where(ended[t], 0.0, self.discounted)
        self.rms.update(rets)
        return np.clip(rewards / math.sqrt(self.rms.var + 1e-8), -CLIP_REWARD, CLIP_REWARD)
