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
