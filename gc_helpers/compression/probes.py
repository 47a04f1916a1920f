"""The random-action probe: how well does the span of the per-step scores of ONE uniform-random-action sequence
reproduce a weight change, as a function of its length L? (no search, no policy-driven actions)

Taught in notebooks/06_ppo.ipynb, §6 (compressing the PPO agent's weight change); the cosines come from
``span.span_cosine`` and the null model from ``span.null_cosine`` (notebooks/04_alpha_optimisation.ipynb).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import envs, sim
from ..checks import check_seed
from .span import check_vector, null_cosine, span_cosine


@dataclass(frozen=True)
class Compressibility:
    """Best-α cosine between a target and the span of the per-step scores of the first L steps of one random-action
    sequence, for each L in ``lengths``; ``null`` = √(L/P), the cosine with a random L-dim subspace.

    Taught in notebooks/06_ppo.ipynb, §6."""

    lengths: np.ndarray
    cosines: np.ndarray
    null: np.ndarray
    n_params: int
    env_id: str
    reset_seed: int
    seed: int


def random_action_compressibility(score_fn: Callable, target, env_id: str, lengths, reset_seed: int = 42,
                                  seed: int = 0) -> Compressibility:
    """Replay ONE sequence of max(lengths) uniform-random actions open-loop from ``env.reset(seed=reset_seed)``,
    take the per-step scores ``score_fn(obs (L, d), actions (L, k)) -> (L, P)`` and fit the exact best α
    (``span_cosine``) on the first L steps, for each L. Any policy works: a PPO checkpoint's ``action_score`` or
    a fixed-σ GaussianPolicy's ``score``.

    Taught in notebooks/06_ppo.ipynb, §6."""
    w = check_vector(target, "target")
    L = np.asarray(lengths)
    if L.ndim != 1 or L.size == 0 or not np.issubdtype(L.dtype, np.integer) or np.any(L < 1):
        raise ValueError(f"lengths={lengths!r}: must be a non-empty list of integers >= 1")
    if np.any(L > w.size):
        raise ValueError(f"lengths={lengths!r}: must not exceed the number of parameters P={w.size}")
    spec = envs.env_spec(sim.check_env_id(env_id))
    rng = np.random.default_rng(check_seed(seed))
    n = int(L.max())
    actions = rng.uniform(spec.act_low, spec.act_high, (n, spec.act_dim))
    rep = envs.replay(envs.reset_state(env_id, check_seed(reset_seed)), actions[None])
    G = np.asarray(score_fn(rep.obs[0, :n], actions), dtype=np.float64)
    if G.shape != (n, w.size):
        raise ValueError(f"score_fn returned shape {G.shape}; expected ({n}, {w.size})")
    cos = np.array([span_cosine(G[:m].T, w) for m in L])
    return Compressibility(L.astype(np.int64), cos, null_cosine(L, w.size), int(w.size), env_id, int(reset_seed),
                           int(seed))
