"""An independent re-implementation of the verdict rule the notebooks and the README state, for the claims tests.

It shares no code with gc_helpers.stats: Welch's test comes from scipy.stats.ttest_ind(equal_var=False), the
one-sample test from scipy.stats.ttest_1samp, and Holm's step-down correction is written out below. The rule
(stated in gc_helpers/stats.py and in the notebooks): level 0.05, two-sided; a verdict only with at least 5 seeds
on each side, else "n = <smaller n>: no verdict"; one table's calls are corrected together by Holm.
"""

import numpy as np
from scipy import stats as sp

LEVEL, MIN_N = 0.05, 5


def welch_p(a, b) -> float:
    return float(sp.ttest_ind(np.asarray(a, float), np.asarray(b, float), equal_var=False).pvalue)


def one_sample_p(a, value) -> float:
    return float(sp.ttest_1samp(np.asarray(a, float), value).pvalue)


def holm_adjusted(ps) -> list[float]:
    """Holm's adjusted p-values, written from the definition: for the i-th smallest (1-based) of m,
    max over j ≤ i of min(1, (m − j + 1) p_(j))."""
    ps = list(ps)
    m = len(ps)
    order = sorted(range(m), key=lambda i: ps[i])
    out, running = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * ps[i]))
        out[i] = running
    return out


def expected_words(a, b, label_a: str, label_b: str, p_adjusted: float | None) -> str:
    """The verdict text a line must end with (before any trailing note)."""
    n = min(len(a), len(b))
    if n < MIN_N:
        return f"n = {n}: no verdict"
    if p_adjusted > LEVEL:
        return f"no significant difference at level {LEVEL:g}"
    return f"{label_a if np.mean(a) > np.mean(b) else label_b} higher (at level {LEVEL:g})"


def family(pairs) -> list[str]:
    """Verdict words for a table's comparisons [(a, b, label_a, label_b)], Holm over those with enough seeds."""
    calls = [i for i, (a, b, *_) in enumerate(pairs) if min(len(a), len(b)) >= MIN_N]
    adjusted = dict(zip(calls, holm_adjusted([welch_p(pairs[i][0], pairs[i][1]) for i in calls]))) if calls else {}
    return [expected_words(a, b, la, lb, adjusted.get(i)) for i, (a, b, la, lb) in enumerate(pairs)]
