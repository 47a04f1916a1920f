"""The bookkeeping both trainers share, kept out of their loops: history, checkpoints, progress callbacks,
periodic saving, wall time, torch threads and Ctrl-C.

Taught in notebooks/02_train_quadratic_agent.ipynb, §2 (and used the same way by notebooks/06_ppo.ipynb, §4).

A trainer uses it as::

    with Recorder(config, callback) as rec:        # starts the clock; Ctrl-C ends the block, keeping the work
        ...build the policy...
        rec.start(describe, policy.flat())         # checkpoint 0
        for it in range(1, n + 1):
            ...the algorithm...
            rec.checkpoint(it, policy.flat())
            if not rec.log(it, env_steps=..., returns=..., ...):   # history row, callback, periodic save
                break
    return rec.run
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..checks import int_at_least
from .runs import ALGOS, Run, resolve, save_run


@dataclass(frozen=True)
class Progress:
    """What a progress callback receives after every iteration (PPO: update). ``stats`` is the iteration's
    history row; its entries read as attributes too (``p.approx_kl``, ``p.forward_velocity``).

    Taught in notebooks/02_train_quadratic_agent.ipynb, §2."""

    iteration: int  # 1-based
    n_iterations: int
    env_steps: int  # cumulative
    mean_return: float  # of this iteration's training episodes (PPO: NaN if none ended)
    best_return: float  # the best mean_return so far
    wall_time: float  # seconds since the recorder started
    stats: dict

    @property
    def update(self) -> int:
        """PPO's name for the iteration."""
        return self.iteration

    @property
    def n_updates(self) -> int:
        return self.n_iterations

    @property
    def steps_per_s(self) -> float:
        return self.env_steps / max(self.wall_time, 1e-9)

    def __getattr__(self, name):
        stats = self.__dict__.get("stats") or {}
        if name in stats:
            return stats[name]
        raise AttributeError(f"Progress has no {name!r}; it has the fields and the stats {sorted(stats)}")


class Recorder:
    """History, checkpoints, progress and saving for one training run of ``config`` (a TrainConfig or
    PPOConfig). ``callback(progress)`` is called after every iteration; returning False stops training.
    With ``path`` the run is saved there every ``save_every`` iterations and at the end. ``checkpoint_every``:
    keep the weights of every k-th iteration (the first and the last are always kept).

    Taught in notebooks/02_train_quadratic_agent.ipynb, §2."""

    def __init__(self, config, callback: Callable | None = None, path=None, save_every: int = 25,
                 checkpoint_every: int = 1, verbose: bool = False):
        self.config, self.algo = config, config.algo
        self.callback, self.verbose = callback, verbose
        self.path = None if path is None else resolve(path)
        self.save_every = int_at_least(save_every, "save_every", 1)
        self.checkpoint_every = int_at_least(checkpoint_every, "checkpoint_every", 1)
        self.history: dict[str, list] = {}
        self.kept: list[tuple] = []  # (iteration, flat weights, obs_mean, obs_var)
        self.pending = None  # the latest checkpoint not kept (PPO keeps it if training stops there)
        self.describe = None
        self.env_steps, self.best = 0, -math.inf
        self.run: Run | None = None

    def __enter__(self) -> Recorder:
        self.t0 = time.perf_counter()
        self.threads = torch.get_num_threads()
        torch.set_num_threads(self.config.n_threads)
        return self

    def start(self, describe: Callable[[], dict], flat, obs_mean=None, obs_var=None):
        """``describe()``: the policy description a saved run needs; ``flat``: the weights before training."""
        self.describe = describe
        self.kept.append((0, flat, obs_mean, obs_var))

    def checkpoint(self, iteration: int, flat, obs_mean=None, obs_var=None):
        """The weights (and PPO's normaliser) after ``iteration``; kept every ``checkpoint_every`` iterations."""
        entry = (iteration, flat, obs_mean, obs_var)
        if iteration % self.checkpoint_every == 0 or iteration == self.config.n_iterations:
            self.kept.append(entry)
            self.pending = None
        else:
            self.pending = entry

    def extend(self, **arrays):
        """Per-episode entries (PPO: episode_returns, ...), appended to the history."""
        for k, v in arrays.items():
            self.history.setdefault(k, []).extend(v)

    def log(self, iteration: int, env_steps: int, **row) -> bool:
        """Append one iteration's history row (plus env_steps and wall_time), report progress, save every
        ``save_every`` iterations; False if the callback asked to stop."""
        wall = time.perf_counter() - self.t0
        for k, v in {"env_steps": env_steps, **row, "wall_time": wall}.items():
            self.history.setdefault(k, []).append(v)
        self.env_steps = env_steps
        mean_return = float(row[ALGOS[self.algo].return_key])
        if math.isfinite(mean_return):
            self.best = max(self.best, mean_return)
        p = Progress(iteration, self.config.n_iterations, int(env_steps), mean_return, self.best, wall, row)
        if self.verbose:
            print(f"iter {p.iteration:4d}/{p.n_iterations}  return {p.mean_return:8.1f}  best {p.best_return:8.1f}  "
                  f"steps {p.env_steps:9d}  t {p.wall_time:7.1f}s", flush=True)
        if self.callback is not None and self.callback(p) is False:
            return False
        if self.path is not None and iteration % self.save_every == 0 and iteration < self.config.n_iterations:
            save_run(self.snapshot(), self.path)
        return True

    def snapshot(self) -> Run:
        """The run so far (interrupted unless every configured iteration is done)."""
        a = ALGOS[self.algo]
        n = len(self.history.get(a.return_key, ()))
        kept = [e for e in self.kept if e[0] <= n]
        if self.pending is not None and self.pending[0] == n and kept[-1][0] != n:
            kept.append(self.pending)
        history = {k: np.asarray(v, dtype=np.int64 if k in a.int_keys else np.float64)
                   for k, v in self.history.items()}
        wall = time.perf_counter() - self.t0
        best = float(np.nanmax(history[a.return_key])) if np.any(np.isfinite(history.get(a.return_key, []))) else None
        stats = {"n_iterations": n, "n_updates_done": n, "env_steps": self.env_steps, "wall_time_s": wall,
                 "steps_per_s": self.env_steps / max(wall, 1e-9), "torch_threads": self.config.n_threads,
                 "best_return": best}
        per_checkpoint = {}
        if "obs_mean" in a.per_checkpoint:
            per_checkpoint = {"checkpoint_updates": np.array([e[0] for e in kept]),
                              "obs_mean": np.stack([e[2] for e in kept]), "obs_var": np.stack([e[3] for e in kept])}
        return Run(self.algo, self.config, self.describe(), np.stack([e[1] for e in kept]).astype(a.checkpoint_dtype),
                   history, stats={k: stats[k] for k in a.meta_stats}, interrupted=n < self.config.n_iterations,
                   path=self.path, **per_checkpoint)

    def __exit__(self, exc_type, exc, tb):
        torch.set_num_threads(self.threads)
        if self.describe is None or (exc_type is not None and not issubclass(exc_type, KeyboardInterrupt)):
            return False  # nothing to keep yet, or an error: let it propagate
        self.run = self.snapshot()
        if self.path is not None:
            save_run(self.run, self.path)
        return True


def notebook_progress(n_iterations: int, horizon: int, label: str = "REINFORCE", every: int = 1):
    """A callback for ``train_reinforce`` that shows a tqdm bar and a live plot of the training return vs
    env steps in a notebook; returns (callback, close). Call ``close()`` after training.

    Taught in notebooks/02_train_quadratic_agent.ipynb, §2."""
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
        bar.set_postfix(ret=f"{p.mean_return:.0f}", v=f"{p.forward_velocity:.2f} m/s")
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
