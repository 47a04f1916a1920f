"""The checkers of notebook 00: the right formula passes, plausible wrong answers fail naming the case, bad answers
get a message naming the exercise."""

import numpy as np
import pytest

from gc_helpers.exercises import nb00


@pytest.fixture(autouse=True)
def _report_mode(monkeypatch):
    monkeypatch.delenv("GC_CHECKS", raising=False)


CHECKERS = {
    "velocity": (nb00.check_forward_velocity,
                 lambda xb, xa, dt: (xa - xb) / dt,
                 [lambda xb, xa, dt: (xa - xb) / 0.01,  # the physics time step instead of the env step
                  lambda xb, xa, dt: (xb - xa) / dt,  # sign flipped
                  lambda xb, xa, dt: xa / dt]),  # position, not displacement
    "reward": (nb00.check_step_reward,
               lambda v, h, a, c: v + h - 0.5 * np.sum(a**2, axis=-1) - c,
               [lambda v, h, a, c: v + 1.0 - 0.5 * np.sum(a**2, axis=-1) - c,  # alive bonus after a fall
                lambda v, h, a, c: v + h - np.sum(a**2, axis=-1) - c,  # control-cost weight missing
                lambda v, h, a, c: v + h - 0.5 * np.sum(a**2) - c]),  # summed over all steps
}


@pytest.mark.parametrize("name", CHECKERS)
def test_right_answer_passes(name):
    checker, right, _ = CHECKERS[name]
    assert checker(right).passed is True


@pytest.mark.parametrize("name, k", [(n, k) for n in CHECKERS for k in range(3)])
def test_wrong_answer_fails_naming_the_case(name, k):
    checker, _, wrong = CHECKERS[name]
    result = checker(wrong[k])
    assert result.passed is False
    assert "case '" in result.message and "Hint:" in result.message, result.message


@pytest.mark.parametrize("name", CHECKERS)
def test_bad_answers_name_the_exercise(name):
    checker, _, _ = CHECKERS[name]

    def broken(*args):
        raise ZeroDivisionError("oops")

    def unwritten(*args):
        raise NotImplementedError()

    for fn, words in [(lambda *a: "fast", "expected numbers"), (lambda *a: np.zeros((2, 2)), "shape"),
                      (broken, "ZeroDivisionError"), (unwritten, "not written yet")]:
        result = checker(fn)
        assert result.passed is False and "Exercise 0." in result.message and words in result.message
