"""Checkers for notebooks/03_cem_compression.ipynb: one CEM iteration (§3, Algorithm 1 vs 2 with CEM) and the gain
of a chunk against the prefix's span (§5, longer sequences grown chunk by chunk).

The references are the package's own short functions that the searches use: ``compression.cem.cem_iteration``
and ``compression.span.chunk_gain``. Cases are random inputs drawn from fixed seeds.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .core import Case, check

CEM_EXERCISE = "Exercise 3.1 (one CEM iteration: sample, clip, score, refit)"
GAIN_EXERCISE = "Exercise 3.2 (the gain of a chunk against the prefix's span)"


def _peak_score(peak):
    """A score for candidates X (population, *shape): higher when X is closer to ``peak`` (which lies partly
    outside the box [-1, 1], so that clipping matters)."""
    peak = np.asarray(peak, dtype=np.float64)

    def score(X):
        X = np.asarray(X, dtype=np.float64)
        return -np.sum((X - peak) ** 2, axis=tuple(range(1, X.ndim)))

    return score


def _cem_cases():
    rng = np.random.default_rng(3)
    cases = []
    for name, shape, pop, elites, std in (("a 6-dim mean, population 20, 5 elites", (6,), 20, 5, 0.8),
                                          ("a sequence of 4 steps × 3 actions, population 16, 4 elites", (4, 3),
                                           16, 4, 1.5),
                                          ("a wide search σ = 3 (most samples clipped)", (5,), 30, 6, 3.0)):
        mean = rng.uniform(-0.5, 0.5, shape)
        std_arr = np.full(shape, std)
        peak = rng.uniform(-2.0, 2.0, shape)
        cases.append(Case(name, (mean, std_arr, peak, pop, elites, int(rng.integers(1_000_000)))))
    return cases


def _with_fresh_rng(fn):
    """fn(mean, std, score, population, elites, rng) called with a new Generator from ``seed`` for each call, so
    the reference and the student's function see the same random numbers."""

    def run(mean, std, peak, population, elites, seed):
        return fn(mean.copy(), std.copy(), _peak_score(peak), population, elites, np.random.default_rng(seed))

    return run


def check_cem_iteration(fn):
    """Check ``fn(mean, std, score, population, elites, rng, low=-1.0, high=1.0)`` against
    ``compression.cem.cem_iteration`` on random means, spreads and population sizes (notebook 03, §3)."""
    from ..compression import cem

    hint = ("draw X = mean + std · rng.standard_normal((population, *mean.shape)) in ONE call, set X[0] = mean, "
            "clip X to [low, high] BEFORE scoring, and refit to the `elites` candidates with the HIGHEST scores: "
            "new mean = their mean, new std = their std + 1e-6; return (new_mean, new_std, best_x, best_score)")
    student = _with_fresh_rng(fn) if callable(fn) else fn
    result = check(CEM_EXERCISE, student, _with_fresh_rng(cem.cem_iteration), _cem_cases(), hint=hint)
    # later cells call the result with the iteration's own signature: the student's function or the reference
    return dataclasses.replace(result, fn=fn if result.passed else cem.cem_iteration)


def _orthonormal(rng, P: int, r: int) -> np.ndarray:
    if r == 0:
        return np.zeros((P, 0))
    return np.linalg.qr(rng.standard_normal((P, r)))[0]


def _gain_cases():
    rng = np.random.default_rng(4)
    cases = []
    for name, P, r, m, scale in (("P = 12, a prefix of 4 directions, a chunk of 3 gradients", 12, 4, 3, 3.0),
                                 ("an empty prefix (r = 0), a chunk of 2 gradients", 10, 0, 2, 0.5),
                                 ("P = 20, a prefix of 9 directions, a chunk of 5 gradients", 20, 9, 5, 7.0)):
        Q = _orthonormal(rng, P, r)
        w = scale * rng.standard_normal(P)
        G = rng.standard_normal((P, m)) * rng.uniform(0.5, 20.0, m)  # columns of unequal lengths
        if r:
            G += Q @ rng.standard_normal((r, m)) * 2.0  # the chunk overlaps the prefix's span
        cases.append(Case(name, (Q, w, G)))
    return cases


def check_chunk_gain(fn):
    """Check ``fn(Q, w, G)`` (Q (P, r) orthonormal prefix basis, w (P,), G (P, m) the chunk's gradients as
    columns) against ``compression.span.chunk_gain`` (notebook 03, §5)."""
    from ..compression import span

    hint = ("take out of G its part in the prefix span (G − Q Qᵀ G), make the result orthonormal (np.linalg.qr or "
            "an SVD), and return ‖Uᵀ w‖² / ‖w‖²: the fraction of ‖w‖² that the NEW directions add")
    return check(GAIN_EXERCISE, fn, span.chunk_gain, _gain_cases(), hint=hint, rtol=1e-6, atol=1e-9)
