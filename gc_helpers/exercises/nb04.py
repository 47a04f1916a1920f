"""Checkers for notebooks/04_alpha_optimisation.ipynb: the best α and its cosine, derived from "the best direction
in the span is the projection of w" (§1, the span picture), and the √(L/P) null model by simulation (§1, which
null?).

The references are the functions the searches themselves call: ``compression.span.best_alpha`` for α (what
``best_alpha_exact`` reports) and ``compression.cem.batch_cosines(..., alpha="exact")`` for the cosine (the
``span_gains`` score every search ranks candidates by); ``compression.span.simulated_null_cosine`` for the null.
Cases are random inputs drawn from fixed seeds. Hints are graduated and never show code.
"""

from __future__ import annotations

import numpy as np

from .core import Case, check

ALPHA_EXERCISE = "Exercise 4.1 (the best α by least squares, and its cosine)"
NULL_EXERCISE = "Exercise 4.2 (the √(L/P) null by simulation)"

ALPHA_HINTS = [
    "Which vector of the span has the largest cosine with w? Section 1 says: its projection. What does that tell "
    "you about the residual w − Gα and each column of G?",
    "The residual is orthogonal to every column: Gᵀ(w − Gα) = 0, the normal equations GᵀG α = Gᵀw. That is a "
    "least-squares problem, min over α of ‖Gα − w‖; with dependent columns take its minimum-norm solution.",
    "The cosine is (Gα)·w / (‖Gα‖ ‖w‖), a number between 0 and 1 for the projection (it equals ‖Gα‖/‖w‖).",
]
NULL_HINTS = [
    "The cosine of w with a subspace is the length of w's projection on it over ‖w‖; a projection needs an "
    "orthonormal basis of the span of the L columns, not the columns themselves.",
    "Per draw: first the (P, L) Gaussian matrix, then the Gaussian w of length P, from one generator made with "
    "the seed. Average the cosine itself over the n draws, not its square.",
]


def _alpha_case(rng, name: str, P: int, L: int, scale: float) -> Case:
    """G (P, L) with columns of unequal lengths, and a target w of length about ``scale``·√P."""
    G = rng.standard_normal((P, L)) * rng.uniform(0.2, 5.0, L)
    return Case(name, (G, scale * rng.standard_normal(P)))


def _alpha_cases():
    rng = np.random.default_rng(5)
    return [_alpha_case(rng, "P = 15 parameters, L = 4 gradients", 15, 4, 1.0),
            _alpha_case(rng, "P = 30, L = 10, a target of length 40", 30, 10, 40.0),
            _alpha_case(rng, "P = 8, L = 8 (the span is all of R^P)", 8, 8, 0.3)]


def _search_cosine(G, w) -> float:
    """The cosine a search scores for gradient columns G (P, L) and target w: ``cem.batch_cosines`` with the exact
    α, i.e. √ of the cos² ``span_gains`` adds to an empty span (notebook 03, §3)."""
    import torch

    from ..compression.cem import batch_cosines

    G, w = np.asarray(G, dtype=np.float64), np.asarray(w, dtype=np.float64)
    unit = torch.as_tensor(w / np.linalg.norm(w))
    return float(batch_cosines(torch.as_tensor(G.T[None].copy()), unit, "exact")[0])


def reference_alpha_and_cosine(G, w):
    """(α, cos): ``span.best_alpha(G, w)`` (the α every search reports) and the cosine the searches score
    (``_search_cosine``: ``cem.batch_cosines`` / ``span_gains``); G (P, L), one gradient per column."""
    from ..compression import span

    return span.best_alpha(G, w), _search_cosine(G, w)


def _alpha_transposed(G, w):
    """The known slip α = Gᵀw (the projection only for orthonormal columns), with its cosine."""
    alpha = G.T @ w
    d = G @ alpha
    return alpha, float(d @ w / (np.linalg.norm(d) * np.linalg.norm(w)))


def check_best_alpha(fn):
    """Check ``fn(G, w) -> (alpha, cosine)`` against the α the searches report and the cosine they score
    (notebook 04, §1)."""
    slips = [("α = Gᵀw is the projection's α only when the columns of G are orthonormal; here they are not "
              "(their lengths differ)", _alpha_transposed)]
    return check(ALPHA_EXERCISE, fn, reference_alpha_and_cosine, _alpha_cases(), hint=ALPHA_HINTS, rtol=1e-6,
                 atol=1e-9, slips=slips)


N_DRAWS = 200


def _null_cases():
    return [Case("L = 30 > P = 20 (the span is all of R^P: cos = 1)", (30, 20, N_DRAWS, 11)),
            Case("L = 10, P = 40", (10, 40, N_DRAWS, 12)),
            Case("L = 3, P = 50", (3, 50, 50, 13)),
            Case("L = 12, P = 16", (12, 16, 50, 14))]


def _null_squared(L, P, n, seed):
    """The known slip: the mean of cos² (which is L/P on average), not of the cosine."""
    from ..compression import span

    rng = np.random.default_rng(seed)
    return float(np.mean([span.span_cosine(rng.standard_normal((P, L)), rng.standard_normal(P)) ** 2
                          for _ in range(n)]))


def check_simulated_null(fn):
    """Check ``fn(L, P, n, seed) -> float`` (the mean over n draws of the cosine of a random direction with the
    span of L random Gaussian vectors in R^P) against ``compression.span.simulated_null_cosine`` on the same random
    numbers: ``rng = np.random.default_rng(seed)``, then for each draw G = rng.standard_normal((P, L)) first and
    w = rng.standard_normal(P) second (notebook 04, §1)."""
    from ..compression import span

    slips = [("this is the mean of cos², whose average is L/P exactly; the exercise asks for the mean cosine",
              _null_squared)]
    return check(NULL_EXERCISE, fn, span.simulated_null_cosine, _null_cases(), hint=NULL_HINTS, rtol=1e-6,
                 atol=1e-9, timeout=20.0, slips=slips)
