"""The study's basis beside ours: the study kept both x_i x_j and x_j x_i (P = 6056 for Ant) where we keep each
product once (P = 3248). What that does to a cosine (taught in notebooks/04_alpha_optimisation.ipynb, §4 Over search
seeds, with the right controls: "What the study's P = 6056 does to its cosine").

- ``offdiagonal_features``: which quadratic features the study's basis holds twice;
- ``METRICS``, ``basis_cosines``: the best-α cosine of a searched sequence recomputed in either basis;
- ``study_random_reachable``: the part of a random direction drawn in the study's basis that any gradient can reach.
"""

from __future__ import annotations

import numpy as np


def offdiagonal_features(obs_dim: int) -> np.ndarray:
    """Boolean mask over the quadratic features [1, x, x_i x_j (i ≤ j)]: True where i < j, the products the study's
    basis holds twice (x_i x_j and x_j x_i)."""
    if isinstance(obs_dim, bool) or not isinstance(obs_dim, int | np.integer) or obs_dim < 1:
        raise ValueError(f"obs_dim={obs_dim!r}: must be a positive integer")
    i, j = np.triu_indices(int(obs_dim))
    return np.concatenate([np.zeros(1 + int(obs_dim), dtype=bool), i != j])


# How a vector of our basis is written in the study's (both copies of an off-diagonal coordinate c):
# "kept" (c, c) — what a gradient is there, and so a weight change made of gradients; "split" (c/2, c/2) — the same
# function. A norm over the two copies scales c by √2 (kept) or 1/√2 (split). (target scale, gradient scale):
METRICS = {"our basis": (1.0, 1.0),
           "study's basis, kept": (np.sqrt(2.0), np.sqrt(2.0)),
           "study's basis, target split": (np.sqrt(0.5), np.sqrt(2.0))}


def basis_cosines(phi, actions, target, lengths, offdiag, target_scale: float = 1.0, gradient_scale: float = 1.0):
    """Best-α cosine of target with span{a_t ⊗ φ(s_t) : t < L} (the gradients at W = 0 up to σ⁻²) at each L of
    ``lengths``, after scaling the off-diagonal coordinates of the target by ``target_scale`` and of the gradients by
    ``gradient_scale`` (``METRICS``; 1, 1 is our basis). phi (T, F), actions (T, k), target (k·F,) in W's row-major
    order. Uses the Gram matrix K_st = (a_s·a_t)(φ_s D φ_t) and its Cholesky factor, whose leading blocks serve every
    prefix: cos²(L) = ‖y_{<L}‖² / ‖w‖², y = C⁻¹ b, b_t = a_tᵀ W D' φ_t."""
    phi, A = np.asarray(phi, dtype=np.float64), np.asarray(actions, dtype=np.float64)
    k, F = A.shape[1], phi.shape[1]
    W = np.asarray(target, dtype=np.float64).reshape(k, F)
    mask = np.asarray(offdiag, dtype=bool)
    if mask.shape != (F,):
        raise ValueError(f"offdiag has shape {mask.shape}; expected ({F},), one flag per feature")
    g = np.where(mask, float(gradient_scale), 1.0)
    t = np.where(mask, float(target_scale), 1.0)
    L = np.asarray(lengths, dtype=int)
    if L.size == 0 or L.min() < 1 or L.max() > len(A):
        raise ValueError(f"lengths must lie in [1, {len(A)}] (the sequence's length); got {L.tolist()}")
    n = int(L.max())
    K = (A[:n] @ A[:n].T) * ((phi[:n] * g**2) @ phi[:n].T)
    b = np.einsum("ti,if,tf->t", A[:n], W * (t * g), phi[:n])
    from scipy.linalg import solve_triangular

    y = solve_triangular(np.linalg.cholesky(K), b, lower=True)
    norm2 = float(np.sum((W * t) ** 2))
    return np.sqrt(np.cumsum(y**2)[L - 1] / norm2)


def study_random_reachable(obs_dim: int, act_dim: int, n: int = 200, seed: int = 0) -> np.ndarray:
    """For ``n`` directions drawn from N(0, I) in the study's basis (per action: a bias, x, and all obs_dim² products),
    the fraction of the squared norm in the part every gradient lies in (x_i x_j and x_j x_i equal): the rest, the
    antisymmetric part, no trajectory can reach. Expected value 3248/6056 for Ant; its square root bounds the study's
    random-direction cosine."""
    d = int(obs_dim)
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((int(n), int(act_dim), 1 + d + d * d))
    q = z[..., 1 + d:].reshape(int(n), int(act_dim), d, d)
    anti = (q - np.swapaxes(q, -1, -2)) / 2
    return 1 - np.sum(anti**2, axis=(1, 2, 3)) / np.sum(z**2, axis=(1, 2))
