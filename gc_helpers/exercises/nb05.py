"""Checkers for notebooks/05_line_search_decompression.ipynb: the point θ(β) on the line (§1), the line search
that picks β by a score (§2), and a bootstrap interval for the recovered fraction, derived from "the three samples
are independent" (§3).

The references are the package's own short functions: ``line_search.theta_at``, ``line_search.scan_line``
with ``line_search.best_beta``, and ``recovery.bootstrap_recovered``. The student's line search is called
``pick_beta`` (it returns β), so that it does not shadow the package's ``line_search`` (which returns a
``LineSearch``). Cases are random inputs drawn from
fixed seeds; the line search's grids hold β = 0 and put the best β at either end. The bootstrap is checked
statistically (the fraction exactly, the interval within its Monte-Carlo error of a long reference run), so any
correct order of random draws passes. Hints are graduated and never show code.
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
    """Check ``fn(w_first, direction, beta, scale) -> θ`` against ``line_search.theta_at`` (notebook 05, §1)."""
    from .. import line_search as lsearch

    hint = ["β must mean the same step for every direction, whatever length α gave d: what do you do to d first?",
            "θ(β) = w_first + β · scale · d / ‖d‖: divide the direction by its Euclidean norm, then step β · scale "
            "along it."]
    slips = [("β was applied to d itself; d must be divided by its length first",
              lambda w, d, b, s: np.asarray(w, float) + b * s * np.asarray(d, float))]
    return check(THETA_EXERCISE, fn, lsearch.theta_at, _theta_cases(), hint=hint, slips=slips)


def _bowl(center, width):
    """A score with one peak: −‖θ − center‖² / width (a stand-in for the return of the policy θ)."""
    return lambda theta: -float(np.sum((theta - center) ** 2)) / width


def _line_cases():
    """Bowls on the line: the best β inside the grid, at its first entry β = 0 (the untrained weights win) and at
    its last entry (the optimum lies beyond the grid): a search that skips the first or the last β fails."""
    rng = np.random.default_rng(51)
    cases = []
    for name, P, scale, peak, betas in (
            ("P = 5, the peak at β ≈ 0.6, ‖d‖ = 4", 5, 1.0, 0.6, np.round(np.linspace(0.1, 1.3, 13), 2)),
            ("P = 12, a short direction (‖d‖ = 0.01), scale 0.2", 12, 0.2, 0.6, np.round(np.linspace(0.1, 1.3, 13), 2)),
            ("P = 8, the grid 0 … 1.2 and the best β = 0 (its first entry)", 8, 1.0, -0.3,
             np.round(np.linspace(0.0, 1.2, 13), 2)),
            ("P = 8, the peak beyond the grid (the best β is its last entry)", 8, 1.0, 1.6,
             np.round(np.linspace(0.0, 1.2, 7), 2))):
        w = rng.standard_normal(P)
        d = rng.standard_normal(P)
        d *= (0.01 if "short" in name else 4.0) / np.linalg.norm(d)
        center = w + peak * scale * d / np.linalg.norm(d) + 0.05 * rng.standard_normal(P)
        cases.append(Case(name, (w, d, betas, scale, _bowl(center, 1.0 + P))))
    return cases


def reference_pick_beta(w_first, direction, betas, scale, score) -> float:
    """The best β: ``best_beta(betas, scan_line(w_first, direction, betas, scale, score))``."""
    from .. import line_search as lsearch

    return lsearch.best_beta(betas, lsearch.scan_line(w_first, direction, betas, scale, score))


def check_pick_beta(fn):
    """Check the student's line search ``fn(w_first, direction, betas, scale, score) -> best β`` against the
    package's (``line_search.scan_line`` then ``line_search.best_beta``; notebook 05, §2)."""
    hint = ["Every β of the grid is a candidate, the first (often β = 0, the untrained weights) and the last "
            "included: score each candidate point θ(β) once.",
            "The score is a return: more is better. Return the β itself (a value of the grid), not its position "
            "in the grid.",
            "Candidate points are θ(β) = w_first + β · scale · d / ‖d‖, the function of Exercise 5.1."]
    return check(LINE_EXERCISE, fn, reference_pick_beta, _line_cases(), hint=hint)


N_BOOT = 4000  # resamples per check: the interval's Monte-Carlo error is then about 1 % of its width
REFERENCE_BOOT = 40_000  # the reference interval's resamples
INTERVAL_TOL = 0.08  # an end of the interval may differ from the reference by this fraction of its width


def _boot_cases():
    rng = np.random.default_rng(52)
    first = 995 + 4 * rng.standard_normal(20)
    return [Case("20 / 20 / 60 episodes", (1500 + 300 * rng.standard_normal(20), first,
                                           1900 + 900 * rng.standard_normal(60), N_BOOT, 1, 0.9)),
            Case("equal sizes (20 each), level 0.8", (2400 + 50 * rng.standard_normal(20), first,
                                                      1800 + 600 * rng.standard_normal(20), N_BOOT, 7, 0.8)),
            Case("5 / 8 / 30 episodes", (1200 + 100 * rng.standard_normal(5), first[:8],
                                         2000 + 500 * rng.standard_normal(30), N_BOOT, 3, 0.9))]


BOOT_HINTS = [
    "The three sets are independent samples: a resample of one tells you nothing about the others. What does "
    "that say about how each resample is drawn, and from which set?",
    "For each of the n_boot rounds, resample every set on its own, with replacement and at its own size, and take "
    "the three means; one round gives one ρ = (m_best − m_first) / (m_last − m_first). Seed one generator with "
    "the seed and draw from it.",
    "The interval holds the middle `level` of the n_boot ρ: its ends are their quantiles at (1 − level)/2 and "
    "(1 + level)/2. The fraction itself uses the plain means of the three sets, not the resamples.",
]


def _within_error(fn):
    """fn with each end of its interval replaced by the reference's when it lies within the Monte-Carlo error
    (``INTERVAL_TOL`` of the reference width), so that any correct order of random draws passes the exact
    comparison while a wrong interval is shown as the student's own numbers."""
    from ..recovery import bootstrap_recovered

    def run(r_best, r_first, r_last, n_boot, seed, level):
        got = fn(r_best, r_first, r_last, n_boot, seed, level)
        try:
            frac, low, high = (float(x) for x in got)
        except (TypeError, ValueError):
            return got
        _, ref_low, ref_high = bootstrap_recovered(r_best, r_first, r_last, REFERENCE_BOOT, seed, level)
        tol = INTERVAL_TOL * (ref_high - ref_low)
        low = ref_low if abs(low - ref_low) <= tol else low
        high = ref_high if abs(high - ref_high) <= tol else high
        return frac, low, high
    return run


def _reference_bootstrap(r_best, r_first, r_last, n_boot, seed, level):
    """The fraction of the means and the interval of ``recovery.bootstrap_recovered`` with many resamples."""
    from ..recovery import bootstrap_recovered

    return bootstrap_recovered(r_best, r_first, r_last, REFERENCE_BOOT, seed, level)


def check_bootstrap(fn):
    """Check ``fn(r_best, r_first, r_last, n_boot, seed, level) -> (fraction, low, high)``: the fraction exactly,
    each end of the interval within ``INTERVAL_TOL`` of its width from ``recovery.bootstrap_recovered`` run
    with ``REFERENCE_BOOT`` resamples (notebook 05, §3). Later cells get ``fn`` itself if it passed."""
    from dataclasses import replace

    from ..recovery import bootstrap_recovered

    if not callable(fn):
        return check(BOOT_EXERCISE, fn, bootstrap_recovered, _boot_cases(), hint=BOOT_HINTS)
    result = check(BOOT_EXERCISE, _within_error(fn), _reference_bootstrap, _boot_cases(), hint=BOOT_HINTS,
                   rtol=1e-9, atol=1e-9)
    return replace(result, fn=fn if result.passed else bootstrap_recovered)
