"""The checkers of notebook 02 (quadratic features, reward-to-go, the REINFORCE loss): the package's reference
passes, plausible wrong answers fail naming the case, and bad answers get a message naming the exercise."""

import numpy as np
import pytest
import torch

from gc_helpers import policies
from gc_helpers.exercises import nb02
from gc_helpers.training import reward_to_go


@pytest.fixture(autouse=True)
def _report_mode(monkeypatch):
    monkeypatch.delenv("GC_CHECKS", raising=False)


def _features(x):
    x = np.asarray(x, dtype=np.float64)
    i, j = np.triu_indices(x.shape[-1])
    return np.concatenate([np.ones(x.shape[:-1] + (1,)), x, x[..., i] * x[..., j]], axis=-1)


def _features_all_products(x):
    x = np.asarray(x, dtype=np.float64)
    outer = (x[..., :, None] * x[..., None, :]).reshape(x.shape[:-1] + (-1,))
    return np.concatenate([np.ones(x.shape[:-1] + (1,)), x, outer], axis=-1)


def _features_no_constant(x):
    return _features(x)[..., 1:]


def _rtg(rewards, mask, gamma, shift=0, discount=True):
    r = np.where(mask, rewards, 0.0)
    R = np.zeros_like(r)
    acc = np.zeros(len(r))
    for t in range(r.shape[1] - 1, -1, -1):
        R[:, t] = acc if shift else r[:, t] + (gamma if discount else 1.0) * acc
        acc = r[:, t] + (gamma if discount else 1.0) * acc
    return np.where(mask, R, 0.0)


def _loss(baseline=True, sign=1.0, per_step="mean"):
    def fn(logp, rewards, mask):
        G = (rewards * mask).sum(axis=1)
        A = torch.as_tensor(G - G.mean() if baseline else G)
        m = torch.as_tensor(mask, dtype=logp.dtype)
        total = (logp * m).sum(dim=1)
        per = total / m.sum(dim=1) if per_step == "mean" else total
        return -sign * (A * per).mean()
    return fn


def test_references_pass():
    assert nb02.check_quadratic_features(policies.quadratic_features).passed
    assert nb02.check_reward_to_go(reward_to_go).passed
    assert nb02.check_reinforce_loss(nb02.reference_loss).passed


def test_written_solutions_pass():
    assert nb02.check_quadratic_features(_features).passed
    assert nb02.check_reward_to_go(lambda r, m, g: _rtg(r, m, g)).passed
    assert nb02.check_reinforce_loss(_loss()).passed


@pytest.mark.parametrize("wrong", [_features_all_products, _features_no_constant], ids=["all d² products",
                                                                                        "no constant"])
def test_wrong_features_fail(wrong):
    r = nb02.check_quadratic_features(wrong)
    assert r.passed is False
    assert "case '" in r.message and nb02.FEATURES_EXERCISE in r.message and "shape" in r.message


@pytest.mark.parametrize("wrong", [lambda r, m, g: _rtg(r, m, g, shift=1),
                                   lambda r, m, g: _rtg(r, m, g, discount=False)],
                         ids=["shifted by one step", "no discount"])
def test_wrong_reward_to_go_fails(wrong):
    r = nb02.check_reward_to_go(wrong)
    assert r.passed is False
    assert "case '" in r.message and nb02.RTG_EXERCISE in r.message


@pytest.mark.parametrize("wrong", [_loss(baseline=False), _loss(sign=-1.0), _loss(per_step="sum")],
                         ids=["no baseline", "sign error", "sum over steps instead of the mean"])
def test_wrong_losses_fail(wrong):
    r = nb02.check_reinforce_loss(wrong)
    assert r.passed is False
    assert "case '" in r.message and nb02.LOSS_EXERCISE in r.message
    assert r.fn is nb02.reference_loss  # later cells get the reference


@pytest.mark.parametrize("checker, name", [(nb02.check_quadratic_features, nb02.FEATURES_EXERCISE),
                                           (nb02.check_reward_to_go, nb02.RTG_EXERCISE),
                                           (nb02.check_reinforce_loss, nb02.LOSS_EXERCISE)])
def test_bad_answers_name_the_exercise(checker, name):
    def raises(*args):
        raise KeyError("oops")

    for bad in (lambda *a: "not numbers", lambda *a: np.zeros(3), raises, 42):
        r = checker(bad)
        assert r.passed is False and name in r.message
    assert "KeyError" in checker(raises).message


def test_unwritten_exercise_says_so():
    def unwritten(*args):
        raise NotImplementedError()

    r = nb02.check_reinforce_loss(unwritten)
    assert r.passed is False and "not written yet" in r.message


def _numpy_loss(logp, rewards, mask):
    """The right number, computed in numpy: a backward cannot go through it."""
    lp = logp.detach().numpy()
    G = np.where(mask, rewards, 0.0).sum(axis=1)
    return -np.mean((G - G.mean()) * (lp * mask).sum(axis=1) / mask.sum(axis=1))


def _detached_loss(logp, rewards, mask):
    """The right number as a torch tensor, from a detached logp."""
    return _loss()(logp.detach(), rewards, mask)


def _unmasked_loss(logp, rewards, mask):
    """log π summed over every step, padded ones included."""
    G = np.where(mask, rewards, 0.0).sum(axis=1)
    A = torch.as_tensor(G - G.mean(), dtype=logp.dtype)
    return -(A * logp.sum(dim=1) / torch.as_tensor(mask.sum(axis=1), dtype=logp.dtype)).mean()


def _unmasked_mean_loss(logp, rewards, mask):
    G = np.where(mask, rewards, 0.0).sum(axis=1)
    return -(torch.as_tensor(G - G.mean(), dtype=logp.dtype) * logp.mean(dim=1)).mean()


@pytest.mark.parametrize("wrong, why", [(_numpy_loss, "not a torch tensor"), (_detached_loss, "detached from logp")],
                         ids=["numpy", "detached"])
def test_losses_a_backward_cannot_use_are_rejected_saying_why(wrong, why):
    r = nb02.check_reinforce_loss(wrong)
    assert r.passed is False and r.fn is nb02.reference_loss
    assert why in r.message and "back-propagate" in r.message, r.message


@pytest.mark.parametrize("wrong", [_unmasked_loss, _unmasked_mean_loss], ids=["sum over T", "mean over T"])
def test_unmasked_logp_is_rejected(wrong):
    r = nb02.check_reinforce_loss(wrong)
    assert r.passed is False
    assert "padded" in r.message and "mask" in r.message, r.message


def test_the_cases_hold_padded_steps_with_nonzero_logp():
    """Otherwise an unmasked sum would pass (the gap the cases had)."""
    from gc_helpers.exercises.core import Case

    seen = []
    real = nb02.check

    def spy(exercise, fn, reference, cases, **kw):
        seen.extend(cases)
        return real(exercise, fn, reference, cases, **kw)

    import gc_helpers.exercises.nb02 as mod
    old, mod.check = mod.check, spy
    try:
        nb02.check_reinforce_loss(_loss())
    finally:
        mod.check = old
    assert seen and all(isinstance(c, Case) for c in seen)
    assert any(bool((c.args[0].detach().numpy()[~c.args[2]] != 0).any()) for c in seen)
    assert all(c.args[0].requires_grad for c in seen)


def test_the_checked_loss_can_be_differentiated():
    r = nb02.check_reinforce_loss(_loss())
    logp = torch.zeros(2, 3, requires_grad=True)
    r(logp, np.array([[1.0, 1.0, 0.0], [3.0, 0.0, 0.0]]), np.array([[True, True, False], [True, False, False]])) \
        .backward()
    assert logp.grad is not None and logp.grad[0, 2] == 0 and logp.grad[1, 1] == 0  # padded steps get no gradient


@pytest.mark.parametrize("wrong", [_loss(sign=-1.0), _loss(baseline=False)], ids=["sign", "no baseline"])
def test_wrong_losses_are_named(wrong):
    message = nb02.check_reinforce_loss(wrong).message
    assert "known slip" in message and ("sign" in message or "baseline" in message)


WRONG = {"features": (nb02.check_quadratic_features, [_features_all_products, _features_no_constant]),
         "reward_to_go": (nb02.check_reward_to_go, [lambda r, m, g: _rtg(r, m, g, shift=1),
                                                    lambda r, m, g: _rtg(r, m, g, discount=False)]),
         "loss": (nb02.check_reinforce_loss, [_loss(baseline=False), _loss(sign=-1.0), _loss(per_step="sum"),
                                              _numpy_loss, _detached_loss, _unmasked_loss])}


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



def test_loss_text_leaves_the_loss_to_the_student():
    """§2 gives the gradient estimate and the objective (climb the return), not the loss: L's formula comes only
    after the check (folded)."""
    import nbformat

    from gc_helpers.config import project_root

    nb = nbformat.read(project_root() / "notebooks" / "02_train_quadratic_agent.ipynb", as_version=4)
    check = next(i for i, c in enumerate(nb.cells) if "nb02.check_reinforce_loss" in c.source)
    above = "\n".join(c.source for c in nb.cells[:check] if c.cell_type == "markdown")
    below = "\n".join(c.source for c in nb.cells[check:] if c.cell_type == "markdown")
    assert r"\mathcal L(\theta) = -" not in above and "−mean_i" not in above
    assert "ascent on the return" in above  # the objective is stated
    answer = below[below.index("<details>"):]
    assert r"\mathcal L(\theta) = -" in answer[:answer.index("</details>")]  # the loss, folded after the check


def test_predict_then_run_2_4_comes_before_its_answer():
    import nbformat

    from gc_helpers.config import project_root

    src = [c.source for c in nbformat.read(project_root() / "notebooks" / "02_train_quadratic_agent.ipynb",
                                           as_version=4).cells]
    q = next(i for i, s in enumerate(src) if "**2.4 Predict, then run.**" in s)
    assert "<details>" not in src[q] and "Your prediction" in src[q + 1]
    assert "def loss_without_baseline" in src[q + 2] and src[q + 3].startswith("<details>")
