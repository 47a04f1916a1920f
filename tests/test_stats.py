"""gc_helpers.stats against scipy.stats on known cases, Holm on a made-up table, and the input errors."""

import numpy as np
import pytest
from scipy import stats as sp

from gc_helpers import stats

A = [1.67, 1.81, 1.52, 1.95, 1.74]
B = [1.21, 1.49, 1.10, 1.62, 1.33, 1.05]


def test_welch_matches_scipy():
    t, df, p = stats.welch(A, B)
    ref = sp.ttest_ind(A, B, equal_var=False)
    assert t == pytest.approx(ref.statistic, rel=1e-12)
    assert p == pytest.approx(ref.pvalue, rel=1e-10)
    assert df == pytest.approx(ref.df, rel=1e-12)
    # by hand: Welch–Satterthwaite
    va, vb = np.var(A, ddof=1) / 5, np.var(B, ddof=1) / 6
    assert df == pytest.approx((va + vb) ** 2 / (va**2 / 4 + vb**2 / 5))


def test_welch_interval_matches_scipy():
    c = stats.compare(A, B, level=0.05)
    ci = sp.ttest_ind(A, B, equal_var=False).confidence_interval(0.95)
    assert (c.low, c.high) == pytest.approx((ci.low, ci.high), rel=1e-10)


def test_paired_matches_scipy():
    x, y = A, B[:5]
    t, df, p = stats.paired_t(x, y, seeds_a=[0, 1, 2, 3, 4], seeds_b=[0, 1, 2, 3, 4])
    ref = sp.ttest_rel(x, y)
    assert (t, p, df) == pytest.approx((ref.statistic, ref.pvalue, 4))


def test_permutation_matches_scipy_exact():
    ref = sp.permutation_test((A, B), lambda x, y: np.mean(x) - np.mean(y), permutation_type="independent",
                              alternative="two-sided", n_resamples=np.inf, vectorized=False)
    assert stats.permutation_p(A, B) == pytest.approx(ref.pvalue, rel=1e-12)


def test_permutation_three_seeds_cannot_go_below_one_tenth():
    # 3 vs 3 seeds: 20 relabellings, the two most extreme give p = 2/20 whatever the numbers
    assert stats.permutation_p([3.0, 3.1, 3.2], [0.0, 0.1, 0.2]) == pytest.approx(0.1)


def test_permutation_monte_carlo_close_to_exact():
    rng = np.random.default_rng(1)
    x, y = rng.normal(0.6, 1, 12), rng.normal(0, 1, 12)  # C(24, 12) > MAX_EXACT: Monte Carlo
    ref = sp.permutation_test((x, y), lambda a, b, axis: np.mean(a, axis=axis) - np.mean(b, axis=axis),
                              permutation_type="independent", n_resamples=20_000, random_state=0)
    assert stats.permutation_p(x, y, n_resamples=20_000) == pytest.approx(ref.pvalue, abs=0.01)


def test_hedges_g():
    sp_ = np.sqrt((4 * np.var(A, ddof=1) + 5 * np.var(B, ddof=1)) / 9)
    assert stats.hedges_g(A, B) == pytest.approx((np.mean(A) - np.mean(B)) / sp_ * (1 - 3 / (4 * 11 - 9)))


def test_holm_on_a_made_up_table():
    p = [0.01, 0.04, 0.03, 0.005]
    adjusted, rejected = stats.holm(p, 0.05)
    # sorted 0.005, 0.01, 0.03, 0.04 → ×4, ×3, ×2, ×1 = 0.02, 0.03, 0.06, 0.04 → running max 0.02, 0.03, 0.06, 0.06
    assert adjusted.tolist() == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert rejected.tolist() == [True, False, False, True]
    # Holm never rejects what Bonferroni-free testing would not, and is capped at 1
    assert stats.holm([0.6, 0.7], 0.05)[0].tolist() == [1.0, 1.0]


def test_verdict_needs_five_seeds_each_side():
    c = stats.compare([3.0, 3.1, 3.2], [0.0, 0.1, 0.2, 0.3, 0.4], label_a="x", label_b="y")
    assert c.winner is None and c.verdict == "n = 3: no verdict"
    assert "3.10" in c.summary()  # the numbers are still shown
    c5 = stats.compare(A, B, label_a="x", label_b="y")
    assert c5.enough_seeds and c5.winner == "a" and c5.verdict.startswith("x higher")


def test_holm_verdicts_correct_only_the_calls():
    big = stats.compare(A, B)
    small = stats.compare(A[:3], B[:3])
    weak = stats.compare(A, [a - 0.05 for a in A[::-1]])
    out = stats.holm_verdicts([big, small, weak])
    assert out[1] == small  # no call: unchanged
    adjusted, _ = stats.holm([big.p, weak.p])
    assert [out[0].p_adjusted, out[2].p_adjusted] == pytest.approx(adjusted.tolist())
    assert "Holm p" in out[0].summary()


def test_tie_when_not_significant():
    c = stats.compare(A, [a + 0.01 for a in A[::-1]])
    assert c.winner == "tie" and "no significant difference" in c.verdict


@pytest.mark.parametrize("a, b, name", [([1.0], [1.0, 2.0], "a"), ([1.0, 2.0], [3.0], "b"),
                                        ([1.0, np.nan], [1.0, 2.0], "a"), ([1.0, 2.0], [np.inf, 2.0], "b")])
def test_bad_samples_name_the_argument(a, b, name):
    with pytest.raises(ValueError, match=rf"^{name}"):
        stats.compare(a, b)
    with pytest.raises(ValueError, match=rf"^{name}"):
        stats.permutation_p(a, b)


def test_paired_needs_matching_seeds():
    with pytest.raises(ValueError, match="seeds_a .* differ"):
        stats.compare(A, B[:5], test="paired", seeds_a=[0, 1, 2, 3, 4], seeds_b=[0, 1, 2, 3, 5])
    with pytest.raises(ValueError, match="paired test needs one pair per seed"):
        stats.compare(A, B, test="paired")
    with pytest.raises(ValueError, match="seeds_a and seeds_b"):
        stats.compare(A, B[:5], test="paired", seeds_a=[0, 1, 2, 3, 4])


def test_bad_level_and_test():
    with pytest.raises(ValueError, match="level"):
        stats.compare(A, B, level=1.5)
    with pytest.raises(ValueError, match="test"):
        stats.compare(A, B, test="z")
    with pytest.raises(ValueError, match="pvalues"):
        stats.holm([0.1, 1.2])


def test_one_sample_against_a_value_matches_scipy():
    ref = sp.ttest_1samp(A, 1.5)
    c = stats.compare_to_value(A, 1.5, label_a="ours", label_b="study")
    assert (c.t, c.p, c.df) == pytest.approx((ref.statistic, ref.pvalue, 4))
    ci = ref.confidence_interval(0.95)
    assert (c.low + 1.5, c.high + 1.5) == pytest.approx((ci.low, ci.high))
    assert c.enough_seeds and "one value, no spread" in c.summary()
    with pytest.raises(ValueError, match="value"):
        stats.compare_to_value(A, float("nan"))
