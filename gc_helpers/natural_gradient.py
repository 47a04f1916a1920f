"""The natural gradient on a one-step Gaussian bandit, whose answer is known (notebooks/01_policy_gradient.ipynb, §9).

``a ~ N(mu, sigma^2)`` with reward ``-(a - target)^2``: the exact gradient, the per-sample scores, the Fisher
matrix (exact and Monte Carlo), the KL divergence, and gradient ascent paths with and without the Fisher
preconditioner, in two parametrisations of σ (``sigma`` or ``log_sigma``). ``gc_helpers.pg_theory`` re-exports
every name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .checks import finite_array, int_at_least, positive_float

_PARAMS = ("sigma", "log_sigma")


def _param(param: str) -> str:
    if param not in _PARAMS:
        raise ValueError(f"param={param!r}: allowed are {_PARAMS}")
    return param


def bandit_gradient(mu: float, sigma: float, target: float, param: str = "sigma") -> np.ndarray:
    """Exact gradient of J = E[-(a - target)^2] = -((mu - target)^2 + sigma^2), a ~ N(mu, sigma^2).

    With respect to (mu, sigma) or (mu, log sigma). Taught in notebooks/01_policy_gradient.ipynb.
    """
    sigma = positive_float(sigma, "sigma")
    mu, target = float(finite_array(mu, "mu", ndim=0)), float(finite_array(target, "target", ndim=0))
    d_sigma = -2.0 * sigma
    return np.array([-2.0 * (mu - target), d_sigma if _param(param) == "sigma" else d_sigma * sigma])


def bandit_scores(a, mu: float, sigma: float, param: str = "sigma") -> np.ndarray:
    """Per-sample score of N(mu, sigma^2) w.r.t. (mu, sigma) or (mu, log sigma), shape (N, 2).

    d/dmu = (a - mu) / sigma^2, d/dsigma = ((a - mu)^2 - sigma^2) / sigma^3, d/dlog sigma = sigma * d/dsigma.
    Taught in notebooks/01_policy_gradient.ipynb.
    """
    sigma = positive_float(sigma, "sigma")
    a, mu = finite_array(a, "a", ndim=1), float(finite_array(mu, "mu", ndim=0))
    d_sigma = ((a - mu) ** 2 - sigma**2) / sigma**3
    return np.stack([(a - mu) / sigma**2, d_sigma if _param(param) == "sigma" else sigma * d_sigma], axis=1)


def gaussian_fisher(sigma: float, param: str = "sigma") -> np.ndarray:
    """Fisher matrix of N(mu, sigma^2) in (mu, sigma): diag(1/s^2, 2/s^2); in (mu, log sigma): diag(1/s^2, 2).

    Taught in notebooks/01_policy_gradient.ipynb.
    """
    sigma = positive_float(sigma, "sigma")
    return np.diag([sigma**-2, 2.0 * sigma**-2 if _param(param) == "sigma" else 2.0])


def fisher_monte_carlo(scores) -> np.ndarray:
    """F = E[score score^T] estimated from score samples (N, P)."""
    s = finite_array(scores, "scores", ndim=2)
    return s.T @ s / s.shape[0]


def gaussian_kl(mu_p: float, sigma_p: float, mu_q: float, sigma_q: float) -> float:
    """KL(N(mu_p, sigma_p^2) || N(mu_q, sigma_q^2)) (taught in notebooks/01_policy_gradient.ipynb)."""
    sp, sq = positive_float(sigma_p, "sigma_p"), positive_float(sigma_q, "sigma_q")
    mp, mq = float(finite_array(mu_p, "mu_p", ndim=0)), float(finite_array(mu_q, "mu_q", ndim=0))
    return math.log(sq / sp) + (sp**2 + (mp - mq) ** 2) / (2 * sq**2) - 0.5


def natural_gradient(grad, fisher) -> np.ndarray:
    """F^{-1} grad, the covariant ascent direction (taught in notebooks/01_policy_gradient.ipynb)."""
    g = finite_array(grad, "grad", ndim=1)
    F = finite_array(fisher, "fisher", ndim=2)
    if F.shape != (g.size, g.size):
        raise ValueError(f"fisher has shape {F.shape}: expected ({g.size}, {g.size}) to match grad")
    return np.linalg.solve(F, g)


@dataclass(frozen=True)
class AscentPath:
    mu: np.ndarray  # (steps + 1,) the mean along the path
    sigma: np.ndarray  # (steps + 1,) the standard deviation along the path (whatever the parametrisation)
    param: str
    natural: bool


def ascent_path(mu0: float, sigma0: float, target: float, *, param: str, natural: bool, lr: float,
                steps: int) -> AscentPath:
    """Gradient ascent on the bandit in the chosen parametrisation, reported in (mu, sigma) coordinates.

    Taught in notebooks/01_policy_gradient.ipynb.
    """
    param = _param(param)
    lr, steps = positive_float(lr, "lr"), int_at_least(steps, "steps")
    mu, sigma = float(finite_array(mu0, "mu0", ndim=0)), positive_float(sigma0, "sigma0")
    mus, sigmas = [mu], [sigma]
    for _ in range(steps):
        g = bandit_gradient(mu, sigma, target, param)
        d = natural_gradient(g, gaussian_fisher(sigma, param)) if natural else g
        mu += lr * d[0]
        sigma = sigma + lr * d[1] if param == "sigma" else sigma * math.exp(lr * d[1])
        if not sigma > 0:
            raise ValueError(f"lr={lr!r}: the step drove sigma to {sigma:.3g} <= 0; use a smaller learning rate")
        mus.append(mu)
        sigmas.append(sigma)
    return AscentPath(mu=np.array(mus), sigma=np.array(sigmas), param=param, natural=natural)
