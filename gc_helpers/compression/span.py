"""The span of per-step gradients and a target direction: cosines, the best α, the √(L/P) null model.

Taught in notebooks/04_alpha_optimisation.ipynb (§1 The span picture, §3 Cosine vs length: Which null?) and used
by every search. numpy only (no torch): plain linear algebra on top of ``gc_helpers.vectors.cosine``.

Conventions. A target is a vector w (P,). In the reference functions below, G (P, L) holds one gradient per
COLUMN, so that the compressed direction is G α; the searches store gradients one per ROW, grads (L, P), and
``best_alpha_exact(grads, w)`` is ``best_alpha(grads.T, w)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..checks import check_seed, finite_array, int_at_least
from ..vectors import cosine

# ------------------------------------------------------------------------------------------------------------
# Input checks (each ValueError names the argument and what is allowed)


def check_vector(x, name: str, size: int | None = None, nonzero: bool = True) -> np.ndarray:
    """``x`` as a finite float64 vector (P,), of ``size`` entries if given and non-zero if ``nonzero``.
    Taught in notebooks/04_alpha_optimisation.ipynb, §1 The span picture."""
    v = finite_array(x, name)
    if v.ndim != 1:
        raise ValueError(f"{name} has shape {v.shape}; expected a non-empty vector (P,)")
    if size is not None and v.size != size:
        raise ValueError(f"{name} has {v.size} entries; expected P={size} (one per policy parameter)")
    if nonzero and not np.any(v):
        raise ValueError(f"{name} is the zero vector; a direction needs a non-zero norm")
    return v


def _check_grads(grads, name: str = "grads") -> np.ndarray:
    """Per-step gradients as a finite float64 array (L, P), one gradient per row (a single (P,) row is allowed).
    Taught in notebooks/04_alpha_optimisation.ipynb, §1 The span picture."""
    g = finite_array(grads.detach().numpy() if hasattr(grads, "detach") else grads, name)
    g = g[None] if g.ndim == 1 else g
    if g.ndim != 2:
        raise ValueError(f"{name} has shape {g.shape}; expected (L, P): one gradient per step")
    return g


def _check_columns(G, w, name: str = "G") -> tuple[np.ndarray, np.ndarray]:
    G = finite_array(G, name, ndim=2)
    w = check_vector(w, "w")
    if G.shape[0] != w.size:
        raise ValueError(f"{name} has shape {G.shape}; expected (P={w.size}, L): one gradient per COLUMN "
                         f"(for per-step gradients stored one per row, pass grads.T)")
    return G, w


# ------------------------------------------------------------------------------------------------------------
# Cosines and the best α (reference functions: the notebooks' exercises are checked against them)


def best_alpha(G, w) -> np.ndarray:
    """α = argmin_α ‖G α − w‖ for G (P, L) (least squares; the minimum-norm α if the columns are dependent).

    Taught in notebooks/04_alpha_optimisation.ipynb, §1 The span picture. G α is then P_G w, the projection of w
    on the span of the gradients, so no other α gives a larger cosine with w.
    """
    G, w = _check_columns(G, w)
    return np.linalg.lstsq(G, w, rcond=None)[0]


def span_cosine(G, w) -> float:
    """max_α cos(G α, w) = ‖P_G w‖ / ‖w‖ for G (P, L): the cosine of w with the span of the columns of G
    (0 if w is orthogonal to it). Taught in notebooks/04_alpha_optimisation.ipynb, §1 The span picture."""
    d = np.asarray(G, dtype=np.float64) @ best_alpha(G, w)
    return cosine(d, w) if np.any(d) else 0.0


def chunk_gain(Q, w, G) -> float:
    """The cos² that a chunk's gradient columns G (P, m) add to the span with orthonormal basis Q (P, r), for
    the target w: orthogonalise G against Q, then ‖projection of w on the new directions‖² / ‖w‖².

    Taught in notebooks/03_cem_compression.ipynb, §5 Longer sequences (a chunk costs only its own columns). The searches
    use the batched torch version ``incremental.span_gains``; a test checks they agree to 1e-10.
    """
    Q = finite_array(Q, "Q", ndim=2, allow_empty=True)
    G, w = _check_columns(G, w)
    if Q.shape[0] != w.size:
        raise ValueError(f"Q has shape {Q.shape}; expected (P={w.size}, r) with orthonormal columns")
    new = G / np.linalg.norm(G, axis=0).clip(1e-300)  # unit columns
    new = new - Q @ (Q.T @ new)  # their parts outside the prefix span
    U, s, _ = np.linalg.svd(new, full_matrices=False)
    U = U[:, s**2 > 1e-6]  # an orthonormal basis of the new directions (nearly dependent columns add none)
    return float(np.sum((U.T @ w) ** 2) / (w @ w))


def null_cosine(length, n_params) -> np.ndarray:
    """The null model: a fixed direction and a random L-dimensional subspace of R^P have cos ≈ √(L/P) (1 once
    L ≥ P). Taught in notebooks/04_alpha_optimisation.ipynb, §3 Cosine vs length (Which null?)."""
    return np.sqrt(np.minimum(np.asarray(length, dtype=np.float64) / n_params, 1.0))


def simulated_null_cosine(L: int, P: int, n: int = 200, seed: int = 0) -> float:
    """The null model by simulation: the mean, over ``n`` draws, of the cosine of a random unit vector with the
    span of L random Gaussian vectors in R^P. Close to ``null_cosine(L, P)``. Taught in
    notebooks/04_alpha_optimisation.ipynb, §3 Cosine vs length (Which null?)."""
    L, P, n = int_at_least(L, "L"), int_at_least(P, "P"), int_at_least(n, "n")
    rng = np.random.default_rng(check_seed(seed))
    cos = [span_cosine(rng.standard_normal((P, L)), rng.standard_normal(P)) for _ in range(n)]
    return float(np.mean(cos))


# ------------------------------------------------------------------------------------------------------------
# The fits the searches report: α, the direction Σ_t α_t g_t and its cosine


@dataclass(frozen=True)
class AlphaFit:
    """Coefficients α (L,), the compressed direction Σ_t α_t g_t (P,) and its cosine with the target."""

    cosine: float
    alpha: np.ndarray
    direction: np.ndarray
    method: str


def _fit(target, alpha, direction, method: str) -> AlphaFit:
    return AlphaFit(cosine(direction, target) if np.any(direction) else 0.0, alpha, direction, method)


def check_pair(grads, target) -> tuple[np.ndarray, np.ndarray]:
    """Per-step gradients (L, P) and a target (P,) that fits them.
    Taught in notebooks/04_alpha_optimisation.ipynb, §1 The span picture."""
    g = _check_grads(grads)
    return g, check_vector(target, "target", size=g.shape[1])


def best_alpha_exact(grads, target) -> AlphaFit:
    """The best α for per-step gradients grads (L, P): ``best_alpha(grads.T, target)``; its cosine
    ‖P_G w‖/‖w‖ is the maximum over all α. Taught in notebooks/04_alpha_optimisation.ipynb, §1 The span picture."""
    g, w = check_pair(grads, target)
    alpha = best_alpha(g.T, w)
    return _fit(w, alpha, g.T @ alpha, "exact")


def no_alpha(grads, target) -> AlphaFit:
    """The study's Algorithm 1: the plain sum Σ_t g_t (every α_t = 1) and its cosine with the target.
    Taught in notebooks/03_cem_compression.ipynb, §3 Algorithm 1 (no α) against Algorithm 2 (best α)."""
    g, w = check_pair(grads, target)
    return _fit(w, np.ones(g.shape[0]), g.sum(axis=0), "none")


def l2_objective(grads, target, alpha=None) -> float:
    """‖Σ_t α_t g_t − w‖² (the report's Algorithm 1 objective; α = ones by default). Unlike the cosine it also
    asks the compressed gradient to match the target's length. Taught in notebooks/04_alpha_optimisation.ipynb,
    §1 The span picture."""
    g, w = check_pair(grads, target)
    a = np.ones(g.shape[0]) if alpha is None else check_vector(alpha, "alpha", size=g.shape[0], nonzero=False)
    return float(np.sum((g.T @ a - w) ** 2))
