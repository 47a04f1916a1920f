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


def test_code_is_found_in_a_message():
    from exercise_messages import code_in

    assert code_in("Hint: r = (a - phi @ W.T) / sigma**2")
    assert code_in("Hint: np.cumsum(r[..., ::-1])") and code_in("Hint: call x.sum(axis=1)")
    assert not code_in("Hint: ∇_W log π = σ⁻² (a − Wφ) φᵀ, an m × d outer product; R_t = r_t + γ R_{t+1}")


@pytest.mark.parametrize("name, k", [(n, k) for n in CHECKERS for k in range(3)])
def test_no_check_message_shows_code(name, k, monkeypatch):
    from exercise_messages import assert_messages_show_no_code

    from gc_helpers.exercises import core

    monkeypatch.setattr(core, "_FAILURES", {})
    checker, _, wrong = CHECKERS[name]
    assert_messages_show_no_code(checker, wrong[k])


@pytest.mark.parametrize("name", CHECKERS)
def test_hints_are_graduated(name, monkeypatch):
    """The first failure says what to think about; the second adds the equation; then the hints stay."""
    from exercise_messages import graduated_messages

    from gc_helpers.exercises import core

    monkeypatch.setattr(core, "_FAILURES", {})
    checker, _, wrong = CHECKERS[name]
    first, second, third = graduated_messages(checker, wrong[0], levels=3)
    assert "next hint" not in second
    assert third.count("Hint") == second.count("Hint")
    equation = second.split("Hint 2:")[1]
    assert "=" in equation and "=" not in first.split("Hint:")[1].split("Later cells")[0]


def test_velocity_text_leaves_the_derivation_to_the_student():
    """§3 states the objective (average velocity over one env step), not v_t = (x_{t+1} − x_t)/Δt; the formula is
    in the folded model answer after the check."""
    import nbformat

    from gc_helpers.config import project_root

    nb = nbformat.read(project_root() / "notebooks" / "00_setup.ipynb", as_version=4)
    check = next(i for i, c in enumerate(nb.cells) if "nb00.check_forward_velocity" in c.source)
    above = "\n".join(c.source for c in nb.cells[:check] if c.cell_type == "markdown")
    answer = nb.cells[check + 1].source
    assert "x_{t+1} - x_t" not in above and "average velocity" in above
    assert answer.startswith("<details>") and "x_{t+1} - x_t" in answer


def test_predict_then_run_questions_come_before_their_answers():
    """0.3: the question, then a cell for the student's prediction, then the run, then the folded answer; no cell
    above the question prints the σ = 0.1 vs 1.0 comparison."""
    import nbformat

    from gc_helpers.config import project_root

    nb = nbformat.read(project_root() / "notebooks" / "00_setup.ipynb", as_version=4)
    q = next(i for i, c in enumerate(nb.cells) if "Exercise 0.3 · Predict, then run" in c.source)
    assert "Your prediction" in nb.cells[q + 1].source and nb.cells[q + 1].cell_type == "markdown"
    assert "return_parts(100, 1.0)" in nb.cells[q + 2].source
    assert nb.cells[q + 3].source.startswith("<details>")
    assert not any("return_parts(100, 1.0)" in c.source for c in nb.cells[:q])
