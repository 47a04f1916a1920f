"""Input checks shared by every module: each raises ValueError naming the argument, its value and what is allowed.

Kept free of heavy imports (no torch, no MuJoCo) so that notebooks/01_policy_gradient.ipynb's helpers can use it.
"""

from __future__ import annotations

import math

import numpy as np


def int_at_least(value, name: str, low: int = 1) -> int:
    """``value`` as an int if it is an integer (not a bool) >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"{name}={value!r}: must be an integer >= {low}")
    return int(value)


def _finite_number(value, name: str, zero_allowed: bool) -> float:
    if (isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating)
            or not math.isfinite(value) or value < 0 or (value == 0 and not zero_allowed)):
        raise ValueError(f"{name}={value!r}: must be a finite number {'>=' if zero_allowed else '>'} 0")
    return float(value)


def positive_float(value, name: str) -> float:
    """``value`` as a float if it is a finite number (not a bool) > 0."""
    return _finite_number(value, name, zero_allowed=False)


def non_negative_float(value, name: str) -> float:
    """``value`` as a float if it is a finite number (not a bool) >= 0."""
    return _finite_number(value, name, zero_allowed=True)


def check_seed(seed) -> int:
    """A seed: a non-negative integer."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed={seed!r}: must be a non-negative integer")
    return int(seed)


def finite_array(value, name: str, ndim: int | tuple[int, ...] | None = None, dtype=np.float64,
                 allow_empty: bool = False) -> np.ndarray:
    """``value`` as a numpy array of ``dtype`` if every entry is finite (no NaN or inf), it has ``ndim`` dimensions
    (when given) and is not empty (unless ``allow_empty``). The error names the argument and the first bad entry."""
    try:
        arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name}: must be an array of numbers ({err})") from None
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if allowed is not None and arr.ndim not in allowed:
        raise ValueError(f"{name} has shape {arr.shape}: expected {' or '.join(map(str, allowed))} dimension(s)")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} is empty (shape {arr.shape}): expected at least one entry")
    bad = ~np.isfinite(arr)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} has {int(bad.sum())} non-finite entr{'y' if bad.sum() == 1 else 'ies'} "
                         f"(first at index {first}: {arr[first]}); NaN and inf are not allowed")
    return arr
