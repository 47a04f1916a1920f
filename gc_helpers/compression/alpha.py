"""The study's α: L-BFGS on the cosine (it only approaches the exact least-squares α of ``span.best_alpha``).

Taught in notebooks/04_alpha_optimisation.ipynb, §2 L-BFGS vs the exact projection.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..vectors import cosine
from .span import AlphaFit, best_alpha_exact, check_pair, check_vector, no_alpha


def best_alpha_lbfgs(grads, target, alpha0=None, history_size: int = 10, max_iter: int = 20) -> AlphaFit:
    """The study's α: maximise cos(w, Σ α_t g_t) with torch.optim.LBFGS (history 10, max_iter 20, strong-Wolfe
    line search, α initialised to ones, ONE ``step`` call), then α normalised to unit norm.

    Taught in notebooks/04_alpha_optimisation.ipynb, §2 L-BFGS vs the exact projection. It only approaches
    ``best_alpha_exact``'s cosine. ``alpha0`` overrides the initial α (the study's hill climbing keeps the previous
    length's α, with zeros for the new steps).
    """
    g, w = check_pair(grads, target)
    a0 = np.ones(g.shape[0]) if alpha0 is None else check_vector(alpha0, "alpha0", size=g.shape[0], nonzero=False)
    G = torch.as_tensor(g)
    wt = torch.as_tensor(w / np.linalg.norm(w))
    # The cosine is scale-invariant; scale the gradients to unit average norm so that L-BFGS' tolerances behave.
    scale = float(torch.linalg.norm(G) / math.sqrt(g.shape[0])) or 1.0
    Gs = G / scale
    alpha = torch.tensor(a0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([alpha], lr=1, history_size=history_size, max_iter=max_iter,
                            line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        d = Gs.T @ alpha
        loss = -(d @ wt) / (torch.linalg.norm(d) + 1e-300)
        loss.backward()
        return loss

    opt.step(closure)
    a = alpha.detach().numpy().copy()
    if not np.all(np.isfinite(a)):
        a = a0.copy()
    n = np.linalg.norm(a)
    a = a / n if n > 0 else a
    direction = g.T @ a
    return AlphaFit(cosine(direction, w) if np.any(direction) else 0.0, a, direction, "lbfgs")


def fit_alpha(grads, target, method: str = "exact", **kw) -> AlphaFit:
    """Dispatch on ``method``: "exact" (``best_alpha_exact``), "lbfgs" (``best_alpha_lbfgs``) or "none"
    (``no_alpha``). Taught in notebooks/03_cem_compression.ipynb, §3 Algorithm 1 (no α) against Algorithm 2 (best α)."""
    if method == "exact":
        return best_alpha_exact(grads, target)
    if method == "lbfgs":
        return best_alpha_lbfgs(grads, target, **kw)
    if method == "none":
        return no_alpha(grads, target)
    raise ValueError(f"method={method!r}: allowed: 'exact', 'lbfgs', 'none'")
