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


def test_a_floor_on_the_std_is_named_and_the_text_asks_for_the_offset():
    """The package adds 1e-6 to the new std; a literal floor max(std, 1e-6) prints the same arrays, so the check
    names the slip, and the exercise text asks for the offset (not a floor)."""
    import nbformat

    from gc_helpers.config import project_root

    def floored(mean, std, score, population, elites, rng, low=-1.0, high=1.0):
        new_mean, new_std, best_x, best_score = _cem()(mean, std, score, population, elites, rng, low, high)
        return new_mean, np.maximum(new_std - 1e-6, 1e-6), best_x, best_score

    r = nb03.check_cem_iteration(floored)
    assert r.passed is False and "floored" in r.message and "ADDS 1e-6" in r.message, r.message
    nb = nbformat.read(project_root() / "notebooks" / "03_cem_compression.ipynb", as_version=4)
    text = next(c.source for c in nb.cells if "Exercise 3.1" in c.source and c.cell_type == "markdown")
    assert "floor" not in text and "add" in text and "1e-6" in text, text


def test_slips_are_named():
    assert "counted twice" in nb03.check_chunk_gain(_gain_not_orthogonalised).message
    assert "divide the squared length" in nb03.check_chunk_gain(_gain_not_normalised).message
    assert "before they are clipped" in nb03.check_cem_iteration(_cem_score_before_clip).message


def _cem_score_before_clip(mean, std, score, population, elites, rng, low=-1.0, high=1.0):
    X = mean + std * rng.standard_normal((population, *np.shape(mean)))
    X[0] = mean
    s = np.asarray(score(X))
    X = np.clip(X, low, high)
    order = np.argsort(-s)
    return X[order[:elites]].mean(0), X[order[:elites]].std(0) + 1e-6, X[order[0]], float(s[order[0]])


WRONG = {"cem": (nb03.check_cem_iteration, [_cem(refit_worst=True), _cem(clip=False), _cem_score_before_clip]),
         "gain": (nb03.check_chunk_gain, [_gain_not_orthogonalised, _gain_not_normalised])}


@pytest.mark.parametrize("name, k", [(n, k) for n, (_, w) in WRONG.items() for k in range(len(w))])
def test_no_check_message_shows_code(name, k, monkeypatch):
    from exercise_messages import assert_messages_show_no_code

    from gc_helpers.exercises import core

    monkeypatch.setattr(core, "_FAILURES", {})
    checker, wrong = WRONG[name]
    assert_messages_show_no_code(checker, wrong[k])


@pytest.mark.parametrize("name", WRONG)
def test_hints_are_graduated(name, monkeypatch):
    from exercise_messages import graduated_messages

    from gc_helpers.exercises import core

    monkeypatch.setattr(core, "_FAILURES", {})
    checker, wrong = WRONG[name]
    first, second = graduated_messages(checker, wrong[0])
    assert "=" in second.split("Hint 2:")[1]



def test_gain_text_leaves_the_derivation_to_the_student():
    """§5 states the property (cos² is a squared projection; a chunk is scored by what it adds), not the gain's
    formula; the formula comes only after the check (folded)."""
    import nbformat

    from gc_helpers.config import project_root

    nb = nbformat.read(project_root() / "notebooks" / "03_cem_compression.ipynb", as_version=4)
    check = next(i for i, c in enumerate(nb.cells) if "nb03.check_chunk_gain" in c.source)
    above = "\n".join(c.source for c in nb.cells[:check] if c.cell_type == "markdown")
    assert r"U^\top w" not in above and "QQ^\\top" not in above


def test_predict_then_run_3_3_comes_before_its_answer():
    import nbformat

    from gc_helpers.config import project_root

    src = [c.source for c in nbformat.read(project_root() / "notebooks" / "03_cem_compression.ipynb",
                                           as_version=4).cells]
    q = next(i for i, s in enumerate(src) if "**Predict, then run** (Exercise 3.3)" in s)
    run = next(i for i, s in enumerate(src) if "for sigma in (SIGMA_CEM, 0.01):" in s)
    assert "<details>" not in src[q] and "Your prediction" in src[q + 1]
    assert q < run and not any("<details>" in s for s in src[q:run]) and src[run + 1].startswith("<details>")
