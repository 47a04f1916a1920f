"""Iterated decompression: compress at the current weights, step, re-compress; and the "decompressed" artifact
of an earlier protocol (line searches and rounds saved together).

Taught in notebooks/05_line_search_decompression.ipynb, §7 Iterated decompression.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from gc_helpers import rollouts, store
from gc_helpers.checks import finite_array, int_at_least
from gc_helpers.line_search import LineSearch, check_betas, check_direction
from gc_helpers.policies import GaussianPolicy
from gc_helpers.vectors import cosine


@dataclass(frozen=True)
class DecompressionRound:
    """One round of ``iterated_decompression`` (notebooks/05_line_search_decompression.ipynb, §7)."""

    theta: np.ndarray  # weights after the round
    cosine: float  # cos(compressed direction, w_last − θ_before)
    residual: float  # ‖w_last − θ_after‖ / ‖w_last − w_first‖
    evaluation: rollouts.Evaluation | None
    beta: float = 1.0  # the step taken, θ_after = θ_before + β d (1: the α step; else the line search's pick)



def iterated_decompression(
    policy: GaussianPolicy,
    w_last,
    compress: Callable[[GaussianPolicy, np.ndarray], np.ndarray],
    rounds: int,
    evaluate: Callable[[GaussianPolicy], rollouts.Evaluation] | None = None,
    progress: Callable[[int, DecompressionRound], None] | None = None,
    betas=None,
) -> list[DecompressionRound]:
    """Compress at the current weights, step, re-compress: ``rounds`` manufactured trajectories in all.

    ``compress(policy_k, target)`` returns the compressed update d_k = Σ_t α_t g_t for target = w_last − θ_k,
    with the per-step gradients g_t taken at θ_k and the exact α (so its length is the projection of the target
    on their span). Without ``betas`` each round steps θ_{k+1} = θ_k + d_k: the step length is carried by α and
    no return is measured inside the loop. With ``betas`` each round is a line search θ_k + β d_k over the grid,
    keeping the β with the best ``evaluate`` return (the study's line search, repeated). With the exact α, d_k is
    the target's projection on the gradients' span, so the residual after the step is
    r_k² (1 − (2β − β²) cos_k²): it shrinks for 0 < β < 2 and is unchanged at β = 2.
    ``evaluate(policy)`` scores the policy after each round (required with ``betas``).
    Taught in notebooks/05_line_search_decompression.ipynb, §7 Iterated decompression.
    """
    theta = policy.flat()
    last = check_direction(finite_array(w_last, "w_last") - theta, theta.size, "w_last − w_first") + theta
    rounds = int_at_least(rounds, "rounds")
    grid = None if betas is None else check_betas(betas)
    if grid is not None and evaluate is None:
        raise ValueError("betas needs evaluate: the line search scores each β by its return")
    total = np.linalg.norm(last - theta)
    current = policy.with_flat(theta)
    out = []
    for k in range(rounds):
        target = last - theta
        step = check_direction(compress(current, target), theta.size, "compress(...) result")
        cos = cosine(step, target)
        if grid is None:
            theta = theta + step
            current.set_flat(theta)
            ev = evaluate(current) if evaluate is not None else None
        else:
            tried = []
            for beta in grid:
                current.set_flat(theta + beta * step)
                tried.append((evaluate(current), beta))
            ev, beta = max(tried, key=lambda pair: pair[0].mean_return)
            theta = theta + beta * step
            current.set_flat(theta)
        rnd = DecompressionRound(theta.copy(), cos, float(np.linalg.norm(last - theta) / total), ev,
                                 1.0 if grid is None else float(beta))
        out.append(rnd)
        if progress is not None:
            progress(k, rnd)
    return out



def save_results(path, searches: Sequence[LineSearch], rounds: Sequence[DecompressionRound], meta: dict):
    """Save line searches (same β grid) and iterated-decompression rounds as a "decompressed" artifact.
    Taught in notebooks/05_line_search_decompression.ipynb, §7 Iterated decompression (shipped, earlier protocol)."""
    if not searches:
        raise ValueError("searches is empty: nothing to save")
    arrays = {
        "labels": np.array([s.label for s in searches]),
        "betas": np.stack([s.betas for s in searches]),
        "scales": np.array([s.scale for s in searches]),
        "returns": np.stack([s.returns for s in searches]),
        "stderrs": np.stack([s.stderrs for s in searches]),
        "episode_lengths": np.stack([[e.mean_length for e in s.evaluations] for s in searches]),
        "velocities": np.stack([[e.mean_forward_velocity for e in s.evaluations] for s in searches]),
        "n_episodes": np.array([len(s.evaluations[0].returns) for s in searches]),
        "round_cosines": np.array([r.cosine for r in rounds]),
        "round_residuals": np.array([r.residual for r in rounds]),
        "round_picked_betas": np.array([r.beta for r in rounds]),
        "round_returns": np.array([r.evaluation.mean_return if r.evaluation else np.nan for r in rounds]),
        "round_stderrs": np.array([r.evaluation.stderr if r.evaluation else np.nan for r in rounds]),
        "round_velocities": np.array([r.evaluation.mean_forward_velocity if r.evaluation else np.nan for r in rounds]),
        "round_lengths": np.array([r.evaluation.mean_length if r.evaluation else np.nan for r in rounds]),
    }
    return store.save(path, "decompressed", arrays, meta)
