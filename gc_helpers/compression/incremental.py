"""The span of the gradients grown column by column, and the batched cos² a block of new columns adds.

Taught in notebooks/03_cem_compression.ipynb, §5 Longer sequences: grow them chunk by chunk.
``span_gains`` is the torch, batched form of
``span.chunk_gain`` (same idea, checked against it to 1e-10); ``IncrementalSpan`` keeps an orthonormal basis so
that scoring a candidate chunk costs only the chunk's own columns, not a fresh least-squares fit of the span.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .span import check_vector


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


def _as_tensor(x) -> torch.Tensor:
    return x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x, dtype=np.float64))


class IncrementalSpan:
    """An orthonormal basis Q (m × P) of the span of the gradients added so far, and the target's residual
    r = w − QᵀQ w (w normalised to unit length), so cos² = 1 − ‖r‖².

    ``gains(cands)`` scores a batch of candidate column blocks (B, c, P) by the cos² each would add
    (``span_gains``). Columns whose component outside the span is below √``tol`` of their norm are dependent.
    Taught in notebooks/03_cem_compression.ipynb, §5 Longer sequences: grow them chunk by chunk.
    """

    def __init__(self, target, capacity: int = 64, tol: float = 1e-9):
        w = check_vector(target, "target")
        self.w = torch.as_tensor(w / np.linalg.norm(w))
        self.P = w.size
        self.tol = tol
        self._Q = torch.zeros(max(capacity, 1), self.P, dtype=torch.float64)
        self.m = 0
        self.r = self.w.clone()

    @property
    def Q(self) -> torch.Tensor:
        return self._Q[: self.m]

    @property
    def cosine(self) -> float:
        return float(math.sqrt(max(0.0, 1.0 - float(self.r @ self.r))))

    def copy(self) -> IncrementalSpan:
        new = IncrementalSpan.__new__(IncrementalSpan)
        new.w, new.P, new.tol, new.m = self.w, self.P, self.tol, self.m
        new._Q = self._Q.clone()
        new.r = self.r.clone()
        return new

    def orthogonal_part(self, C: torch.Tensor) -> torch.Tensor:
        """C (..., c, P) minus its projection on span(Q) (one pass of classical Gram–Schmidt)."""
        return C - (C @ self.Q.T) @ self.Q if self.m else C

    def gains(self, cands) -> torch.Tensor:
        """cos² added by each candidate block cands (B, c, P) (or (c, P)): ‖projection of r on its new columns‖²."""
        C = _as_tensor(cands)
        gain = span_gains(C[None] if C.ndim == 2 else C, self.r, self.Q, skip_checks=True, tol=self.tol * 1e3)
        return gain[0] if C.ndim == 2 else gain

    def add(self, cols) -> int:
        """Append the columns cols (c, P) (dependent ones are skipped); returns how many were added."""
        added = 0
        for c in _as_tensor(cols).reshape(-1, self.P):
            n0 = float(torch.linalg.norm(c))
            if n0 == 0:
                continue
            v = c / n0
            for _ in range(2):  # Gram–Schmidt twice: orthogonal to working precision
                if self.m:
                    v = v - (self.Q @ v) @ self.Q
            nv = float(torch.linalg.norm(v))
            if nv <= math.sqrt(self.tol):
                continue
            if self.m == self._Q.shape[0]:
                self._Q = torch.cat([self._Q, torch.zeros_like(self._Q)])
            q = v / nv
            self._Q[self.m] = q
            self.m += 1
            self.r = self.r - (q @ self.r) * q
            added += 1
        return added
