"""REINFORCE with a baseline and importance-sampled reuse of trajectories, keeping a checkpoint per iteration.

Taught in notebooks/02_train_quadratic_agent.ipynb; the saved runs (data/runs/<name>/) are the targets that
notebooks 03–05 compress.

One outer iteration:
1. sample ``n_envs`` episodes of at most ``horizon`` steps with the current policy (σ fixed), remembering
   log π_sample(a_t|s_t) for every step;
2. take up to ``inner_steps`` optimiser steps on that batch. Step k re-weights trajectory i by the importance
   ratio ρ_i = exp(Σ_t log π_θ(a_t|s_t) − Σ_t log π_sample(a_t|s_t)) (ρ = 1 on the first step). The inner loop
   stops as soon as the largest ratio exceeds ``stop_ratio`` (the study: 4e4) or falls below 1/stop_ratio
   (every trajectory has become unlikely: the self-normalised weights would be noise), and ratios are capped at
   ``ratio_cap`` (truncated importance sampling) before they weight the loss;
3. save a copy of the weights (the checkpoint).

Loss (``estimator="episode"``, the study's): L(θ) = −Σ_i ρ_i (G_i − b) · mean_t log π_θ(a_t|s_t) / Σ_i ρ_i with
G_i the undiscounted episode return and b = Σ ρ_i G_i / Σ ρ_i. ρ is a constant weight in the loss (detached):
ρ ∇ log π_θ(τ) = ∇ρ, so the gradient is the importance-sampled policy gradient.
``estimator="reward_to_go"`` replaces (G_i − b) by A_it = R_it − b_t (R_it = Σ_{t'≥t} γ^{t'−t} r_it', b_t the
ρ-weighted mean of R_·t over the episodes still alive at t) and averages Σ_t A_it log π over all steps.

The optimiser is a choice: SGD with momentum (the study) makes the weight change a sum of policy gradients;
Adam rescales each coordinate, so its weight change is much less compressible (DESIGN.md).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .. import envs
from ..checks import int_at_least, positive_float
from ..config import config_from_dict, config_to_dict
from ..policies import KINDS, GaussianPolicy, Normalizer, describe, from_description, make_policy

OPTIMIZERS = ("sgd", "adam")
ESTIMATORS = ("episode", "reward_to_go")
BASELINES = ("mean", "none")
RUN_KIND = "run"


# ------------------------------------------------------------------------------------------------------------
# Configuration


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on. Defaults: the study-faithful quadratic Ant run (DESIGN.md)."""

    env_id: str = "Ant-v5"
    policy_kind: str = "quadratic"
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
    optimizer: str = "sgd"
    lr: float = 2e-3
    momentum: float = 0.9  # SGD only
    betas: tuple[float, float] = (0.9, 0.999)  # Adam only
    grad_clip: float | None = 1.0  # max gradient norm (None: no clipping)
    estimator: str = "episode"
    baseline: str = "mean"
    gamma: float = 1.0  # discount of the reward-to-go (estimator="reward_to_go" only)
    normalize_advantages: bool = False
    norm_episodes: int = 100  # random-action episodes that fit the observation normaliser (0: identity)
    norm_horizon: int = 100
    seed: int = 0
    n_threads: int = 1  # torch threads for the gradient computation
    clip_actions: bool = True  # env gets actions clipped to the box (False: raw, as the study; see envs.rollout)

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
        envs.check_seed(self.seed)
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer={self.optimizer!r}: allowed: {', '.join(OPTIMIZERS)}")
        if self.estimator not in ESTIMATORS:
            raise ValueError(f"estimator={self.estimator!r}: allowed: {', '.join(ESTIMATORS)}")
        if self.baseline not in BASELINES:
            raise ValueError(f"baseline={self.baseline!r}: allowed: {', '.join(BASELINES)}")
        positive_float(self.lr, "lr")
        if not _is_number(self.momentum) or not 0 <= self.momentum < 1:
            raise ValueError(f"momentum={self.momentum!r}: must be a number in [0, 1)")
        if len(self.betas) != 2 or not all(_is_number(b) and 0 <= b < 1 for b in self.betas):
            raise ValueError(f"betas={self.betas!r}: must be two numbers in [0, 1)")
        if self.grad_clip is not None:
            positive_float(self.grad_clip, "grad_clip")
        if not _is_number(self.stop_ratio) or not self.stop_ratio > 1:
            raise ValueError(f"stop_ratio={self.stop_ratio!r}: must be a number > 1 (the study: 4e4)")
        if not _is_number(self.ratio_cap) or not self.ratio_cap >= 1:
            raise ValueError(f"ratio_cap={self.ratio_cap!r}: must be a number >= 1 (math.inf: no cap)")
        if not _is_number(self.gamma) or not 0 < self.gamma <= 1:
            raise ValueError(f"gamma={self.gamma!r}: must be a number in (0, 1]")
        if self.init not in (None, "zero", "study"):
            raise ValueError(f"init={self.init!r}: allowed: None, 'zero', 'study'")

    def to_dict(self) -> dict:
        return config_to_dict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        return config_from_dict(cls, d)

    def sigma_at(self, iteration: int) -> float:
        """σ used to sample at outer iteration ``iteration`` (0-based)."""
        if self.sigma_final is None or self.n_iterations == 1:
            return float(self.sigma)
        f = iteration / (self.n_iterations - 1)
        return float(math.exp((1 - f) * math.log(self.sigma) + f * math.log(self.sigma_final)))


def _is_number(x) -> bool:
    return not isinstance(x, bool) and isinstance(x, int | float | np.integer | np.floating) and not math.isnan(x)


def _check_env(env_id):
    """A supported MuJoCo task with a Box action space, or a ValueError saying what is wrong."""
    if env_id in envs.supported_env_ids():
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
    raise ValueError(f"env_id={env_id!r} is not supported; allowed: {', '.join(envs.supported_env_ids())}")


# ------------------------------------------------------------------------------------------------------------
# The loss


def importance_weights(logp_new: torch.Tensor, logp_old: torch.Tensor, ratio_cap: float) -> torch.Tensor:
    """Capped importance ratios ρ_i = min(exp(Σ_t log π_new − Σ_t log π_old), ratio_cap), one per episode.

    ``logp_new`` and ``logp_old`` are per-episode sums (N,). The result is detached (a weight, not a function of θ).
    """
    if not (isinstance(ratio_cap, int | float) and ratio_cap >= 1):
        raise ValueError(f"ratio_cap={ratio_cap!r}: must be a number >= 1")
    log_rho = (logp_new - logp_old).detach()
    return torch.exp(torch.clamp(log_rho, max=math.log(ratio_cap)))


def advantages(rewards: np.ndarray, mask: np.ndarray, rho: np.ndarray, estimator: str = "episode",
               baseline: str = "mean", gamma: float = 1.0, normalize: bool = False) -> np.ndarray:
    """The weight A_it of log π(a_t|s_t) in the loss, (N, T), zero where ``mask`` is False.

    "episode": A_it = G_i − b (b = ρ-weighted mean return), the same for every step of an episode.
    "reward_to_go": A_it = R_it − b_t, b_t the ρ-weighted mean reward-to-go over the episodes alive at t.
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator={estimator!r}: allowed: {', '.join(ESTIMATORS)}")
    if baseline not in BASELINES:
        raise ValueError(f"baseline={baseline!r}: allowed: {', '.join(BASELINES)}")
    r = np.where(mask, rewards, 0.0)
    w = np.asarray(rho, dtype=np.float64)[:, None]
    if estimator == "episode":
        G = r.sum(axis=1, keepdims=True)
        b = (w * G).sum() / w.sum() if baseline == "mean" else 0.0
        A = np.broadcast_to(G - b, r.shape).copy()
    else:
        R = np.zeros_like(r)
        acc = np.zeros(r.shape[0])
        for t in range(r.shape[1] - 1, -1, -1):
            acc = r[:, t] + gamma * acc
            R[:, t] = acc
        if baseline == "mean":
            wm = w * mask
            b = (wm * R).sum(axis=0) / np.maximum(wm.sum(axis=0), 1e-300)
            A = R - b[None]
        else:
            A = R
    A = np.where(mask, A, 0.0)
    if normalize:
        std = A[mask].std()
        A = np.where(mask, A / max(std, 1e-8), 0.0)
    return A


def surrogate_loss(logp: torch.Tensor, mask: torch.Tensor, adv: torch.Tensor, rho: torch.Tensor,
                   estimator: str = "episode") -> torch.Tensor:
    """The REINFORCE surrogate whose gradient is the (importance-sampled) policy gradient.

    logp, mask, adv: (N, T) per-step log π_θ, step mask, advantage; rho: (N,) detached importance weights.
    "episode" (the study): −Σ_i ρ_i Σ_t A_it log π_it / n_i / Σ ρ_i (n_i the episode's length: mean_t).
    "reward_to_go": −Σ_i ρ_i Σ_t A_it log π_it / Σ_i ρ_i n_i (every step counts the same).
    """
    m = mask.to(logp.dtype)
    per_episode = (adv * logp * m).sum(dim=1)
    n = m.sum(dim=1).clamp(min=1)
    if estimator == "episode":
        return -(rho * per_episode / n).sum() / rho.sum()
    return -(rho * per_episode).sum() / (rho * n).sum()


# ------------------------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Progress:
    """What the progress callback receives after every outer iteration."""

    iteration: int  # 1-based
    n_iterations: int
    mean_return: float  # of the training episodes (horizon steps, σ as sampled)
    mean_length: float
    mean_forward_velocity: float
    env_steps: int  # cumulative
    wall_time: float  # seconds since the start (normaliser included)
    inner_steps: int
    max_ratio: float
    sigma: float


@dataclass(frozen=True)
class Run:
    """A training run: the weights after every iteration and the per-iteration history.

    checkpoints[0] is w_first (before any update), checkpoints[-1] w_last. ``history`` holds per-iteration
    arrays: returns, return_std, lengths, forward_velocity, env_steps (cumulative), wall_time (cumulative, s),
    inner_steps, max_ratio, grad_norm, sigma. ``evaluation`` maps a label ("sigma_trained", "sigma_0") to a dict
    of mean_return, stderr, mean_length, mean_forward_velocity, n_episodes, horizon, noise_std.
    """

    env_id: str
    description: dict  # policies.describe(policy): kind, dims, σ, normaliser
    config: dict
    checkpoints: np.ndarray  # (n_iterations + 1, n_params)
    history: dict
    evaluation: dict = field(default_factory=dict)
    interrupted: bool = False
    path: Path | None = None

    @property
    def policy_kind(self) -> str:
        return self.description["policy_kind"]

    @property
    def n_iterations(self) -> int:
        return self.checkpoints.shape[0] - 1

    @property
    def weight_change(self) -> np.ndarray:
        """w_last − w_first: the direction the compression notebooks try to reproduce."""
        return self.checkpoints[-1] - self.checkpoints[0]

    def policy(self, iteration: int = -1) -> GaussianPolicy:
        """The policy with the weights of checkpoint ``iteration`` (0: initial weights; -1: final)."""
        return policy_at(self, iteration)


def policy_at(run: Run, iteration: int = -1) -> GaussianPolicy:
    """Rebuild the policy of ``run`` at checkpoint ``iteration`` (0 = before training, -1 = last)."""
    n = run.checkpoints.shape[0]
    if isinstance(iteration, bool) or not isinstance(iteration, int | np.integer) or not -n <= iteration < n:
        raise ValueError(f"iteration={iteration!r}: must be an integer in [{-n}, {n - 1}]")
    return from_description(run.description, run.checkpoints[int(iteration)].astype(np.float64))


# ------------------------------------------------------------------------------------------------------------
# Training


def fit_normalizer(env_id: str, n_episodes: int = 100, horizon: int = 100, seed: int = 0,
                   pool: envs.EnvPool | None = None) -> tuple[Normalizer, int]:
    """Observation mean/std from ``n_episodes`` uniform-random-action episodes of ``horizon`` steps (the study's
    recipe), and the env steps it took. ``n_episodes=0`` gives the identity normaliser."""
    spec = envs.env_spec(envs.check_env_id(env_id))
    int_at_least(n_episodes, "n_episodes", 0)
    int_at_least(horizon, "horizon", 1)
    if n_episodes == 0:
        return Normalizer.identity(spec.obs_dim), 0
    rng = np.random.default_rng(envs.check_seed(seed))
    pool = pool if pool is not None and len(pool) == n_episodes else envs.EnvPool(env_id, n_episodes)
    r = envs.rollout(pool, lambda obs: rng.uniform(spec.act_low, spec.act_high, (len(obs), spec.act_dim)),
                     horizon, seed=seed, noise_std=0.0)
    return Normalizer.fit(r.obs[r.mask]), r.env_steps


def _iteration_seed(seed: int, iteration: int, n_envs: int) -> int:
    """Env-reset / noise seed of an outer iteration: distinct per iteration, far from evaluate's seeds."""
    return 1_000_000 * (seed + 1) + iteration * n_envs


def train_reinforce(config: TrainConfig = TrainConfig(), callback: Callable[[Progress], object] | None = None,
                    pool: envs.EnvPool | None = None, verbose: bool = False) -> Run:
    """Train a Gaussian policy with REINFORCE (see the module docstring); returns the Run (not yet saved).

    ``callback(progress)`` is called after every outer iteration (a tqdm bar, a live plot); if it returns
    False, training stops there. Ctrl-C also stops training and returns what was done so far
    (``run.interrupted``). The same config (seed included) gives the same weights.
    """
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config={config!r}: must be a TrainConfig")
    c = config
    t0 = time.perf_counter()
    torch.set_num_threads(c.n_threads)
    spec = envs.env_spec(c.env_id)
    normalizer, steps = fit_normalizer(c.env_id, c.norm_episodes, c.norm_horizon, seed=c.seed)
    policy = make_policy(c.policy_kind, spec.obs_dim, spec.act_dim, c.sigma, normalizer, hidden=c.hidden,
                         init=c.init, seed=c.seed)
    params = list(policy.parameters())
    if c.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=c.lr, momentum=c.momentum)
    else:
        opt = torch.optim.Adam(params, lr=c.lr, betas=c.betas)
    if pool is None or pool.env_id != c.env_id or len(pool) != c.n_envs:
        pool = envs.EnvPool(c.env_id, c.n_envs)
    checkpoints = [policy.flat()]
    keys = ("returns", "return_std", "lengths", "forward_velocity", "env_steps", "wall_time", "inner_steps",
            "max_ratio", "grad_norm", "sigma")
    hist = {k: [] for k in keys}
    interrupted = False
    try:
        for it in range(c.n_iterations):
            sigma = c.sigma_at(it)
            policy.sigma = sigma
            r = envs.rollout(pool, policy.mean_fn(), c.horizon, _iteration_seed(c.seed, it, c.n_envs), sigma,
                             clip=c.clip_actions)
            steps += r.env_steps
            n_inner, max_ratio, gnorm = _update(policy, opt, r, c)
            checkpoints.append(policy.flat())
            ret = r.returns
            vals = (ret.mean(), ret.std(), r.lengths.mean(), r.forward_velocity.sum() / max(r.env_steps, 1), steps,
                    time.perf_counter() - t0, n_inner, max_ratio, gnorm, sigma)
            for k, v in zip(keys, vals):
                hist[k].append(v)
            p = Progress(it + 1, c.n_iterations, float(vals[0]), float(vals[2]), float(vals[3]), int(steps),
                         float(vals[5]), int(n_inner), float(max_ratio), float(sigma))
            if verbose:
                print(f"iter {p.iteration:4d}  return {p.mean_return:8.1f}  len {p.mean_length:6.1f}  "
                      f"v {p.mean_forward_velocity:5.2f}  steps {p.env_steps:9d}  t {p.wall_time:7.1f}s  "
                      f"inner {n_inner}  ρmax {max_ratio:.3g}", flush=True)
            if callback is not None and callback(p) is False:
                break
    except KeyboardInterrupt:
        interrupted = True
    policy.sigma = float(c.sigma_final if c.sigma_final is not None else c.sigma)
    history = {k: np.asarray(v, dtype=np.int64 if k in ("env_steps", "inner_steps") else np.float64)
               for k, v in hist.items()}
    n_done = len(history["returns"])
    return Run(c.env_id, describe(policy), c.to_dict(), np.stack(checkpoints[: n_done + 1]), history,
               interrupted=interrupted)


def _update(policy: GaussianPolicy, opt: torch.optim.Optimizer, r: envs.Rollouts, c: TrainConfig):
    """Up to ``c.inner_steps`` importance-weighted optimiser steps on one batch; returns (steps, max ρ, |g|)."""
    obs = torch.as_tensor(r.obs)
    act = torch.as_tensor(r.actions)
    mask = torch.as_tensor(r.mask)
    with torch.no_grad():
        logp_old = (policy.log_prob(obs, act) * mask).sum(dim=1)
    n_inner, max_ratio, gnorm = 0, 1.0, 0.0
    for k in range(c.inner_steps):
        logp = policy.log_prob(obs, act)
        if k == 0:
            rho = torch.ones(len(r.lengths), dtype=logp.dtype)
        else:
            log_rho = ((logp * mask).sum(dim=1) - logp_old).detach()
            max_ratio = float(torch.exp(log_rho.max()))
            if not 1 / c.stop_ratio <= max_ratio <= c.stop_ratio:  # blown up, or every ratio vanished
                break
            rho = importance_weights((logp * mask).sum(dim=1), logp_old, c.ratio_cap)
        adv = advantages(r.rewards, r.mask, rho.numpy(), c.estimator, c.baseline, c.gamma, c.normalize_advantages)
        loss = surrogate_loss(logp, mask, torch.as_tensor(adv), rho, c.estimator)
        opt.zero_grad()
        loss.backward()
        g = torch.nn.utils.clip_grad_norm_(policy.parameters(), c.grad_clip if c.grad_clip else math.inf)
        gnorm = float(g)
        opt.step()
        n_inner += 1
    return n_inner, max_ratio, gnorm


# ------------------------------------------------------------------------------------------------------------
# Evaluation, saving, loading


def evaluate_run(run: Run, n_episodes: int = 20, horizon: int = 1000, seed: int = 10_000,
                 sigmas: dict | None = None, iteration: int = -1) -> dict:
    """Evaluate checkpoint ``iteration`` on ``n_episodes`` episodes of ``horizon`` steps, at σ as trained and σ=0.

    Returns {label: envs.Evaluation}; ``sigmas`` overrides the labels and noise levels.
    """
    policy = policy_at(run, iteration)
    if sigmas is None:
        sigmas = {"sigma_trained": policy.sigma, "sigma_0": 0.0}
    pool = envs.EnvPool(run.env_id, n_episodes)
    return {label: envs.evaluate(run.env_id, policy.mean_fn(), n_episodes, horizon, seed, float(s), pool=pool)
            for label, s in sigmas.items()}


def evaluation_dict(ev: envs.Evaluation) -> dict:
    """The JSON-able summary of an Evaluation that a run stores."""
    return {"mean_return": ev.mean_return, "stderr": ev.stderr, "mean_length": ev.mean_length,
            "mean_forward_velocity": ev.mean_forward_velocity, "n_episodes": len(ev.returns),
            "horizon": ev.horizon, "noise_std": ev.noise_std, "returns": [float(x) for x in ev.returns]}


def with_evaluation(run: Run, evaluations: dict) -> Run:
    """A copy of ``run`` whose ``evaluation`` holds ``evaluations`` ({label: Evaluation or dict})."""
    ev = {k: (evaluation_dict(v) if isinstance(v, envs.Evaluation) else dict(v)) for k, v in evaluations.items()}
    return dataclasses.replace(run, evaluation={**run.evaluation, **ev})


def runs_dir() -> Path:
    from ..config import data_dir

    return data_dir() / "runs"


def _resolve(name_or_path) -> Path:
    p = Path(name_or_path)
    if p.is_absolute() or p.exists() or len(p.parts) > 1:
        return p
    return runs_dir() / str(name_or_path)


def save_run(run: Run, name_or_path, dtype=np.float64) -> Path:
    """Save ``run`` to data/runs/<name>/ (or a path) with gc_helpers.store (kind "run"); returns the folder."""
    if np.dtype(dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype={dtype!r}: allowed: float32, float64")
    from .. import store

    arrays = {"checkpoints": run.checkpoints.astype(dtype), **{k: np.asarray(v) for k, v in run.history.items()}}
    meta = {"env_id": run.env_id, **run.description, "config": run.config, "seed": run.config.get("seed"),
            "optimizer": run.config.get("optimizer"), "evaluation": run.evaluation, "interrupted": run.interrupted,
            "n_iterations": run.n_iterations}
    return store.save(_resolve(name_or_path), RUN_KIND, arrays, meta)


def load_run(name_or_path, **expect) -> Run:
    """Load a saved run by name (data/runs/<name>) or path; ``expect`` as in store.load (e.g. env_id="Ant-v5")."""
    from .. import store

    art = store.load(_resolve(name_or_path), RUN_KIND, **expect)
    desc_keys = ("policy_kind", "obs_dim", "act_dim", "sigma", "hidden", "n_params", "obs_mean", "obs_std")
    desc = {k: art.meta[k] for k in desc_keys if k in art.meta}
    history = {k: v for k, v in art.arrays.items() if k != "checkpoints"}
    return Run(art.meta["env_id"], desc, art.meta.get("config", {}), art["checkpoints"], history,
               art.meta.get("evaluation", {}), bool(art.meta.get("interrupted", False)), art.path)


def notebook_progress(n_iterations: int, horizon: int, label: str = "REINFORCE", every: int = 1):
    """A callback for ``train_reinforce`` that shows a tqdm bar and a live plot of the training return vs
    env steps in a notebook; returns (callback, close). Call ``close()`` after training."""
    int_at_least(n_iterations, "n_iterations", 1)
    int_at_least(horizon, "horizon", 1)
    int_at_least(every, "every", 1)
    import matplotlib.pyplot as plt
    from IPython.display import display
    from tqdm.auto import tqdm

    bar = tqdm(total=n_iterations, desc=label)
    fig, ax = plt.subplots(figsize=(6, 3))
    handle = display(fig, display_id=True)
    plt.close(fig)
    steps, returns = [], []

    def callback(p: Progress):
        steps.append(p.env_steps)
        returns.append(p.mean_return)
        bar.update(1)
        bar.set_postfix(ret=f"{p.mean_return:.0f}", v=f"{p.mean_forward_velocity:.2f} m/s")
        if p.iteration % every == 0 or p.iteration == p.n_iterations:
            ax.clear()
            ax.plot(steps, returns, "o-", ms=3)
            ax.set_xlabel("env steps")
            ax.set_ylabel(f"mean return ({horizon}-step episodes)")
            ax.set_title(label)
            ax.grid(alpha=0.3)
            if handle is not None:
                handle.update(fig)

    def close():
        bar.close()
        return fig

    return callback, close
