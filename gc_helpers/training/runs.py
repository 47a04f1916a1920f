"""One ``Run`` type for both trainers, one ``save_run`` and one ``load_run`` (kind "run" in data/runs/<name>/).

Taught in notebooks/02_train_quadratic_agent.ipynb, §3 (REINFORCE runs) and notebooks/06_ppo.ipynb, §5 (PPO runs).

A run holds its config (``TrainConfig`` or ``PPOConfig``: the run knows its task, ``run.env_id``), the policy
description that rebuilds the policy, the checkpoints (flat weights), the per-iteration history and its
evaluations. The two algorithms store the same way and differ only in what ``ALGOS`` lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import rollouts
from ..policies import from_description
from .configs import PPOConfig, TrainConfig
from .ppo_core import tanh_gaussian_policy


@dataclass(frozen=True)
class Algo:
    """How one algorithm's runs are stored (the on-disk format of data/runs/ is fixed; this names its parts)."""

    return_key: str  # the history array of the mean training return per iteration
    int_keys: tuple[str, ...]  # history arrays stored as int64 (the rest: float64)
    meta_stats: tuple[str, ...]  # summary numbers kept in meta.json
    per_checkpoint: tuple[str, ...]  # arrays with one row per checkpoint besides "checkpoints"
    checkpoint_dtype: type  # dtype of the checkpoints in memory and on disk


ALGOS = {
    "reinforce": Algo("returns", ("env_steps", "inner_steps"), ("n_iterations",), (), np.float64),
    "ppo": Algo("mean_return", ("episode_lengths", "episode_end_steps"),
                ("wall_time_s", "env_steps", "n_updates_done", "steps_per_s", "torch_threads", "best_return"),
                ("checkpoint_updates", "obs_mean", "obs_var"), np.float32),
}
RUN_KIND = "run"
_NOT_DESCRIPTION = {"kind", "format_version", "saved_at", "versions", "env_id", "algorithm", "config", "seed",
                    "optimizer", "evaluation", "interrupted"}


@dataclass(frozen=True)
class Run:
    """A training run of either trainer. ``checkpoints[j]`` holds the flat weights after iteration
    ``checkpoint_updates[j]`` (0: before training; REINFORCE keeps every iteration, PPO every
    ``checkpoint_every``-th and the last). ``history`` maps a name to a per-iteration array (REINFORCE: returns,
    return_std, lengths, forward_velocity, env_steps, wall_time, inner_steps, max_ratio, grad_norm, sigma; PPO:
    env_steps, mean_return, policy_loss, entropy_loss, entropy, squashed_entropy, value_loss, critic_error,
    explained_variance, approx_kl, clip_fraction, grad_norm, grad_norm_std, log_std, lr, wall_time, and the
    per-episode episode_returns, episode_lengths, episode_end_steps). ``evaluation`` maps a label to a dict of
    mean_return, stderr, mean_length, mean_forward_velocity, n_episodes, horizon, ...

    Taught in notebooks/02_train_quadratic_agent.ipynb, §3."""

    algo: str  # "reinforce" or "ppo"
    config: object  # the TrainConfig or PPOConfig it was trained with
    description: dict  # what rebuilds the policy (kind, dimensions, σ or action box, normaliser)
    checkpoints: np.ndarray  # (n_checkpoints, n_params)
    history: dict
    evaluation: dict = field(default_factory=dict)
    checkpoint_updates: np.ndarray | None = None  # iteration of each checkpoint (None: 0, 1, ..., n)
    obs_mean: np.ndarray | None = None  # PPO: the observation normaliser each checkpoint acts with
    obs_var: np.ndarray | None = None
    stats: dict = field(default_factory=dict)  # summary numbers saved in meta.json (ALGOS[algo].meta_stats)
    interrupted: bool = False  # stopped before the configured number of iterations
    path: Path | None = None

    def __post_init__(self):
        if self.algo not in ALGOS:
            raise ValueError(f"algo={self.algo!r}: allowed: {', '.join(ALGOS)}")
        if self.checkpoint_updates is None:
            object.__setattr__(self, "checkpoint_updates", np.arange(len(self.checkpoints)))

    @property
    def env_id(self) -> str:
        """The task the run was trained on."""
        return self.config.env_id

    @property
    def policy_kind(self) -> str:
        return self.description["policy_kind"]

    @property
    def n_iterations(self) -> int:
        """Iterations (PPO: updates) done."""
        return len(self.history.get(ALGOS[self.algo].return_key, ()))

    @property
    def weight_change(self) -> np.ndarray:
        """w_last − w_first: the direction the compression notebooks try to reproduce."""
        return self.checkpoints[-1].astype(np.float64) - self.checkpoints[0].astype(np.float64)

    @property
    def best_return(self) -> float:
        """The best mean training return of an iteration (NaN if none finished an episode)."""
        r = np.asarray(self.history.get(ALGOS[self.algo].return_key, ()), dtype=np.float64)
        return float(np.nanmax(r)) if np.any(np.isfinite(r)) else float("nan")

    @property
    def env_steps(self) -> int | None:
        """Env steps the training took (normaliser fitting included for REINFORCE)."""
        h = self.history.get("env_steps")
        return self.stats.get("env_steps") or (int(h[-1]) if h is not None and len(h) else None)

    @property
    def wall_time(self) -> float | None:
        """Seconds the training took."""
        h = self.history.get("wall_time")
        return self.stats.get("wall_time_s") or (float(h[-1]) if h is not None and len(h) else None)

    @property
    def meta(self) -> dict:
        """What meta.json holds besides the store's own keys (kind, format version, time, versions)."""
        c = self.config
        return {"env_id": self.env_id, "algorithm": self.algo, **self.description, "config": c.to_dict(),
                "seed": c.seed, "optimizer": c.optimizer, "evaluation": self.evaluation,
                "interrupted": self.interrupted, **self.stats}

    def policy(self, iteration: int = -1):
        """The policy of checkpoint ``iteration`` (0: before training, -1: last); see ``policy_at``."""
        return policy_at(self, iteration)


def policy_at(run: Run, iteration: int = -1):
    """Rebuild the policy of ``run`` at checkpoint ``iteration`` (0 = before training, -1 = last): a
    ``GaussianPolicy`` for REINFORCE, a ``TanhGaussianPolicy`` (float64) for PPO.

    Taught in notebooks/02_train_quadratic_agent.ipynb, §3."""
    n = run.checkpoints.shape[0]
    if isinstance(iteration, bool) or not isinstance(iteration, int | np.integer) or not -n <= iteration < n:
        raise ValueError(f"iteration={iteration!r}: must be an integer in [{-n}, {n - 1}] (a checkpoint index)")
    j = int(iteration)
    if run.algo == "ppo":
        return tanh_gaussian_policy(run.description, run.checkpoints[j], run.obs_mean[j], run.obs_var[j])
    return from_description({**run.description, "env_id": run.env_id}, run.checkpoints[j].astype(np.float64))


def runs_dir() -> Path:
    """data/runs/, where the shipped runs live. Taught in notebooks/02_train_quadratic_agent.ipynb, §3."""
    from ..config import data_dir

    return data_dir() / "runs"


def resolve(name_or_path) -> Path:
    """data/runs/<name> for a bare name, else the path itself.
    Taught in notebooks/02_train_quadratic_agent.ipynb, §3."""
    p = Path(name_or_path)
    if p.is_absolute() or p.exists() or len(p.parts) > 1:
        return p
    return runs_dir() / str(name_or_path)


def save_run(run: Run, name_or_path, dtype=None) -> Path:
    """Save ``run`` to data/runs/<name>/ (or a folder) with gc_helpers.store, kind "run"; returns the folder.
    ``dtype`` (float32 or float64) overrides the checkpoints' dtype (default: the algorithm's).

    Taught in notebooks/02_train_quadratic_agent.ipynb, §3."""
    from .. import store

    if not isinstance(run, Run):
        raise ValueError(f"run={run!r}: must be a training.Run")
    dtype = ALGOS[run.algo].checkpoint_dtype if dtype is None else dtype
    if np.dtype(dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype={dtype!r}: allowed: float32, float64")
    arrays = {"checkpoints": run.checkpoints.astype(dtype),
              **{k: getattr(run, k) for k in ALGOS[run.algo].per_checkpoint}, **run.history}
    return store.save(resolve(name_or_path), RUN_KIND, arrays, run.meta)


def load_run(name_or_path, algo: str | None = None, **expect) -> Run:
    """Load a saved run of either trainer by name (data/runs/<name>) or folder; ``algo`` ("reinforce" or "ppo")
    insists on that trainer's run; ``expect`` as in store.load (e.g. env_id="Ant-v5").

    Taught in notebooks/02_train_quadratic_agent.ipynb, §3 and notebooks/06_ppo.ipynb, §5."""
    from .. import store

    expected = algo
    if expected is not None and expected not in ALGOS:
        raise ValueError(f"algo={expected!r}: allowed: {', '.join(ALGOS)} (or None: either)")
    art = store.load(resolve(name_or_path), RUN_KIND, **expect)
    m = art.meta
    algo = m.get("algorithm", "reinforce")
    if algo not in ALGOS:
        raise ValueError(f"{art.path} holds a run of algorithm {algo!r}; this package reads {', '.join(ALGOS)}")
    if expected is not None and algo != expected:
        raise ValueError(f"{art.path} holds a {algo!r} run; expected algo={expected!r} (bench/training.py trains "
                         "REINFORCE runs, bench/ppo.py PPO runs)")
    a = ALGOS[algo]
    config = (PPOConfig if algo == "ppo" else TrainConfig).from_dict(m.get("config", {"env_id": m["env_id"]}))
    description = {k: v for k, v in m.items() if k not in _NOT_DESCRIPTION and k not in a.meta_stats}
    per_checkpoint = {k: art[k] for k in a.per_checkpoint}
    history = {k: v for k, v in art.arrays.items() if k != "checkpoints" and k not in per_checkpoint}
    return Run(algo, config, description, art["checkpoints"], history, m.get("evaluation", {}),
               stats={k: m[k] for k in a.meta_stats if k in m}, interrupted=bool(m.get("interrupted", False)),
               path=art.path, **per_checkpoint)


def evaluate_run(run: Run, n_episodes: int = 20, horizon: int = 1000, seed: int = 10_000,
                 sigmas: dict | None = None, iteration: int = -1) -> dict:
    """Evaluate checkpoint ``iteration`` on ``n_episodes`` episodes of ``horizon`` steps of the run's task, acting
    with the policy's mean plus Gaussian noise of each std in ``sigmas`` ({label: std}; default: σ as trained
    ("sigma_trained", REINFORCE only) and σ = 0 ("sigma_0")). Returns {label: rollouts.Evaluation}.

    Taught in notebooks/02_train_quadratic_agent.ipynb, §3."""
    policy = policy_at(run, iteration)
    if sigmas is None:
        sigmas = {"sigma_trained": policy.sigma, "sigma_0": 0.0} if hasattr(policy, "sigma") else {"sigma_0": 0.0}
    pool = rollouts.EnvPool(run.env_id, n_episodes)
    return {label: rollouts.evaluate(run.env_id, policy.mean_fn(), n_episodes, horizon, seed, float(s), pool=pool)
            for label, s in sigmas.items()}
