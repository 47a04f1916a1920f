"""The checkers of notebook 04 (the best α by least squares, the √(L/P) null by simulation): the package's
reference passes, plausible wrong answers fail naming the case, and bad answers get a message naming the exercise."""

import numpy as np
import pytest

from gc_helpers.compression import span
from gc_helpers.exercises import nb04


@pytest.fixture(autouse=True)
def _report_mode(monkeypatch):
    monkeypatch.delenv("GC_CHECKS", raising=False)


def _alpha_by_hand(G, w):
    alpha = np.linalg.lstsq(G, w, rcond=None)[0]
    d = G @ alpha
    return alpha, d @ w / (np.linalg.norm(d) * np.linalg.norm(w))


def _alpha_not_solved(G, w):  # α = Gᵀw: right only for orthonormal columns
    alpha = G.T @ w
    d = G @ alpha
    return alpha, d @ w / (np.linalg.norm(d) * np.linalg.norm(w))


def _cosine_not_normalised(G, w):
    alpha = np.linalg.lstsq(G, w, rcond=None)[0]
    return alpha, (G @ alpha) @ w


def _null(square=False, orthonormalise=True):
    def fn(L, P, n, seed):
        rng = np.random.default_rng(seed)
        out = []
        for _ in range(n):
            G, w = rng.standard_normal((P, L)), rng.standard_normal(P)
            Q = np.linalg.qr(G)[0] if orthonormalise else G / np.linalg.norm(G, axis=0)
            c = np.linalg.norm(Q.T @ w) / np.linalg.norm(w)
            out.append(c**2 if square else c)
        return float(np.mean(out))
    return fn


def test_references_pass():
    assert nb04.check_best_alpha(nb04.reference_alpha_and_cosine).passed
    assert nb04.check_simulated_null(span.simulated_null_cosine).passed


def test_written_solutions_pass():
    assert nb04.check_best_alpha(_alpha_by_hand).passed
    assert nb04.check_simulated_null(_null()).passed


@pytest.mark.parametrize("wrong", [_alpha_not_solved, _cosine_not_normalised],
                         ids=["alpha=G^T w", "cos not normalised"])
def test_wrong_alphas_fail(wrong):
    r = nb04.check_best_alpha(wrong)
    assert r.passed is False and "case 'P = 15 parameters, L = 4 gradients'" in r.message
    assert nb04.ALPHA_EXERCISE in r.message


def test_alpha_from_g_transposed_is_named_as_a_slip():
    r = nb04.check_best_alpha(_alpha_not_solved)
    assert "known slip" in r.message and "orthonormal" in r.message


def test_the_reference_cosine_is_the_one_the_searches_score():
    """The exercise's cosine comes from cem.batch_cosines (span_gains), the score every search ranks by; it agrees
    with the least-squares projection on the cases."""
    import torch

    from gc_helpers.compression.cem import batch_cosines

    for case in nb04._alpha_cases():
        G, w = case.args
        want = float(batch_cosines(torch.as_tensor(G.T[None].copy()), torch.as_tensor(w / np.linalg.norm(w)),
                                   "exact")[0])
        assert nb04.reference_alpha_and_cosine(G, w)[1] == want
        assert abs(want - span.span_cosine(G, w)) < 1e-9


@pytest.mark.parametrize("wrong,case", [(_null(square=True), "L = 10, P = 40"),
                                        (_null(orthonormalise=False), "L = 30 > P = 20")],
                         ids=["cos squared", "not orthonormalised"])
def test_wrong_nulls_fail(wrong, case):
    r = nb04.check_simulated_null(wrong)
    assert r.passed is False and f"case '{case}" in r.message and nb04.NULL_EXERCISE in r.message


def test_mean_of_squared_cosines_is_named_as_a_slip():
    r = nb04.check_simulated_null(_null(square=True))
    assert "known slip" in r.message and "L/P" in r.message


@pytest.mark.parametrize("check,name", [(nb04.check_best_alpha, nb04.ALPHA_EXERCISE),
                                        (nb04.check_simulated_null, nb04.NULL_EXERCISE)])
def test_bad_answers_name_the_exercise(check, name):
    for bad in (lambda *a: "a string", lambda *a: 1 / 0, lambda *a: np.zeros(3), None):
        r = check(bad)
        assert r.passed is False and name in r.message
