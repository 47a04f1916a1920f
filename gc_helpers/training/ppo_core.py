"""PPO's building blocks: the tanh-squashed Gaussian's density, the actor and critic networks, running
normalisers, rollout collection from parallel environments, and the actor's parameter blocks (log σ, each layer)
with how compressible a weight change is block by block. The algorithm itself reads top to bottom in
``gc_helpers.training.ppo.train_ppo``.

Taught in notebooks/06_ppo.ipynb: §2 (the squashed Gaussian and its change of variables), §3 (collecting a batch
with episode boundaries), §4 (the trainer), §6 (the weight change block by block).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .. import envs, sim
from ..checks import check_seed, int_at_least
from ..compression.span import best_alpha, check_vector
from ..compression.targets import random_target
from ..policies import flat_parameters, load_flat_parameters
from ..vectors import cosine

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


def _normalize_obs(obs, mean, var):
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
        return torch.as_tensor(_normalize_obs(obs, self.obs_mean, self.obs_var), dtype=self.actor.log_std.dtype)

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


# ------------------------------------------------------------------------------------------------------------
# Where a weight change lives: the actor's parameter blocks


def parameter_blocks(actor: Actor) -> dict[str, slice]:
    """The actor's parameter blocks (``log_std`` and each layer's ``net.<i>.weight`` and ``net.<i>.bias``) as
    slices of its flat parameter vector (``Actor.flat`` order). Taught in notebooks/06_ppo.ipynb, §6."""
    blocks, start = {}, 0
    for name, p in actor.named_parameters():
        blocks[name] = slice(start, start + p.numel())
        start += p.numel()
    return blocks


@dataclass(frozen=True)
class BlockCompressibility:
    """A weight change w split into parameter blocks b (``names``), each read at one length L over random-action
    sequences (``seeds``); arrays (S, B) have one row per sequence and one column per block.

    - ``share``: ‖w_b‖² / ‖w‖²;
    - ``cosines``: the block's own best-α cosine, cos(w_b, span of the L per-step scores restricted to b);
    - ``null``: the same construction for a random direction of the block's size (``random_target(P_b, seed)``);
    - ``contribution``: ⟨d_b, w_b⟩ / ‖w‖², with d the projection of the WHOLE w on the span of the whole scores;
      over blocks that partition the parameters these add up to ``whole``², the whole vector's cos²;
    - ``whole``: the whole vector's cosine per sequence (``random_action_compressibility``'s, for the same seed).

    Taught in notebooks/06_ppo.ipynb, §6."""

    names: tuple[str, ...]
    sizes: np.ndarray
    share: np.ndarray
    length: int
    seeds: np.ndarray
    cosines: np.ndarray
    null: np.ndarray
    contribution: np.ndarray
    whole: np.ndarray

    @property
    def spanned(self) -> np.ndarray:
        """Blocks with L ≥ P_b: L scores span the whole block (cos 1 for any direction), so there is nothing to test."""
        return self.length >= self.sizes


def span_basis(G) -> np.ndarray:
    """An orthonormal basis (P, r) of the span of the columns of G (P, L): the left singular vectors whose singular
    values pass the rank cut numpy's least squares uses (``lstsq``'s ``rcond=None``), so projecting on it is the
    same as ``span.span_cosine``'s least-squares fit. Taught in notebooks/06_ppo.ipynb, §6."""
    U, sv, _ = np.linalg.svd(np.asarray(G, dtype=np.float64), full_matrices=False)
    if sv.size == 0 or sv[0] == 0:
        return U[:, :0]
    return U[:, sv > np.finfo(np.float64).eps * max(G.shape) * sv[0]]


def block_compressibility(policy: TanhGaussianPolicy, weight_change, env_id: str, length: int, blocks=None,
                          seeds=range(10), reset_seed: int = 42) -> BlockCompressibility:
    """Per parameter block of ``weight_change``: its share of ‖w‖², its own compressibility against its own null,
    and its part of the whole vector's cos², at ``length`` steps of each random-action sequence in ``seeds``.

    Sequence s is the one ``compression.random_action_compressibility(..., seed=s)`` probes: uniform actions in
    the box from ``numpy.random.default_rng(s)``, replayed open-loop from ``env.reset(seed=reset_seed)``, scored by
    ``policy.action_score``. ``blocks`` maps a name to a slice or an index array of the flat parameters (default:
    ``parameter_blocks(policy.actor)``; a union such as "all but log_std" may be added). Taught in
    notebooks/06_ppo.ipynb, §6."""
    P = policy.actor.n_params
    w = check_vector(weight_change, "weight_change", size=P)
    spec = envs.env_spec(sim.check_env_id(env_id))
    L = int_at_least(length, "length")
    if L > P:
        raise ValueError(f"length={length!r}: must not exceed the number of parameters P={P}")
    seeds = np.array([check_seed(s) for s in seeds], dtype=np.int64)
    if seeds.size == 0 or np.unique(seeds).size != seeds.size:
        raise ValueError(f"seeds={seeds.tolist()}: must be a non-empty list of distinct seeds")
    blocks = parameter_blocks(policy.actor) if blocks is None else dict(blocks)
    if not blocks:
        raise ValueError("blocks: must name at least one block (name -> slice or index array)")
    index = {}
    for name, sel in blocks.items():
        idx = np.arange(P)[sel]
        if idx.ndim != 1 or idx.size == 0 or np.unique(idx).size != idx.size:
            raise ValueError(f"blocks[{name!r}]: must select a non-empty set of distinct parameters of 0..{P - 1}")
        index[name] = idx
    start = envs.reset_state(env_id, reset_seed)
    sizes = np.array([idx.size for idx in index.values()])
    cos, null, contrib = (np.empty((seeds.size, len(index))) for _ in range(3))
    whole = np.empty(seeds.size)
    for i, s in enumerate(seeds):
        actions = np.random.default_rng(int(s)).uniform(spec.act_low, spec.act_high, (L, spec.act_dim))
        obs = envs.replay(start, actions[None]).obs[0, :L]
        G = np.asarray(policy.action_score(obs, actions).detach().numpy(), dtype=np.float64)  # (L, P)
        d = G.T @ best_alpha(G.T, w)  # the whole w projected on the whole span
        whole[i] = cosine(d, w) if np.any(d) else 0.0  # = span_cosine(G.T, w), without a second fit
        for j, idx in enumerate(index.values()):
            U = span_basis(G[:, idx].T)  # one basis per block serves Δw_b and its null direction
            r = random_target(idx.size, int(s)).vector
            cos[i, j] = np.linalg.norm(U.T @ w[idx]) / np.linalg.norm(w[idx]) if np.any(w[idx]) else np.nan
            null[i, j] = np.linalg.norm(U.T @ r) / np.linalg.norm(r)
            contrib[i, j] = float(d[idx] @ w[idx] / (w @ w))
    share = np.array([np.sum(w[idx] ** 2) for idx in index.values()]) / np.sum(w**2)
    return BlockCompressibility(tuple(index), sizes, share, L, seeds, cos, null, contrib, whole)
