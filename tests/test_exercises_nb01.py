"""The checkers of notebook 01: the reference passes, plausible wrong answers fail naming the case, bad answers get
a message naming the exercise; and the generated student notebook runs with its exercises unsolved."""

import nbformat
import numpy as np
import pytest

from gc_helpers import pg_theory as pg
from gc_helpers.exercises import nb01


@pytest.fixture(autouse=True)
def _report_mode(monkeypatch):
    monkeypatch.delenv("GC_CHECKS", raising=False)


def _log_prob_no_norm(a, mean, sigma):
    return -0.5 * np.sum((a - mean) ** 2, axis=-1) / sigma**2


def _log_prob_sigma_not_squared(a, mean, sigma):
    m = a.shape[-1]
    return -0.5 * np.sum((a - mean) ** 2, axis=-1) / sigma - m * np.log(sigma) - 0.5 * m * np.log(2 * np.pi)


def _score_no_sigma(W, phi, a, sigma):
    return (a - phi @ W.T)[..., :, None] * phi[..., None, :]


def _score_sign(W, phi, a, sigma):
    return -pg.gaussian_score_closed_form(W, phi, a, sigma)


def _score_transposed(W, phi, a, sigma):
    return np.swapaxes(pg.gaussian_score_closed_form(W, phi, a, sigma), -1, -2)


def _rtg_shifted(r):  # sum over t' > t: one step too late
    return pg.reward_to_go(r) - r


def _rtg_forward(r):  # cumulative sum from the start: the reward so far
    return np.cumsum(r, axis=-1)


def _reinforce_whole_return(scores, rewards, baseline):
    return pg.per_trajectory_gradients(scores, rewards, use_reward_to_go=False, baseline=baseline)


def _reinforce_baseline_added(scores, rewards, baseline):
    return pg.per_trajectory_gradients(scores, rewards, use_reward_to_go=True, baseline=-baseline)


def _reinforce_mean_over_time(scores, rewards, baseline):
    return pg.per_trajectory_gradients(scores, rewards, use_reward_to_go=True, baseline=baseline) / scores.shape[1]


def _weights_inverted(states, actions, W_new, W_old, sigma):
    return pg.trajectory_log_weights(states, actions, W_old, W_new, sigma)


def _weights_per_step(states, actions, W_new, W_old, sigma):
    phi = pg.lq_features(states)
    return pg.gaussian_log_prob(actions, phi @ W_new.T, sigma) - pg.gaussian_log_prob(actions, phi @ W_old.T, sigma)


def _weights_not_log(states, actions, W_new, W_old, sigma):
    return np.exp(pg.trajectory_log_weights(states, actions, W_new, W_old, sigma))


CHECKERS = {
    "log_prob": (nb01.check_log_prob, pg.gaussian_log_prob, [_log_prob_no_norm, _log_prob_sigma_not_squared]),
    "score": (nb01.check_score, pg.gaussian_score_closed_form, [_score_no_sigma, _score_sign, _score_transposed]),
    "reward_to_go": (nb01.check_reward_to_go, pg.reward_to_go, [_rtg_shifted, _rtg_forward]),
    "reinforce": (nb01.check_reinforce,
                  lambda s, r, b: pg.per_trajectory_gradients(s, r, use_reward_to_go=True, baseline=b),
                  [_reinforce_whole_return, _reinforce_baseline_added, _reinforce_mean_over_time]),
    "log_weights": (nb01.check_log_weights, pg.trajectory_log_weights,
                    [_weights_inverted, _weights_per_step, _weights_not_log]),
}


@pytest.mark.parametrize("name", CHECKERS)
def test_reference_passes(name, capsys):
    checker, reference, _ = CHECKERS[name]
    result = checker(reference)
    assert result.passed is True
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("name, k", [(n, k) for n, (_, _, wrong) in CHECKERS.items() for k in range(len(wrong))])
def test_wrong_answer_fails_naming_the_case(name, k):
    checker, reference, wrong = CHECKERS[name]
    result = checker(wrong[k])
    assert result.passed is False
    assert "case '" in result.message and "Hint:" in result.message, result.message
    assert result.fn is reference or result.fn is not wrong[k]  # later cells get the reference


@pytest.mark.parametrize("name", CHECKERS)
def test_wrong_shape_names_the_exercise(name):
    checker, _, _ = CHECKERS[name]
    result = checker(lambda *args: np.zeros(7))
    assert result.passed is False
    assert "Exercise 1." in result.message and "shape" in result.message


@pytest.mark.parametrize("name", CHECKERS)
def test_raising_and_unwritten_answers_name_the_exercise(name):
    checker, _, _ = CHECKERS[name]

    def broken(*args):
        raise KeyError("oops")

    def unwritten(*args):
        raise NotImplementedError()

    raised = checker(broken)
    assert raised.passed is False and "Exercise 1." in raised.message and "KeyError" in raised.message
    todo = checker(unwritten)
    assert todo.passed is False and "not written yet" in todo.message
    assert checker("not a function").passed is False


@pytest.mark.notebook
def test_student_notebook_runs_with_exercises_unsolved(tmp_path):
    from gc_helpers.config import project_root
    from tools.assign import solution_lines, student_version
    from tools.runner import execute

    nb = student_version(nbformat.read(project_root() / "notebooks" / "01_policy_gradient.ipynb", as_version=4))
    assert not solution_lines(nb)
    path = tmp_path / "01_policy_gradient.ipynb"
    nbformat.write(nb, path)
    done = execute(path, tmp_path / "executed.ipynb", preset="fast", strict_checks=False)
    text = "\n".join(o.get("text", "") for c in done.cells if c.cell_type == "code" for o in c.get("outputs", []))
    for k in range(1, 6):
        assert f"Exercise 1.{k} " in text and "not written yet" in text.split(f"Exercise 1.{k} ")[1][:200], k
    assert not any(o.get("output_type") == "error" for c in done.cells for o in c.get("outputs", []))


@pytest.mark.parametrize("name, k", [(n, k) for n, (_, _, wrong) in CHECKERS.items() for k in range(len(wrong))])
def test_no_check_message_shows_code(name, k, monkeypatch):
    from exercise_messages import assert_messages_show_no_code

    from gc_helpers.exercises import core

    monkeypatch.setattr(core, "_FAILURES", {})
    checker, _, wrong = CHECKERS[name]
    assert_messages_show_no_code(checker, wrong[k])


@pytest.mark.parametrize("name", CHECKERS)
def test_hints_are_graduated(name, monkeypatch):
    """The first failure says what to think about; the second adds the equation."""
    from exercise_messages import graduated_messages

    from gc_helpers.exercises import core

    monkeypatch.setattr(core, "_FAILURES", {})
    checker, _, wrong = CHECKERS[name]
    first, second = graduated_messages(checker, wrong[0])
    assert "=" in second.split("Hint 2:")[1]



def test_score_slips_are_named():
    assert "sign is flipped" in nb01.check_score(_score_sign).message
    assert "σ⁻² is missing" in nb01.check_score(_score_no_sigma).message


def test_score_text_leaves_the_derivation_to_the_student():
    """§4 states the log-density and asks for its gradient; the closed-form score comes only after the check."""
    from gc_helpers.config import project_root

    nb = nbformat.read(project_root() / "notebooks" / "01_policy_gradient.ipynb", as_version=4)
    check = next(i for i, c in enumerate(nb.cells) if "nb01.check_score" in c.source)
    above = "\n".join(c.source for c in nb.cells[:check] if c.cell_type == "markdown")
    assert r"\sigma^{-2}" not in above and "σ⁻²" not in above, "the score's formula is given above Exercise 1.2"


def test_predict_then_run_questions_come_before_their_answers():
    """1.6: question, prediction cell, run, folded answer, all before "What we saw" (whose bullet answers it);
    1.7: question, derivation cell, folded answer; §6 no longer states b*."""
    from gc_helpers.config import project_root

    nb = nbformat.read(project_root() / "notebooks" / "01_policy_gradient.ipynb", as_version=4)
    src = [c.source for c in nb.cells]
    q6 = next(i for i, s in enumerate(src) if "### 1.6 · Predict, then run" in s)
    assert "Your prediction" in src[q6 + 1] and "batch_estimates(64, 0.0, False)" in src[q6 + 2]
    assert src[q6 + 3].startswith("<details>")
    assert q6 < next(i for i, s in enumerate(src) if s.startswith("## What we saw"))
    q7 = next(i for i, s in enumerate(src) if "### 1.7 · The optimal constant baseline" in s)
    assert "Your derivation" in src[q7 + 1] and src[q7 + 2].startswith("<details>")
    assert r"\mathbb E\big[g_k^2\,R(\tau)\big]" not in "\n".join(src[:q7 + 2])
