"""Verdicts over seeds: a two-sample comparison for small n, a stated level, Holm's correction, an effect size.

Taught in notebooks/07_fewest_pairs.ipynb (§7 verdicts) and used wherever a notebook or the README states that one
setting beats another (notebooks 02, 04, 05, 06, 07; tools/report.py).

The one idea: a comparison of two groups of per-seed numbers (one number per seed, e.g. the fresh-episode forward
velocity of each search seed) is a **Welch t-test** (unequal variances; its degrees of freedom from the
Welch–Satterthwaite formula) or, with ``test="permutation"``, an exact **permutation test** over the seeds
(the difference of means under every relabelling of the pooled seeds; Monte Carlo beyond ``max_exact``
relabellings). The effect size is the difference of means with its Welch t interval at ``1 − level``, and
Hedges' g (standardised by the pooled standard deviation, small-sample corrected). One table making several calls
corrects its p-values with **Holm's step-down** method (``holm``).

A verdict needs at least ``MIN_SEEDS`` = 5 seeds on each side; with fewer the numbers are still shown but the
verdict reads "n = 3: no verdict" (the smaller n). Typical use::

    from gc_helpers import stats
    c = stats.compare(velocities_a, velocities_b, label_a="outer", label_b="bc_first")
    print(c.summary())                       # numbers and the verdict at level 0.05
    calls = stats.holm_verdicts([c1, c2, c3])  # one table: Holm-corrected verdicts, one line each

Bad input (fewer than 2 values on a side, a non-finite value, seeds that do not match in a paired test, a level
outside (0, 1)) is a ValueError naming the argument.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats as _sp

LEVEL = 0.05  # the stated level of every verdict (two-sided)
MIN_SEEDS = 5  # seeds needed on each side before a verdict is called
MAX_EXACT = 20_000  # relabellings enumerated exactly by the permutation test; beyond it, Monte Carlo


# ------------------------------------------------------------------------------------------------------------
# Input checks


def sample(values, name: str) -> np.ndarray:
    """``values`` as a 1-D float64 array of at least 2 finite numbers, or a ValueError naming ``name``."""
    try:
        x = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name}: must be numbers, one per seed ({err})") from None
    if x.size < 2:
        raise ValueError(f"{name} has {x.size} value(s): a comparison needs at least 2 per side (one per seed)")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} has non-finite values {x[~np.isfinite(x)].tolist()}: every seed's number must be "
                         "finite")
    return x


def _check_level(level) -> float:
    """A significance level in (0, 1), e.g. 0.05."""
    if isinstance(level, bool) or not isinstance(level, int | float | np.floating) or not 0 < level < 1:
        raise ValueError(f"level={level!r}: must be a number in (0, 1), e.g. 0.05")
    return float(level)


def _check_paired(a, b, seeds_a=None, seeds_b=None) -> tuple[np.ndarray, np.ndarray]:
    """Two samples for a paired test: equally long, and (when given) the same seeds in the same order."""
    x, y = sample(a, "a"), sample(b, "b")
    if x.size != y.size:
        raise ValueError(f"a has {x.size} values and b has {y.size}: a paired test needs one pair per seed")
    if (seeds_a is None) != (seeds_b is None):
        raise ValueError("seeds_a and seeds_b: give both or neither")
    if seeds_a is not None:
        sa, sb = [int(s) for s in seeds_a], [int(s) for s in seeds_b]
        if len(sa) != x.size or len(sb) != y.size:
            raise ValueError(f"seeds_a ({len(sa)}) and seeds_b ({len(sb)}): one seed per value ({x.size})")
        if sa != sb:
            raise ValueError(f"seeds_a {sa} and seeds_b {sb} differ: a paired test pairs the same seeds")
    return x, y


# ------------------------------------------------------------------------------------------------------------
# The tests


def welch(a, b) -> tuple[float, float, float]:
    """Welch's t for mean(a) − mean(b): (t, degrees of freedom, two-sided p).
    t = (x̄ − ȳ) / √(s_x²/n_x + s_y²/n_y); df = (v_x + v_y)² / (v_x²/(n_x − 1) + v_y²/(n_y − 1)), v = s²/n.
    Two constant samples with equal means give t = 0, p = 1; with different means t = ±inf, p = 0."""
    x, y = sample(a, "a"), sample(b, "b")
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    diff = float(x.mean() - y.mean())
    if vx + vy == 0:
        df = float(x.size + y.size - 2)
        return (0.0, df, 1.0) if diff == 0 else (math.copysign(math.inf, diff), df, 0.0)
    t = diff / math.sqrt(vx + vy)
    df = (vx + vy) ** 2 / (vx**2 / (x.size - 1) + vy**2 / (y.size - 1))
    return float(t), float(df), float(2 * _sp.t.sf(abs(t), df))


def paired_t(a, b, seeds_a=None, seeds_b=None) -> tuple[float, float, float]:
    """The paired t-test of a − b seed by seed: (t, n − 1, two-sided p). Seeds, when given, must match."""
    x, y = _check_paired(a, b, seeds_a, seeds_b)
    d = x - y
    sd = d.std(ddof=1)
    df = float(d.size - 1)
    if sd == 0:
        return (0.0, df, 1.0) if d.mean() == 0 else (math.copysign(math.inf, d.mean()), df, 0.0)
    t = float(d.mean() / (sd / math.sqrt(d.size)))
    return t, df, float(2 * _sp.t.sf(abs(t), df))


def permutation_p(a, b, n_resamples: int = 20_000, seed: int = 0) -> float:
    """Two-sided permutation p of mean(a) − mean(b) over relabellings of the pooled values: the fraction of
    relabellings whose |difference| is at least the observed one. Exact (every split) when there are at most
    ``MAX_EXACT`` splits; otherwise ``n_resamples`` random ones, counted with the observed split ((k + 1)/(n + 1))."""
    x, y = sample(a, "a"), sample(b, "b")
    pooled, nx = np.concatenate([x, y]), x.size
    observed = abs(x.mean() - y.mean())
    tol = 1e-12 * max(1.0, observed)
    total = pooled.sum()
    n_splits = math.comb(pooled.size, nx)
    if n_splits <= MAX_EXACT:
        hits = 0
        for idx in itertools.combinations(range(pooled.size), nx):
            s = pooled[list(idx)].sum()
            hits += abs(s / nx - (total - s) / (pooled.size - nx)) >= observed - tol
        return hits / n_splits
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int) or n_resamples < 1:
        raise ValueError(f"n_resamples={n_resamples!r}: must be a positive integer")
    rng = np.random.default_rng(seed)
    perm = np.argsort(rng.random((n_resamples, pooled.size)), axis=1)[:, :nx]
    s = pooled[perm].sum(axis=1)
    hits = int(np.sum(np.abs(s / nx - (total - s) / (pooled.size - nx)) >= observed - tol))
    return (hits + 1) / (n_resamples + 1)


def hedges_g(a, b) -> float:
    """Hedges' g: (mean(a) − mean(b)) / pooled sd, times the small-sample factor 1 − 3 / (4 (n_a + n_b) − 9)."""
    x, y = sample(a, "a"), sample(b, "b")
    dof = x.size + y.size - 2
    sp = math.sqrt(((x.size - 1) * x.var(ddof=1) + (y.size - 1) * y.var(ddof=1)) / dof)
    d = float(x.mean() - y.mean())
    if sp == 0:
        return 0.0 if d == 0 else math.copysign(math.inf, d)
    return d / sp * (1 - 3 / (4 * (x.size + y.size) - 9))


def holm(pvalues, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """Holm's step-down correction of m p-values: (adjusted p-values, rejected at ``level``), in the input order.
    Sorted p_(1) ≤ … ≤ p_(m): adjusted p_(i) = max_{j ≤ i} min(1, (m − j + 1) p_(j))."""
    p = np.asarray(pvalues, dtype=np.float64).reshape(-1)
    if p.size == 0 or not np.all(np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError(f"pvalues={p.tolist()}: must be a non-empty list of numbers in [0, 1]")
    level = _check_level(level)
    order = np.argsort(p, kind="stable")
    m = p.size
    adj_sorted = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    adjusted = np.empty(m)
    adjusted[order] = adj_sorted
    return adjusted, adjusted <= level


# ------------------------------------------------------------------------------------------------------------
# One comparison, one verdict


@dataclass(frozen=True)
class Comparison:
    """mean(a) − mean(b) over seeds (``compare``): the numbers, the test, and the verdict at ``level``.

    ``p`` is the test's two-sided p-value; ``p_adjusted`` the Holm-corrected one when the comparison is one of
    several calls in a table (``holm_verdicts``), else equal to ``p``. ``low``/``high``: the Welch t interval of
    the difference at 1 − level."""

    label_a: str
    label_b: str
    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    sd_a: float
    sd_b: float
    diff: float
    low: float
    high: float
    t: float
    df: float
    p: float
    p_adjusted: float
    g: float
    test: str
    level: float
    min_n: int
    unit: str = ""
    family: int = 1  # how many calls the Holm correction counted (1: none)

    @property
    def n(self) -> int:
        """The smaller side's number of seeds (one-sample: the sample's)."""
        return self.n_a if self.test == "one-sample" else min(self.n_a, self.n_b)

    @property
    def enough_seeds(self) -> bool:
        return self.n >= self.min_n

    @property
    def winner(self) -> str | None:
        """"a", "b", "tie" (not significant at the level) or None (too few seeds for a verdict)."""
        if not self.enough_seeds:
            return None
        if self.p_adjusted > self.level:
            return "tie"
        return "a" if self.diff > 0 else "b"

    @property
    def verdict(self) -> str:
        """The verdict in words: "<a> higher", "<b> higher", "no significant difference" or "n = 3: no verdict"."""
        w = self.winner
        if w is None:
            return f"n = {self.n}: no verdict"
        if w == "tie":
            return f"no significant difference at level {self.level:g}"
        return f"{self.label_a if w == 'a' else self.label_b} higher (at level {self.level:g})"

    def summary(self, digits: int = 2) -> str:
        """One line: both sides (mean ± sd, n), the difference with its interval, the test and the verdict."""
        f = f"{{:.{digits}f}}"
        u = f" {self.unit}" if self.unit else ""
        stat = (f"Welch t = {self.t:.2f}, df = {self.df:.1f}" if self.test == "welch" else
                f"{self.test} t = {self.t:.2f}, df = {self.df:.0f}" if self.test in ("paired", "one-sample") else
                "permutation over seeds")
        if self.test == "one-sample":
            return (f"{self.label_a} {f.format(self.mean_a)} ± {f.format(self.sd_a)}{u} (n = {self.n_a}) vs "
                    f"{self.label_b} {f.format(self.mean_b)}{u} (one value, no spread): difference "
                    f"{f.format(self.diff)}{u} [{1 - self.level:.0%} interval {f.format(self.low)}, "
                    f"{f.format(self.high)}]; {stat}, p = {self.p:.3f}"
                    + (f", Holm p = {self.p_adjusted:.3f} ({self.family} calls)" if self.family > 1 else "")
                    + f" — {self.verdict}")
        adj = f", Holm p = {self.p_adjusted:.3f} ({self.family} calls)" if self.family > 1 else ""
        return (f"{self.label_a} {f.format(self.mean_a)} ± {f.format(self.sd_a)}{u} (n = {self.n_a}) vs "
                f"{self.label_b} {f.format(self.mean_b)} ± {f.format(self.sd_b)}{u} (n = {self.n_b}): difference "
                f"{f.format(self.diff)}{u} [{1 - self.level:.0%} interval {f.format(self.low)}, "
                f"{f.format(self.high)}], g = {self.g:.2f}; {stat}, p = {self.p:.3f}{adj} — {self.verdict}")


def compare(a, b, label_a: str = "a", label_b: str = "b", test: str = "welch", level: float = LEVEL,
            min_n: int = MIN_SEEDS, unit: str = "", seeds_a=None, seeds_b=None, seed: int = 0) -> Comparison:
    """Compare per-seed numbers ``a`` and ``b`` (mean(a) − mean(b)) with ``test`` in {"welch", "permutation",
    "paired"} at ``level``. ``paired`` pairs a[i] with b[i] (same seed; ``seeds_a``/``seeds_b`` are checked when
    given). The interval of the difference is Welch's (paired: the paired t interval)."""
    if test not in ("welch", "permutation", "paired"):
        raise ValueError(f"test={test!r}: one of 'welch', 'permutation', 'paired'")
    level = _check_level(level)
    if isinstance(min_n, bool) or not isinstance(min_n, int | np.integer) or min_n < 2:
        raise ValueError(f"min_n={min_n!r}: must be an integer >= 2")
    if test == "paired":
        x, y = _check_paired(a, b, seeds_a, seeds_b)
        t, df, p = paired_t(x, y)
        d = x - y
        half = _sp.t.ppf(1 - level / 2, df) * d.std(ddof=1) / math.sqrt(d.size)
    else:
        x, y = sample(a, "a"), sample(b, "b")
        t, df, p = welch(x, y)
        half = _sp.t.ppf(1 - level / 2, df) * math.sqrt(x.var(ddof=1) / x.size + y.var(ddof=1) / y.size)
        if test == "permutation":
            p = permutation_p(x, y, seed=seed)
    diff = float(x.mean() - y.mean())
    return Comparison(str(label_a), str(label_b), x.size, y.size, float(x.mean()), float(y.mean()),
                      float(x.std(ddof=1)), float(y.std(ddof=1)), diff, diff - half, diff + half, t, df, p, p,
                      hedges_g(x, y), test, level, int(min_n), unit)


def compare_to_value(a, value: float, label_a: str = "a", label_b: str = "value", level: float = LEVEL,
                     min_n: int = MIN_SEEDS, unit: str = "") -> Comparison:
    """mean(a) − ``value`` by the one-sample t-test (df = n − 1), for a single reference number without a spread
    of its own (e.g. a digitised curve's point). Its interval is the t interval of mean(a) − value."""
    x = sample(a, "a")
    v = float(value) if isinstance(value, int | float | np.floating | np.integer) else math.nan
    if not math.isfinite(v):
        raise ValueError(f"value={value!r}: must be a finite number")
    level = _check_level(level)
    if isinstance(min_n, bool) or not isinstance(min_n, int | np.integer) or min_n < 2:
        raise ValueError(f"min_n={min_n!r}: must be an integer >= 2")
    res = _sp.ttest_1samp(x, v)
    sd = float(x.std(ddof=1))
    diff = float(x.mean() - v)
    if sd == 0:
        t, p = (0.0, 1.0) if diff == 0 else (math.copysign(math.inf, diff), 0.0)
    else:
        t, p = float(res.statistic), float(res.pvalue)
    half = _sp.t.ppf(1 - level / 2, x.size - 1) * sd / math.sqrt(x.size)
    return Comparison(str(label_a), str(label_b), x.size, 1, float(x.mean()), v, sd, 0.0, diff, diff - half,
                      diff + half, t, float(x.size - 1), p, p, math.nan, "one-sample", level, int(min_n), unit)


def holm_verdicts(comparisons, level: float | None = None) -> list[Comparison]:
    """The comparisons of one table with Holm-corrected p-values (over those with enough seeds: the calls the
    table actually makes); comparisons with too few seeds are returned unchanged (they make no call)."""
    comps = list(comparisons)
    if level is not None:
        comps = [replace(c, level=_check_level(level)) for c in comps]
    calls = [i for i, c in enumerate(comps) if c.enough_seeds]
    if not calls:
        return comps
    adjusted, _ = holm([comps[i].p for i in calls], comps[calls[0]].level)
    for i, q in zip(calls, adjusted):
        comps[i] = replace(comps[i], p_adjusted=float(q), family=len(calls))
    return comps
