"""The span of the gradients grown column by column: an orthonormal basis, so that scoring a candidate chunk costs
only the chunk's own columns, not a fresh least-squares fit of the span (the chunk search's state).

Notebook 03 §5 (Longer sequences: grow them chunk by chunk) describes it; the cos² a block adds is
``gc_helpers.compression.incremental.span_gains``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from gc_helpers.compression.incremental import span_gains
from gc_helpers.compression.span import check_vector


def _as_tensor(x) -> torch.Tensor:
    return x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x, dtype=np.float64))


class IncrementalSpan:
    """An orthonormal basis Q (m × P) of the span of the gradients added so far, and the target's residual
    r = w − QᵀQ w (w normalised to unit length), so cos² = 1 − ‖r‖².

    ``gains(cands)`` scores a batch of candidate column blocks (B, c, P) by the cos² each would add
    (``span_gains``). Columns whose component outside the span is below √``tol`` of their norm are dependent.
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
