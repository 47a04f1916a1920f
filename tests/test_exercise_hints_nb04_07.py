"""Notebooks 04–07: hints are graduated (one more per failed check of an exercise, words and mathematics before
the equation) and no check message, at any hint level, shows code."""

import numpy as np
import pytest
import torch

from gc_helpers import behaviour_cloning as cloning
from gc_helpers import compression as C
from gc_helpers.exercises import core, nb04, nb05, nb06, nb07


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    monkeypatch.delenv("GC_CHECKS", raising=False)
    monkeypatch.setattr(core, "_FAILURES", {})


_POLICY = {}


def _policy():
    if "p" not in _POLICY:
        _POLICY["p"] = C.run_policy("ant_quad_sgd", 0)
        obs, act, _ = cloning.expert_trajectory(C.run_policy("ant_quad_sgd", -1), "Ant-v5", 40, seed=C.STUDY_RESET_SEED)
        _POLICY["expert"] = (obs, act)
    return _POLICY["p"]


def _wrong_boot(r_best, r_first, r_last, n_boot, seed, level):
    f = (r_best.mean() - r_first.mean()) / (r_last.mean() - r_first.mean())
    return f, f, f


# exercise -> (checker taking the student's function, a wrong answer, its number of hints)
CHECKERS = {
    "4.1": (nb04.check_best_alpha, lambda G, w: (G.T @ w, 0.5), nb04.ALPHA_HINTS),
    "4.2": (nb04.check_simulated_null, lambda L, P, n, s: float(np.sqrt(L / P)), nb04.NULL_HINTS),
    "5.2": (nb05.check_pick_beta, lambda w, d, b, s, f: float(b[1]), None),
    "5.3": (nb05.check_bootstrap, _wrong_boot, nb05.BOOT_HINTS),
    "6.1": (nb06.check_clipped_surrogate, lambda r, a, e: (r * a).detach().numpy(), nb06.CLIP_HINTS),
    "6.2": (nb06.check_log_det_tanh, lambda u: torch.log(1 - torch.tanh(u) ** 2).sum(-1), None),
    "6.3": (nb06.check_gae, lambda r, v, nv, te, tr, g, lam: (r, r + v), None),
    "8.1": (lambda fn: nb07.check_kernel_direction(fn, _policy()), lambda p, o, c: np.zeros(p.n_params),
            nb07.KERNEL_HINTS),
    "8.2": (lambda fn: nb07.check_bc_mean(fn, _policy(), *_POLICY["expert"]),
            lambda p, so, sa, r, o: np.zeros((len(o), 8)), nb07.BC_HINTS),
}


@pytest.mark.parametrize("name", CHECKERS)
def test_hints_are_graduated(name):
    checker, wrong, _ = CHECKERS[name]
    first, second = checker(wrong).message, checker(wrong).message
    assert "Hint:" in first and "Hint 2:" not in first and "a failed check shows the next hint" in first
    assert "Hint:" in second and "Hint 2:" in second


@pytest.mark.parametrize("name", CHECKERS)
def test_no_check_message_shows_code(name):
    from exercise_messages import code_in

    checker, wrong, _ = CHECKERS[name]
    for _ in range(4):  # every hint level, then all hints
        message = checker(wrong).message
        assert not code_in(message), (code_in(message), message)


def test_no_hint_or_slip_text_shows_code():
    from exercise_messages import code_in

    texts = nb04.ALPHA_HINTS + nb04.NULL_HINTS + nb05.BOOT_HINTS + nb06.CLIP_HINTS + nb07.KERNEL_HINTS + \
        nb07.BC_HINTS + [nb06.NOT_ATTACHED]
    for text in texts:
        assert not code_in(text), (code_in(text), text)
