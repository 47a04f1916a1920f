"""The checkers of notebook 05 (θ(β), the line search, the bootstrap interval): the package's reference passes,
plausible wrong answers fail naming the case, and bad answers get a message naming the exercise."""

import numpy as np
import pytest

from gc_helpers import line_search as lsearch
from gc_helpers import recovery
from gc_helpers.exercises import nb05


@pytest.fixture(autouse=True)
def _report_mode(monkeypatch):
    monkeypatch.delenv("GC_CHECKS", raising=False)


def _theta_by_hand(w_first, direction, beta, scale):
    return w_first + beta * scale * direction / np.linalg.norm(direction)


def _theta_unnormalised(w_first, direction, beta, scale):  # β applied to d itself
    return w_first + beta * scale * direction


def _theta_without_scale(w_first, direction, beta, scale):
    return w_first + beta * direction / np.linalg.norm(direction)


def _line(pick=np.argmax, normalise=True, index=False):
    def fn(w_first, direction, betas, scale, score):
        d = direction / np.linalg.norm(direction) if normalise else direction
        scores = [score(w_first + b * scale * d) for b in betas]
        i = int(pick(scores))
        return i if index else float(betas[i])
    return fn


def _line_skipping(first=True):
    """A search over betas[1:] (or betas[:-1]): it never scores one end of the grid."""
    def fn(w_first, direction, betas, scale, score):
        kept = betas[1:] if first else betas[:-1]
        scores = [score(lsearch.theta_at(w_first, direction, b, scale)) for b in kept]
        return float(kept[int(np.argmax(scores))])
    return fn


def _boot(joint=False, resample=True):
    def fn(r_best, r_first, r_last, n_boot, seed, level):
        rng = np.random.default_rng(seed)
        sets = (r_best, r_first, r_last)
        if not resample:
            means = [np.full(n_boot, r.mean()) for r in sets]
        elif joint:  # one draw of indices shared by the three sets
            n = min(r.size for r in sets)
            idx = rng.integers(0, n, (n_boot, n))
            means = [r[:n][idx].mean(axis=1) for r in sets]
        else:
            means = [r[rng.integers(0, r.size, (n_boot, r.size))].mean(axis=1) for r in sets]
        boot = (means[0] - means[1]) / (means[2] - means[1])
        low, high = np.nanquantile(boot, [(1 - level) / 2, (1 + level) / 2])
        frac = (r_best.mean() - r_first.mean()) / (r_last.mean() - r_first.mean())
        return frac, low, high
    return fn


def test_references_pass():
    assert nb05.check_theta_at(lsearch.theta_at).passed
    assert nb05.check_pick_beta(nb05.reference_pick_beta).passed
    assert nb05.check_bootstrap(recovery.bootstrap_recovered).passed


def test_written_solutions_pass():
    assert nb05.check_theta_at(_theta_by_hand).passed
    assert nb05.check_pick_beta(_line()).passed
    assert nb05.check_bootstrap(_boot()).passed


@pytest.mark.parametrize("wrong", [_theta_unnormalised, _theta_without_scale], ids=["unnormalised d", "no scale"])
def test_wrong_theta_fails(wrong):
    r = nb05.check_theta_at(wrong)
    assert r.passed is False and "case 'P = 6, β = 0.5, scale 2'" in r.message
    assert r.fn is lsearch.theta_at  # later cells fall back to the reference


@pytest.mark.parametrize("wrong, case", [(_line(pick=np.argmin), "P = 5, the peak at β ≈ 0.6, ‖d‖ = 4"),
                                         (_line(normalise=False), "P = 5, the peak at β ≈ 0.6, ‖d‖ = 4"),
                                         (_line(index=True), "P = 5, the peak at β ≈ 0.6, ‖d‖ = 4")],
                         ids=["minimum", "unnormalised d", "index not β"])
def test_wrong_line_search_fails(wrong, case):
    r = nb05.check_pick_beta(wrong)
    assert r.passed is False and f"case '{case}'" in r.message


def test_a_search_over_betas_without_the_first_fails():
    """The grid holds β = 0 as its best entry: skipping the first β (betas[1:]) is caught, and so is skipping the
    last (the best β at the grid's far end)."""
    r = nb05.check_pick_beta(_line_skipping(first=True))
    assert r.passed is False and "the best β = 0 (its first entry)" in r.message
    r = nb05.check_pick_beta(_line_skipping(first=False))
    assert r.passed is False and "the best β is its last entry" in r.message


def test_the_line_search_cases_hold_beta_zero_and_both_ends():
    best = [nb05.reference_pick_beta(*c.args) for c in nb05._line_cases()]
    grids = [c.args[2] for c in nb05._line_cases()]
    assert any(0.0 in g for g in grids)
    assert any(b == g[0] == 0.0 for b, g in zip(best, grids)) and any(b == g[-1] for b, g in zip(best, grids))


def _boot_other_order(r_best, r_first, r_last, n_boot, seed, level):
    """A correct bootstrap that draws its resamples in another order (and with another call): it must pass."""
    rng = np.random.default_rng(seed + 12345)
    means = {}
    for name, r in (("last", r_last), ("best", r_best), ("first", r_first)):
        means[name] = np.array([rng.choice(r, r.size).mean() for _ in range(n_boot)])
    boot = (means["best"] - means["first"]) / (means["last"] - means["first"])
    low, high = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return (r_best.mean() - r_first.mean()) / (r_last.mean() - r_first.mean()), low, high


def _boot_fixed_denominator(r_best, r_first, r_last, n_boot, seed, level):
    """Only the decompressed policy's episodes resampled: the denominator's own noise is left out."""
    rng = np.random.default_rng(seed)
    m = r_best[rng.integers(0, r_best.size, (n_boot, r_best.size))].mean(axis=1)
    boot = (m - r_first.mean()) / (r_last.mean() - r_first.mean())
    low, high = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return (r_best.mean() - r_first.mean()) / (r_last.mean() - r_first.mean()), low, high


def test_any_correct_order_of_draws_passes_and_is_used_later():
    r = nb05.check_bootstrap(_boot_other_order)
    assert r.passed, r.message
    assert r.fn is _boot_other_order


@pytest.mark.parametrize("wrong", [_boot(joint=True), _boot(resample=False), _boot_fixed_denominator],
                         ids=["joint resampling of unequal sizes", "no resampling", "fixed denominator"])
def test_wrong_bootstrap_fails(wrong):
    r = nb05.check_bootstrap(wrong)
    assert r.passed is False and "case '" in r.message and nb05.BOOT_EXERCISE in r.message
    assert r.fn is recovery.bootstrap_recovered


def test_a_wrong_fraction_fails_even_with_the_right_interval():
    def wrong_fraction(*args):
        frac, low, high = recovery.bootstrap_recovered(*args)
        return frac * 1.01, low, high
    assert nb05.check_bootstrap(wrong_fraction).passed is False


@pytest.mark.parametrize("checker", [nb05.check_theta_at, nb05.check_pick_beta, nb05.check_bootstrap])
def test_bad_answers_name_the_exercise(checker):
    not_a_function = checker(42)
    assert not_a_function.passed is False and "Exercise 5." in not_a_function.message

    def raises(*args):
        raise IndexError("boom")
    r = checker(raises)
    assert r.passed is False and "Exercise 5." in r.message and "IndexError" in r.message

    def wrong_shape(*args):
        return np.zeros(2)
    r = checker(wrong_shape)
    assert r.passed is False and "Exercise 5." in r.message


def test_not_written_yet(capsys):
    def todo(*args):
        raise NotImplementedError()
    r = nb05.check_theta_at(todo)
    assert r.passed is False and "not written yet" in r.message
