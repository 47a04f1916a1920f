"""Checkers for notebooks/07_fewest_pairs.ipynb: the kernel-view direction Σ_t c_t ⊗ φ(s_t) (§8, Exercise 8.1)
and behaviour cloning's mean action without building W, derived from "BC is ridge regression on the features"
(§8, Exercise 8.2).

The references are the package's own functions: ``fewest_pairs.kernel_direction`` and the mean of the policy
``behaviour_cloning.behaviour_cloning`` fits. Cases use the notebook's own policy (support states drawn around its
observation normaliser, or the expert's pairs). Hints are graduated and never show code.
"""

from __future__ import annotations

import numpy as np

from .core import Case, check

KERNEL_EXERCISE = "Exercise 8.1 (the kernel-view direction)"
BC_EXERCISE = "Exercise 8.2 (behaviour cloning as kernel ridge regression)"

KERNEL_HINTS = [
    "W has one row per action dimension and one column per feature. Which entries of W does the pair (c_t, s_t) "
    "touch, and by how much?",
    "Entry (i, f) of W is the sum over the pairs of c_t[i] times φ(s_t)[f]: the product of the transposed (L, 8) "
    "coefficients with the (L, F) features. Flatten it row by row, like the policy's weights.",
]
BC_HINTS = [
    "Write ridge regression's optimality condition for W and look for W as a combination of the support states' "
    "features: W = Cᵀ Φ for some coefficients C (L, 8). What equation must C satisfy?",
    "Ridge regression's normal equations are W (ΦᵀΦ + λ I) = Aᵀ Φ, with λ = ridge · L. Put W = Cᵀ Φ in: they hold "
    "when (K + λ I) C = A, where K = Φ Φᵀ is the (L, L) kernel of the support states.",
    "The mean at a state s is then μ(s) = Σ_t C[t] k(s_t, s) with k(s_t, s) = ⟨φ(s_t), φ(s)⟩: only inner "
    "products of features, never the (8, F) matrix W.",
]


def _random_states(policy, rng, n: int) -> np.ndarray:
    """n states drawn around the policy's observation normaliser (mean ± std)."""
    return rng.normal(policy.obs_mean.numpy(), policy.obs_std.numpy(), (n, policy.obs_dim))


def check_kernel_direction(fn, policy):
    """Check ``fn(policy, obs, coeffs) -> flat d`` against ``fewest_pairs.kernel_direction`` for L = 1, 3 and 16
    random support states and coefficients (notebook 07, Exercise 8.1)."""
    from .. import fewest_pairs

    rng = np.random.default_rng(71)
    cases = [Case(f"L = {L} random support states and coefficients",
                  (policy, _random_states(policy, rng, L), rng.normal(size=(L, policy.act_dim)))) for L in (1, 3, 16)]
    slips = [("this is the transposed layout: W is (8 × F), flattened row by row, one row per action dimension",
              lambda p, o, c: (p.features(o).numpy().T @ np.asarray(c)).reshape(-1))]
    return check(KERNEL_EXERCISE, fn, fewest_pairs.kernel_direction, cases, hint=KERNEL_HINTS, slips=slips)


def reference_bc_mean(policy, support_obs, support_actions, ridge, obs):
    """The mean actions at ``obs`` of the policy ``behaviour_cloning.behaviour_cloning`` fits on the support pairs."""
    from ..behaviour_cloning import behaviour_cloning

    W = behaviour_cloning(policy, support_obs, support_actions, ridge=ridge)
    return policy.with_flat(W).mean_fn()(obs)


def _bc_without_length(policy, support_obs, support_actions, ridge, obs):
    """The known slip: λ = ridge instead of ridge · L."""
    phi_s, phi_q = policy.features(support_obs).numpy(), policy.features(obs).numpy()
    C = np.linalg.solve(phi_s @ phi_s.T + ridge * np.eye(len(phi_s)), support_actions)
    return phi_q @ phi_s.T @ C


def check_bc_mean(fn, policy, expert_obs, expert_actions):
    """Check ``fn(policy, support_obs, support_actions, ridge, obs) -> (n, 8)`` against the mean of the behaviour-
    cloning fit, on the expert's first L pairs (L = 4, 16, 32; ridge 1e-3, 1e-2, 1) and its last 7 states
    (notebook 07, Exercise 8.2)."""
    cases = [Case(f"L = {L} expert pairs, ridge {r}", (policy, expert_obs[:L], expert_actions[:L], r,
                                                       expert_obs[-7:]))
             for L, r in ((4, 1e-3), (16, 1e-2), (32, 1.0))]
    slips = [("the ridge here is λ = ridge, but the package's behaviour cloning penalises ridge · L (the text's λ)",
              _bc_without_length)]
    return check(BC_EXERCISE, fn, reference_bc_mean, cases, hint=BC_HINTS, rtol=1e-5, slips=slips)
