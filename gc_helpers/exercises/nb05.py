"""Checkers for notebooks/05_line_search_decompression.ipynb: the point θ(β) on the line (§2), the line search
that picks β by a score (§3), and a bootstrap interval for the recovered fraction (§4).

The references are the package's own short functions: ``decompression.theta_at``, ``decompression.scan_line``
with ``decompression.best_beta``, and ``decompression.bootstrap_recovered``. Cases are random inputs drawn from
fixed seeds.
"""

from __future__ import annotations

import numpy as np

from .core import Case, check

THETA_EXERCISE = "Exercise 5.1 (the point θ(β) on the line)"
LINE_EXERCISE = "Exercise 5.2 (the line search: pick β by its score)"
BOOT_EXERCISE = "Exercise 5.3 (a bootstrap interval for the recovered fraction)"


def _theta_cases():
    rng = np.random.default_rng(50)
    cases = []
    for name, P, beta, scale in (("P = 6, β = 0.5, scale 2", 6, 0.5, 2.0),
                                 ("P = 20, a long direction (‖d‖ = 30), β = 0.8, scale 0.23", 20, 0.8, 0.23),
                                 ("P = 3, β = 1.4, w_first ≠ 0", 3, 1.4, 1.0)):
        w = rng.standard_normal(P) if "≠ 0" in name else np.zeros(P)
        d = rng.standard_normal(P)
        d = d * (30.0 / np.linalg.norm(d)) if "long" in name else d * rng.uniform(0.1, 3.0)
        cases.append(Case(name, (w, d, beta, scale)))
    return cases


def check_theta_at(fn):
    """Check ``fn(w_first, direction, beta, scale) -> θ`` against ``decompression.theta_at`` (notebook 05, §2)."""
    from .. import decompression as dc

    hint = ("θ(β) = w_first + β · scale · d / ‖d‖: normalise the direction first (np.linalg.norm), so that β is a "
            "step in units of scale = ‖Δw‖ whatever the length of d")
    return check(THETA_EXERCISE, fn, dc.theta_at, _theta_cases(), hint=hint)


def _bowl(center, width):
    """A score with one peak: −‖θ − center‖² / width (a stand-in for the return of the policy θ)."""
    return lambda theta: -float(np.sum((theta - center) ** 2)) / width


def _line_cases():
    rng = np.random.default_rng(51)
    cases = []
    for name, P, scale in (("P = 5, the peak at β ≈ 0.6, ‖d‖ = 4", 5, 1.0),
                           ("P = 12, a short direction (‖d‖ = 0.01), scale 0.2", 12, 0.2),
                           ("P = 8, the peak at the grid's edge", 8, 1.0)):
        w = rng.standard_normal(P)
        d = rng.standard_normal(P)
        d *= (0.01 if "short" in name else 4.0) / np.linalg.norm(d)
        peak = 1.3 if "edge" in name else 0.6
        center = w + peak * scale * d / np.linalg.norm(d) + 0.05 * rng.standard_normal(P)
        betas = np.round(np.linspace(0.1, 1.3, 13), 2)
        cases.append(Case(name, (w, d, betas, scale, _bowl(center, 1.0 + P))))
    return cases


def reference_line_search(w_first, direction, betas, scale, score) -> float:
    """The best β: ``best_beta(betas, scan_line(w_first, direction, betas, scale, score))``."""
    from .. import decompression as dc

    return dc.best_beta(betas, dc.scan_line(w_first, direction, betas, scale, score))


def check_line_search(fn):
    """Check ``fn(w_first, direction, betas, scale, score) -> best β`` against the package's line search
    (``decompression.scan_line`` then ``decompression.best_beta``; notebook 05, §3)."""
    hint = ("score every candidate θ(β) = w_first + β · scale · d/‖d‖ (your theta_at), then return the β (not its "
            "index) with the HIGHEST score (np.argmax): the score is a return, more is better")
    return check(LINE_EXERCISE, fn, reference_line_search, _line_cases(), hint=hint)


def _boot_cases():
    rng = np.random.default_rng(52)
    first = 995 + 4 * rng.standard_normal(20)
    return [Case("20 / 20 / 60 episodes, n_boot = 500", (1500 + 300 * rng.standard_normal(20), first,
                                                         1900 + 900 * rng.standard_normal(60), 500, 1, 0.9)),
            Case("equal sizes (20 each), level 0.8", (2400 + 50 * rng.standard_normal(20), first,
                                                      1800 + 600 * rng.standard_normal(20), 400, 7, 0.8)),
            Case("5 / 8 / 30 episodes, n_boot = 300", (1200 + 100 * rng.standard_normal(5), first[:8],
                                                       2000 + 500 * rng.standard_normal(30), 300, 3, 0.9))]


def check_bootstrap(fn):
    """Check ``fn(r_best, r_first, r_last, n_boot, seed, level) -> (fraction, low, high)`` against
    ``decompression.bootstrap_recovered`` on the same random numbers (notebook 05, §4)."""
    from .. import decompression as dc

    hint = ("rng = np.random.default_rng(seed); for r in (r_best, r_first, r_last), IN THIS ORDER and each with its "
            "own draw: idx = rng.integers(0, r.size, (n_boot, r.size)), means = r[idx].mean(axis=1); then "
            "boot = (m_best − m_first) / (m_last − m_first) and low, high = np.nanquantile(boot, "
            "[(1 − level)/2, (1 + level)/2]); the fraction itself uses the plain means")
    return check(BOOT_EXERCISE, fn, dc.bootstrap_recovered, _boot_cases(), hint=hint)
