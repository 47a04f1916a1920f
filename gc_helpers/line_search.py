"""The line search: walk from w_first along a direction d and pick the step β by a score.

Taught in notebooks/05_line_search_decompression.ipynb, §2 The line search.

- ``theta_at``, ``best_beta``, ``scan_line``: the line search itself, pure (θ = w_first + β · scale · d̂ for each β on
  a grid, scored by any callable); the notebook's exercises are checked against them.
- ``line_search`` scores each candidate by many evaluation episodes in parallel (mean return ± standard error,
  episode length, forward velocity) on the policy's task and returns a ``LineSearch``; ``edge_of`` says whether a
  pick sits at the edge of the β tried.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import rollouts
from .checks import finite_array, positive_float
from .policies import GaussianPolicy, task_of


def check_direction(direction, n_params: int, name: str = "direction") -> np.ndarray:
    """A finite, non-zero float64 vector of length ``n_params``, or a ValueError naming ``name``.
    Taught in notebooks/05_line_search_decompression.ipynb, §2 The line search."""
    d = finite_array(direction, name)
    if d.shape != (n_params,):
        raise ValueError(f"{name} has shape {d.shape}; expected ({n_params},) for this policy")
    if not np.any(d):
        raise ValueError(f"{name} is the zero vector; a direction must be non-zero")
    return d



def check_betas(betas) -> np.ndarray:
    """The β grid as a finite, non-empty float64 vector (e.g. np.linspace(0.2, 1.2, 11)).
    Taught in notebooks/05_line_search_decompression.ipynb, §2 The line search."""
    return finite_array(betas, "betas").reshape(-1)


# ------------------------------------------------------------------------------------------------------------
# The line search, pure (reference functions: the notebook's exercises are checked against them)


def theta_at(w_first, direction, beta: float, scale: float) -> np.ndarray:
    """θ = w_first + β · scale · d̂ with d̂ = direction / ‖direction‖.
    Taught in notebooks/05_line_search_decompression.ipynb, §2 The line search."""
    w = finite_array(w_first, "w_first", ndim=1)
    d = check_direction(direction, w.size)
    return w + beta * scale * (d / np.linalg.norm(d))



def best_beta(betas, scores) -> float:
    """The β with the highest score (the first one if several tie).
    Taught in notebooks/05_line_search_decompression.ipynb, §2 The line search."""
    b, s = check_betas(betas), finite_array(scores, "scores").reshape(-1)
    if s.shape != b.shape:
        raise ValueError(f"scores has {s.size} entries; expected one per β ({b.size})")
    return float(b[int(np.argmax(s))])



def scan_line(w_first, direction, betas, scale: float, score: Callable[[np.ndarray], object]) -> list:
    """``score(theta_at(w_first, direction, β, scale))`` for every β in ``betas``, in order.
    Taught in notebooks/05_line_search_decompression.ipynb, §2 The line search."""
    positive_float(scale, "scale")
    return [score(theta_at(w_first, direction, beta, scale)) for beta in check_betas(betas)]



@dataclass(frozen=True)
class LineSearch:
    """Returns along w_first + β · scale · d̂ for each β (see ``line_search``); the best candidate's weights are
    ``theta_at(w_first, direction, best_beta, scale)``."""

    betas: np.ndarray
    evaluations: tuple  # rollouts.Evaluation per β
    scale: float
    label: str = ""
    w_first: np.ndarray | None = None
    direction: np.ndarray | None = None
    edge: str = ""  # "low"/"high": the best β is the smallest/largest β tried (the optimum may lie beyond)

    @property
    def returns(self) -> np.ndarray:
        return np.array([e.mean_return for e in self.evaluations])

    @property
    def stderrs(self) -> np.ndarray:
        return np.array([e.stderr for e in self.evaluations])

    @property
    def best_index(self) -> int:
        return int(np.argmax(self.returns))

    @property
    def best_beta(self) -> float:
        return best_beta(self.betas, self.returns)

    @property
    def best(self) -> rollouts.Evaluation:
        return self.evaluations[self.best_index]



def line_search(
    policy: GaussianPolicy,
    direction,
    betas,
    scale: float,
    env_id: str | None = None,
    n_episodes: int = 20,
    horizon: int = 1000,
    noise_std: float = 0.0,
    seed: int = 10_000,
    label: str = "",
    progress: Callable[[int, int, rollouts.Evaluation], None] | None = None,
) -> LineSearch:
    """Evaluate θ = θ_policy + β · scale · d̂ for every β in ``betas`` (``scan_line``) on the task ``env_id`` (the
    policy's own unless given; a mismatch is a ValueError).

    ``scale`` is usually ‖w_last − w_first‖, so that β = cos(d̂, Δw) is the projection step. Every candidate is
    scored on the same ``n_episodes`` start states (``seed``) so that differences between β are not noise in
    the starts. Taught in notebooks/05_line_search_decompression.ipynb, §2 The line search.
    """
    theta0 = policy.flat()
    d = check_direction(direction, theta0.size)
    b = check_betas(betas)
    positive_float(scale, "scale")
    env_id = task_of(policy, env_id)
    pool = rollouts.EnvPool(env_id, n_episodes)
    candidate = policy.with_flat(theta0)
    results = []

    def evaluate(theta):
        ev = rollouts.evaluate(env_id, candidate.set_flat(theta).mean_fn(), n_episodes, horizon, seed, noise_std,
                           pool=pool)
        results.append(ev)
        if progress is not None:
            progress(len(results) - 1, len(b), ev)
        return ev

    scan_line(theta0, d, b, scale, evaluate)
    return LineSearch(b, tuple(results), float(scale), label, theta0, d)



def edge_of(betas, best: float) -> str:
    """"low" if ``best`` is the smallest of ``betas``, "high" if the largest, "" if inside (a grid of one: "low").
    Taught in notebooks/05_line_search_decompression.ipynb, §2 The line search."""
    b = check_betas(betas)
    return "low" if best <= b.min() else "high" if best >= b.max() else ""
