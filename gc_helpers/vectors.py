"""The package's one cosine of two vectors: a leaf (numpy only), so that notebooks/01_policy_gradient.ipynb
(``pg_theory``) and the compression searches share it without loading the simulator.
"""

from __future__ import annotations

import numpy as np

from .checks import finite_array


def cosine(u, v) -> float:
    """cos(u, v) = u·v / (‖u‖ ‖v‖) of two vectors (flattened); both must be non-zero.

    Taught in notebooks/01_policy_gradient.ipynb, §7 Sum over time, mean over time, mean over trajectories
    (the cosine ignores the gradient's scale).
    """
    u, v = finite_array(u, "u").ravel(), finite_array(v, "v").ravel()
    if u.shape != v.shape:
        raise ValueError(f"u has {u.size} entries and v has {v.size}: they must match")
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    if nu == 0 or nv == 0:
        raise ValueError("u or v is the zero vector: cosine similarity is undefined")
    return float(u @ v / (nu * nv))
