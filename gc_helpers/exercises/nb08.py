"""Checkers for notebooks/08_which_constraint.ipynb: behaviour cloning's coefficients in closed form, derived from
"BC is ridge regression on the features" (§9.1), and a valid physical Ant state from search coordinates (§9.2).

The references are the package's own short functions: ``free_pairs.ridge_coefficients`` and
``free_pairs.decode_states``. Cases are random inputs from fixed seeds: more features than pairs (the ladder's
case, L ≤ 64 < F = 406), fewer, a tiny and a large ridge; for the states, corners of the box and a quaternion
that must be normalised. Hints are graduated and never show code.
"""

from __future__ import annotations

import numpy as np

from .core import Case, check

BC_EXERCISE = "Exercise 9.1 (behaviour cloning's coefficients in closed form)"
STATE_EXERCISE = "Exercise 9.2 (a valid physical state from search coordinates)"


def _bc_cases():
    rng = np.random.default_rng(80)
    cases = []
    for name, L, F, ridge in (("L = 4 pairs, F = 30 features, ridge 1e-3", 4, 30, 1e-3),
                              ("L = 16 pairs, F = 406 features (the quadratic Ant policy), ridge 1e-3", 16, 406, 1e-3),
                              ("L = 12 pairs, F = 5 features (more pairs than features), ridge 0.1", 12, 5, 0.1),
                              ("L = 3 pairs, a large ridge 10", 3, 20, 10.0)):
        cases.append(Case(name, (rng.standard_normal((L, F)), rng.uniform(-1, 1, (L, 8)), ridge)))
    return cases


def check_bc_coefficients(fn):
    """Check ``fn(phi, actions, ridge) -> C (L, 8)`` against ``free_pairs.ridge_coefficients`` (notebook 08, §9.1)."""
    from .. import free_pairs as FP

    hint = ["Start from W = Aᵀ Φ (ΦᵀΦ + λI)⁻¹ (ridge regression on the features) and move Φ through the inverse: "
            "which L × L matrix appears?",
            "Φᵀ(ΦΦᵀ + λI) = (ΦᵀΦ + λI)Φᵀ, so W = Cᵀ Φ with C = (K + λI)⁻¹ A, K = ΦΦᵀ and λ = ridge · L (the ridge is "
            "per pair, as in gc_helpers.behaviour_cloning)."]
    slips = [("the ridge was not multiplied by L (λ = ridge · L, one ridge per pair)",
              lambda phi, a, r: np.linalg.solve(phi @ phi.T + r * np.eye(len(phi)), a)),
             ("these are the feature-space weights Wᵀ (F × 8), not the L coefficients",
              lambda phi, a, r: np.linalg.solve(phi.T @ phi + r * len(phi) * np.eye(phi.shape[1]), phi.T @ a))]
    return check(BC_EXERCISE, fn, FP.ridge_coefficients, _bc_cases(), hint=hint, slips=slips, rtol=1e-6, atol=1e-9)


def _state_cases(limits):
    rng = np.random.default_rng(81)
    cases = [Case("u = 0: the middle of every range, upright", (np.zeros(27), limits))]
    corner = np.where(rng.random(27) < 0.5, -1.0, 1.0)
    cases.append(Case("a corner of the box (every coordinate ±1)", (corner, limits)))
    cases.append(Case("five random points in the box", (rng.uniform(-1, 1, (5, 27)), limits)))
    outside = rng.uniform(-1, 1, 27)
    outside[[0, 6, 20]] = [3.0, -2.5, 7.0]
    cases.append(Case("coordinates outside [-1, 1] (clip them first)", (outside, limits)))
    return cases


def check_decode_states(fn, limits=None):
    """Check ``fn(u, limits) -> states`` against ``free_pairs.decode_states`` (notebook 08, §9.2)."""
    from .. import free_pairs as FP

    limits = limits or FP.state_limits()
    hint = ["Clip u to [-1, 1] first. Height, joint angles and velocities map linearly: u = -1 is the low end of the "
            "range, u = +1 the high end (velocities: ±max_velocity).",
            "The quaternion is (1, 0, 0, 0) + 2 u[1:5], divided by its length, so u = 0 is upright and every "
            "orientation is reachable."]
    slips = [("the quaternion was not normalised (a rotation needs a unit quaternion)",
              lambda u, lim: _unnormalised(u, lim))]
    return check(STATE_EXERCISE, fn, FP.decode_states, _state_cases(limits), hint=hint, slips=slips)


def _unnormalised(u, limits):
    from .. import free_pairs as FP

    out = FP.decode_states(u, limits)
    out[..., 1:5] = np.array([1.0, 0, 0, 0]) + 2 * np.clip(np.asarray(u, float), -1, 1)[..., 1:5]
    return out
