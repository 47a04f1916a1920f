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


def _cem_slips(reference):
    """Known wrong iterations, named when the student's output matches one."""

    def floored(mean, std, peak, population, elites, seed):  # max(std, 1e-6) instead of std + 1e-6
        new_mean, new_std, best_x, best_score = _with_fresh_rng(reference)(mean, std, peak, population, elites, seed)
        return new_mean, np.maximum(new_std - 1e-6, 1e-6), best_x, best_score

    def scored_unclipped(mean, std, peak, population, elites, seed):
        rng = np.random.default_rng(seed)
        X = mean + std * rng.standard_normal((population, *np.shape(mean)))
        X[0] = mean
        s = _peak_score(peak)(X)
        X = np.clip(X, -1.0, 1.0)
        order = np.argsort(-s)
        elite = X[order[:elites]]
        return elite.mean(0), elite.std(0) + 1e-6, X[order[0]], float(s[order[0]])

    return [("the new std is floored at 1e-6 (the larger of the std and 1e-6); the package ADDS 1e-6 to it (an "
             "offset, as the text says), which changes every std by 1e-6 and so every later sample.", floored),
            ("the candidates are scored before they are clipped: the score must be that of the action sequence "
             "that will be played, inside the box.", scored_unclipped)]


def check_cem_iteration(fn):
    """Check ``fn(mean, std, score, population, elites, rng, low=-1.0, high=1.0)`` against
    ``compression.cem.cem_iteration`` on random means, spreads and population sizes (notebook 03, §3)."""
    from ..compression import cem

    hint = ["four steps in order: sample the whole population around the mean (candidate 0 is the mean itself), "
            "clip every candidate to the box BEFORE scoring it, score, and refit to the elites with the HIGHEST "
            "scores.",
            "X_i = mean + std ⊙ z_i with all z_i drawn in ONE standard-normal call of shape (population, *the "
            "mean's shape); X_0 = mean; clip to [low, high]; new mean and new std = the mean and the std over the "
            "elites, plus 1e-6 on the std (an offset); return the new mean, the new std, the best candidate and "
            "its score."]
    student = _with_fresh_rng(fn) if callable(fn) else fn
    result = check(CEM_EXERCISE, student, _with_fresh_rng(cem.cem_iteration), _cem_cases(), hint=hint,
                   slips=_cem_slips(cem.cem_iteration))
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

    hint = ["cos² of w with a span is the squared length of w's projection on it, over ‖w‖². Split the span of "
            "prefix + chunk into the prefix's span and the part of the chunk orthogonal to it: projections on "
            "orthogonal subspaces add in squared length (Pythagoras).",
            "gain = ‖Uᵀw‖² / ‖w‖², with U an orthonormal basis of (I − QQᵀ)G: the chunk's gradients with their "
            "part in the prefix's span removed, then made orthonormal (a QR or an SVD)."]

    def not_orthogonalised(Q, w, G):
        U = np.linalg.qr(G)[0]
        return float(np.sum((U.T @ w) ** 2) / (w @ w))

    def not_normalised(Q, w, G):
        return span.chunk_gain(Q, w, G) * float(w @ w)

    slips = [("the chunk's gradients still overlap the prefix's span, so the part of w the prefix already "
              "explains is counted twice: remove it before measuring the gain.", not_orthogonalised),
             ("a gain is a fraction of cos²: divide the squared length by ‖w‖².", not_normalised)]
    return check(GAIN_EXERCISE, fn, span.chunk_gain, _gain_cases(), hint=hint, rtol=1e-6, atol=1e-9, slips=slips)
