"""Checkers for notebooks/04_alpha_optimisation.ipynb: the best α by least squares with its cosine (§1, the span
picture) and the √(L/P) null model by simulation (§1, which null?).

The references are the package's own short functions: ``compression.span.best_alpha`` with ``span_cosine``, and
``compression.span.simulated_null_cosine``. Cases are random inputs drawn from fixed seeds.
"""

from __future__ import annotations

import numpy as np

from .core import Case, check

ALPHA_EXERCISE = "Exercise 4.1 (the best α by least squares, and its cosine)"
NULL_EXERCISE = "Exercise 4.2 (the √(L/P) null by simulation)"


def _alpha_case(rng, name: str, P: int, L: int, scale: float) -> Case:
    """G (P, L) with columns of unequal lengths, and a target w of length about ``scale``·√P."""
    G = rng.standard_normal((P, L)) * rng.uniform(0.2, 5.0, L)
    return Case(name, (G, scale * rng.standard_normal(P)))


def _alpha_cases():
    rng = np.random.default_rng(5)
    return [_alpha_case(rng, "P = 15 parameters, L = 4 gradients", 15, 4, 1.0),
            _alpha_case(rng, "P = 30, L = 10, a target of length 40", 30, 10, 40.0),
            _alpha_case(rng, "P = 8, L = 8 (the span is all of R^P)", 8, 8, 0.3)]


def reference_alpha_and_cosine(G, w):
    """(α, cos): ``span.best_alpha(G, w)`` and ``span.span_cosine(G, w)`` (G (P, L), one gradient per column)."""
    from ..compression import span

    return span.best_alpha(G, w), span.span_cosine(G, w)


def check_best_alpha(fn):
    """Check ``fn(G, w) -> (alpha, cosine)`` against the package's least-squares α and span cosine (notebook 04,
    §1)."""
    hint = ("α solves min_α ‖G α − w‖ (np.linalg.lstsq(G, w, rcond=None)[0]); Gᵀw alone is not the solution "
            "unless the columns of G are orthonormal. The cosine is (G α)·w / (‖G α‖ ‖w‖): a number in [−1, 1]")
    return check(ALPHA_EXERCISE, fn, reference_alpha_and_cosine, _alpha_cases(), hint=hint, rtol=1e-6, atol=1e-9)


N_DRAWS = 200


def _null_cases():
    return [Case("L = 30 > P = 20 (the span is all of R^P: cos = 1)", (30, 20, N_DRAWS, 11)),
            Case("L = 10, P = 40", (10, 40, N_DRAWS, 12)),
            Case("L = 3, P = 50", (3, 50, 50, 13)),
            Case("L = 12, P = 16", (12, 16, 50, 14))]


def check_simulated_null(fn):
    """Check ``fn(L, P, n, seed) -> float`` (the mean over n draws of the cosine of a random direction with the
    span of L random Gaussian vectors in R^P) against ``compression.span.simulated_null_cosine`` on the same random
    numbers: ``rng = np.random.default_rng(seed)``, then for each draw G = rng.standard_normal((P, L)) first and
    w = rng.standard_normal(P) second (notebook 04, §1)."""
    from ..compression import span

    hint = ("rng = np.random.default_rng(seed); per draw G = rng.standard_normal((P, L)) THEN "
            "w = rng.standard_normal(P); make the columns of G orthonormal (np.linalg.qr) and average the COSINE "
            "‖Qᵀw‖/‖w‖ (not its square) over the n draws")
    return check(NULL_EXERCISE, fn, span.simulated_null_cosine, _null_cases(), hint=hint, rtol=1e-6, atol=1e-9,
                 timeout=20.0)
