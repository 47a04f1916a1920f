"""The checkers of notebook 03 (one CEM iteration, the gain of a chunk): the package's reference passes, plausible
wrong answers fail naming the case, and bad answers get a message naming the exercise."""

import numpy as np
import pytest

from gc_helpers.compression import cem, span
from gc_helpers.exercises import nb03


@pytest.fixture(autouse=True)
def _report_mode(monkeypatch):
    monkeypatch.delenv("GC_CHECKS", raising=False)


def _cem(refit_worst=False, clip=True):
    def fn(mean, std, score, population, elites, rng, low=-1.0, high=1.0):
        X = mean + std * rng.standard_normal((population, *np.shape(mean)))
        X[0] = mean
        if clip:
            X = np.clip(X, low, high)
        s = np.asarray(score(X))
        order = np.argsort(s) if refit_worst else np.argsort(-s)
        elite = X[order[:elites]]
        best = np.argmax(s)
        return elite.mean(0), elite.std(0) + 1e-6, X[best], float(s[best])
    return fn


def _gain_not_orthogonalised(Q, w, G):
    U = np.linalg.qr(G)[0]
    return float(np.sum((U.T @ w) ** 2) / (w @ w))


def _gain_not_normalised(Q, w, G):
    new = G - Q @ (Q.T @ G)
    U = np.linalg.qr(new)[0]
    return float(np.sum((U.T @ w) ** 2))


def _gain_by_hand(Q, w, G):
    U = np.linalg.qr(G - Q @ (Q.T @ G))[0]
    return float(np.sum((U.T @ w) ** 2) / (w @ w))


def test_references_pass():
    assert nb03.check_cem_iteration(cem.cem_iteration).passed
    assert nb03.check_chunk_gain(span.chunk_gain).passed


def test_a_written_solution_passes():
    mine = _cem()
    r = nb03.check_cem_iteration(mine)
    assert r.passed and r.fn is mine  # later cells call the student's own function
    assert nb03.check_chunk_gain(_gain_by_hand).passed


@pytest.mark.parametrize("wrong", [_cem(refit_worst=True), _cem(clip=False)], ids=["refit to the worst", "no clip"])
def test_wrong_cem_iterations_fail(wrong):
    r = nb03.check_cem_iteration(wrong)
    assert r.passed is False
    assert "case '" in r.message and nb03.CEM_EXERCISE in r.message
    assert r.fn is cem.cem_iteration  # later cells use the reference


@pytest.mark.parametrize("wrong", [_gain_not_orthogonalised, _gain_not_normalised],
                         ids=["not orthogonalised", "not divided by |w|^2"])
def test_wrong_gains_fail(wrong):
    r = nb03.check_chunk_gain(wrong)
    assert r.passed is False
    assert "case 'P = 12, a prefix of 4 directions" in r.message or "case '" in r.message
    assert nb03.GAIN_EXERCISE in r.message


@pytest.mark.parametrize("check,name", [(nb03.check_cem_iteration, nb03.CEM_EXERCISE),
                                        (nb03.check_chunk_gain, nb03.GAIN_EXERCISE)])
def test_bad_answers_name_the_exercise(check, name):
    for bad in (lambda *a, **k: "a string", lambda *a, **k: 1 / 0, lambda *a, **k: np.zeros(7), 42):
        r = check(bad)
        assert r.passed is False and name in r.message


def test_unwritten_exercise_says_so():
    def todo(*args, **kwargs):
        raise NotImplementedError()
    r = nb03.check_chunk_gain(todo)
    assert r.passed is False and "not written yet" in r.message
