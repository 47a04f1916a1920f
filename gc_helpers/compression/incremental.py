"""The batched cos² a block of new gradient columns adds to a span: ``span_gains``, the torch form of
``span.chunk_gain`` (same idea, checked against it to 1e-10), by which every search ranks its candidates.

Taught in notebooks/03_cem_compression.ipynb, §5 Longer sequences: grow them chunk by chunk. The chunk search keeps
the span as an orthonormal basis grown column by column (``gc_research.incremental_span.IncrementalSpan``).
"""

from __future__ import annotations

import torch


def span_gains(C: torch.Tensor, r: torch.Tensor, Q: torch.Tensor | None = None, tol: float = 1e-6,
               relative: bool = False, skip_checks: bool = False) -> torch.Tensor:
    """cos² that each block of columns C (..., c, P) adds for the unit residual r (P,): the columns are normalised,
    made orthogonal to the rows of Q (m, P) (orthonormal; None: nothing yet), and r is projected on what is left.

    Directions of the block's Gram matrix with eigenvalue ≤ ``tol`` (× the largest one if ``relative``) count as
    dependent and add nothing. Taught in notebooks/03_cem_compression.ipynb, §5 Longer sequences
    (``span.chunk_gain`` is the one-chunk numpy reference). ``skip_checks``: the caller checked the shapes.
    """
    if not skip_checks:
        if not all(isinstance(t, torch.Tensor) for t in (C, r)) or (Q is not None and not isinstance(Q, torch.Tensor)):
            raise ValueError("C, r (and Q if given) must be torch tensors")
        P = r.shape[-1] if r.ndim == 1 else None
        if P is None or C.ndim < 2 or C.shape[-1] != P:
            raise ValueError(f"C has shape {tuple(C.shape)} and r {tuple(r.shape)}; expected C (..., c, P) and r (P,)")
        if Q is not None and (Q.ndim != 2 or Q.shape[1] != P):
            raise ValueError(f"Q has shape {tuple(Q.shape)}; expected (m, P={P}) with orthonormal rows")
        if not bool(torch.isfinite(C).all()) or not bool(torch.isfinite(r).all()):
            raise ValueError("C or r contains NaN or inf")
        if not tol >= 0:
            raise ValueError(f"tol={tol!r}: must be >= 0")
    Cn = C / torch.linalg.norm(C, dim=-1, keepdim=True).clamp_min(1e-300)
    if Q is not None and Q.shape[0]:
        Cn = Cn - (Cn @ Q.T) @ Q
    evals, evecs = torch.linalg.eigh(Cn @ Cn.transpose(-1, -2))
    b = (evecs.transpose(-1, -2) @ (Cn @ r)[..., None])[..., 0]
    floor = tol * evals[..., -1:].clamp_min(1e-300) if relative else tol
    return torch.where(evals > floor, b**2 / evals.clamp_min(1e-300), torch.zeros_like(evals)).sum(-1)
