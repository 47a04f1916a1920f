"""The cross-entropy method (CEM), one iteration at a time, and the whole-sequence CEM of the study's report.

Taught in notebooks/03_cem_compression.ipynb, §3 Algorithm 1 (no α) against Algorithm 2 (best α), both with CEM.
``cem_iteration`` is the reference the notebook's exercise is checked against; the whole-sequence CEM here and the
chunk CEM of the chunk search (``gc_research.chunk_optimisers.chunk_cem``) both use it.

Whole-sequence CEM: a population of action sequences of length L is drawn from N(μ, std²) (μ = 0 and std = σ at
the start), replayed open loop from one reset state, and each candidate is scored by the cosine of its per-step
gradients with the target, either without α (``alpha="none"``: the plain sum Σ_t g_t, the study's Algorithm 1)
or with the best α (``alpha="exact"``: ‖P_G w‖/‖w‖, Algorithm 2 with the exact projection instead of L-BFGS).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .. import envs
from ..checks import check_seed, finite_array, int_at_least, positive_float
from ..policies import GaussianPolicy, task_of
from .incremental import span_gains
from .span import best_alpha_exact, no_alpha, null_cosine
from .targets import target_vector

ALPHA_MODES = ("none", "exact")


def cem_iteration(mean, std, score: Callable[[np.ndarray], np.ndarray], population: int, elites: int,
                  rng: np.random.Generator, low=-1.0, high=1.0, include_mean: bool = True,
                  min_std: float | None = None, drop_invalid: bool = False, min_elites: int = 2,
                  skip_checks: bool = False):
    """One CEM iteration: sample ``population`` candidates from N(mean, std²) (the first is the mean itself),
    clip them to [low, high], score them (``score``: array (population, *mean.shape) -> (population,)), and refit
    the mean and std to the ``elites`` best. Returns (new_mean, new_std, best_x, best_score).

    Every CEM of the package is this function. The options serve the outer search of notebook 07: candidate 0 is
    drawn like the others (``include_mean=False``); ``low``/``high`` may be arrays (±inf leaves a coordinate
    free); with ``drop_invalid`` a non-finite score (an invalid candidate) is never an elite, and with fewer than
    ``min_elites`` finite elites the mean and std stay; ``min_std`` floors the new std (where the old one was > 0)
    instead of adding 1e-6. ``skip_checks`` drops the argument checks (a loop that checked them once).

    Taught in notebooks/03_cem_compression.ipynb, §3 Algorithm 1 (no α) against Algorithm 2 (best α).
    """
    if not skip_checks:
        mean = finite_array(mean, "mean")
        std = finite_array(std, "std")
        if np.any(std < 0) or (np.ndim(std) and np.shape(std) != np.shape(mean)):
            raise ValueError(f"std has shape {np.shape(std)} or a negative entry; expected >= 0, a number or "
                             f"the mean's shape {np.shape(mean)}")
        population = int_at_least(population, "population", 1)
        elites = int_at_least(elites, "elites", 1)
        if elites > population:
            raise ValueError(f"elites={elites}: must be at most population={population}")
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng={rng!r}: must be a numpy.random.Generator (np.random.default_rng(seed))")
        if not callable(score):
            raise ValueError(f"score={score!r}: must be a callable candidates -> scores")
    X = mean + std * rng.standard_normal((population, *np.shape(mean)))
    if include_mean:
        X[0] = mean
    X = np.clip(X, low, high)
    scores = np.asarray(score(X), dtype=np.float64)
    if not skip_checks and scores.shape != (population,):
        raise ValueError(f"score returned shape {scores.shape}; expected ({population},): one score per candidate")
    order = np.argsort(-scores)  # best first
    top = order[:elites]
    elite = X[top[np.isfinite(scores[top])]] if drop_invalid else X[top]
    best_x, best_score = X[order[0]], float(scores[order[0]])
    if drop_invalid and len(elite) < min_elites:
        return mean, std, best_x, best_score
    new_std = elite.std(0) + 1e-6 if min_std is None else np.maximum(elite.std(0), min_std * (std > 0))
    return elite.mean(0), new_std, best_x, best_score


def batch_cosines(G: torch.Tensor, w: torch.Tensor, alpha: str, tol: float = 1e-10) -> torch.Tensor:
    """Cosine of each candidate's gradients G (B, L, P) with the unit target w (P,).

    alpha="none": cos(Σ_t g_t, w). alpha="exact": max_α cos(Σ_t α_t g_t, w) = ‖P_G w‖, the projection on the span
    of the L gradients (``incremental.span_gains`` with an empty span; directions with eigenvalue below ``tol`` ×
    the largest count as dependent). Taught in notebooks/03_cem_compression.ipynb, §3.
    """
    if alpha == "none":
        s = G.sum(1)
        return (s @ w) / torch.linalg.norm(s, dim=-1).clamp_min(1e-300)
    if alpha != "exact":
        raise ValueError(f"alpha={alpha!r}: allowed: {', '.join(ALPHA_MODES)}")
    return torch.sqrt(span_gains(G, w, tol=tol, relative=True, skip_checks=True).clamp(0.0, 1.0))


@dataclass(frozen=True)
class CEMResult:
    """The best sequence a whole-sequence CEM found.

    actions (L, k), obs (L + 1, d): obs[t] is the state where actions[t] is taken; cosine: its score under
    ``alpha``; cosine_exact / cosine_none: the same sequence scored with the best α / with no α;
    alpha_coef (L,): the best α of the sequence (least squares, scaled to reproduce the target's length);
    history (iterations,): the best score so far after each iteration; env_steps, seconds: the cost.
    """

    L: int
    sigma: float
    alpha: str
    actions: np.ndarray
    obs: np.ndarray
    cosine: float
    cosine_exact: float
    cosine_none: float
    alpha_coef: np.ndarray
    history: np.ndarray
    null: float
    n_params: int
    env_steps: int
    seconds: float
    reset_seed: int


def cem_sequence(policy: GaussianPolicy, target, L: int, sigma: float, alpha: str = "exact", population: int = 32,
                 elites: int = 6, iterations: int = 5, reset_seed: int = 42, seed: int = 0,
                 env_id: str | None = None, n_threads: int | None = None) -> CEMResult:
    """The cross-entropy method over a whole action sequence of length ``L`` (Algorithm 1 with
    ``alpha="none"``, Algorithm 2 with ``alpha="exact"``): ``iterations`` calls of ``cem_iteration`` from μ = 0,
    std = ``sigma``, each candidate replayed from ``envs.reset_state(env_id, reset_seed)`` (env_id: the policy's
    task unless given) and scored with ``batch_cosines`` at the policy's weights. Pure: the same arguments give
    the same result. Taught in notebooks/03_cem_compression.ipynb, §3 and §4 Try it: the horizon L and the search σ.
    """
    L, sigma = int_at_least(L, "L"), positive_float(sigma, "sigma")
    if alpha not in ALPHA_MODES:
        raise ValueError(f"alpha={alpha!r}: allowed: {', '.join(ALPHA_MODES)}")
    population = int_at_least(population, "population", 2)
    elites = int_at_least(elites, "elites", 1)
    if elites > population:
        raise ValueError(f"elites={elites!r}: must be <= population={population}")
    iterations = int_at_least(iterations, "iterations", 1)
    if not isinstance(policy, GaussianPolicy):
        raise ValueError(f"policy={type(policy).__name__}: must be a gc_helpers.policies.GaussianPolicy")
    w_np = target_vector(target, policy.n_params)
    w = torch.as_tensor(w_np / np.linalg.norm(w_np))
    env_id = task_of(policy, env_id)
    spec = envs.env_spec(env_id)
    start = envs.reset_state(env_id, reset_seed)
    rng = np.random.default_rng(check_seed(seed))
    t0 = time.perf_counter()

    def score(X):  # the cosine of each candidate sequence (population, L, k)
        rep = envs.replay(start, X, n_threads=n_threads)
        with torch.no_grad():
            return batch_cosines(policy.score(rep.obs[:, :-1], X), w, alpha).numpy()

    mu, std = np.zeros((L, spec.act_dim)), np.full((L, spec.act_dim), sigma)
    best_a, best_c, history = None, -np.inf, []
    for _ in range(iterations):
        mu, std, x, c = cem_iteration(mu, std, score, population, elites, rng, spec.act_low, spec.act_high,
                                      skip_checks=True)
        if c > best_c:
            best_c, best_a = c, x.copy()
        history.append(best_c)
    best_obs = envs.replay(start, best_a[None], n_threads=n_threads).obs[0]  # the best sequence's states
    G = policy.score(best_obs[:-1], best_a).detach().numpy()
    exact = best_alpha_exact(G, w_np)
    return CEMResult(L, sigma, alpha, best_a, best_obs, best_c, exact.cosine, no_alpha(G, w_np).cosine, exact.alpha,
                     np.asarray(history), float(null_cosine(L, policy.n_params)), int(policy.n_params),
                     population * L * iterations, time.perf_counter() - t0, int(reset_seed))
