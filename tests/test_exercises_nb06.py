"""The checkers of notebook 06 (the clipped surrogate, the tanh log-determinant, GAE across episode boundaries):
the package's reference passes, plausible wrong answers fail naming the case, and bad answers get a message
naming the exercise."""

import math

import numpy as np
import pytest
import torch

from gc_helpers.exercises import nb06
from gc_helpers.training import ppo, ppo_core


@pytest.fixture(autouse=True)
def _report_mode(monkeypatch):
    monkeypatch.delenv("GC_CHECKS", raising=False)


def _surrogate(combine=torch.minimum, clip_adv=False):
    def fn(ratio, adv, clip):
        if clip_adv:
            return combine(ratio * adv, ratio * torch.clamp(adv, 1 - clip, 1 + clip))
        return combine(ratio * adv, torch.clamp(ratio, 1 - clip, 1 + clip) * adv)
    return fn


def _logdet(stable=True, summed=True):
    def fn(u):
        if stable:
            per = 2 * (math.log(2) - u - torch.nn.functional.softplus(-2 * u))
        else:
            per = torch.log(1 - torch.tanh(u) ** 2)
        return per.sum(-1) if summed else per
    return fn


def _gae(bootstrap_on_termination=False, stop_at_boundary=True):
    def fn(rewards, values, next_values, terminated, truncated, gamma, lam):
        nv = next_values if bootstrap_on_termination else np.where(terminated, 0.0, next_values)
        delta = rewards + gamma * nv - values
        ended = terminated | truncated
        adv = np.zeros_like(delta)
        running = np.zeros(rewards.shape[1])
        for t in range(len(rewards) - 1, -1, -1):
            keep = np.where(ended[t], 0.0, 1.0) if stop_at_boundary else 1.0
            running = delta[t] + gamma * lam * keep * running
            adv[t] = running
        return adv, adv + values
    return fn


def test_references_pass():
    assert nb06.check_clipped_surrogate(ppo.clipped_surrogate).passed
    assert nb06.check_log_det_tanh(ppo_core.log_det_tanh).passed
    assert nb06.check_gae(ppo.gae).passed


def test_written_solutions_pass():
    assert nb06.check_clipped_surrogate(_surrogate()).passed
    assert nb06.check_log_det_tanh(_logdet()).passed
    assert nb06.check_gae(_gae()).passed


@pytest.mark.parametrize("wrong", [_surrogate(combine=torch.maximum), _surrogate(clip_adv=True),
                                   lambda r, a, c: torch.clamp(r, 1 - c, 1 + c) * a],
                         ids=["max instead of min", "clip on the advantage", "always clipped"])
def test_wrong_surrogates_fail(wrong):
    r = nb06.check_clipped_surrogate(wrong)
    assert r.passed is False
    assert "case '" in r.message and nb06.CLIP_EXERCISE in r.message


def _numpy_surrogate(ratio, adv, clip):
    r, a = ratio.detach().numpy(), adv.detach().numpy()
    return np.minimum(r * a, np.clip(r, 1 - clip, 1 + clip) * a)


def _numpy_on_the_graph(ratio, adv, clip):  # numpy straight on a tensor that requires a gradient: torch refuses
    r, a = np.asarray(ratio), np.asarray(adv)
    return np.minimum(r * a, np.clip(r, 1 - clip, 1 + clip) * a)


def _detached_surrogate(ratio, adv, clip):
    return torch.minimum(ratio * adv, torch.clamp(ratio, 1 - clip, 1 + clip) * adv).detach()


@pytest.mark.parametrize("wrong", [_numpy_surrogate, _numpy_on_the_graph, _detached_surrogate,
                                   lambda r, a, c: torch.as_tensor(_numpy_surrogate(r, a, c))],
                         ids=["numpy on detached values", "numpy on the graph", "detached tensor",
                              "numpy wrapped back into a tensor"])
def test_a_surrogate_off_the_graph_is_rejected_with_the_reason(wrong):
    """Cell 7 backpropagates through the surrogate: right values computed off the graph must fail, saying why."""
    r = nb06.check_clipped_surrogate(wrong)
    assert r.passed is False and r.fn is ppo.clipped_surrogate
    assert "backpropagate" in r.message and "numpy array or a detached tensor has no gradient" in r.message


def test_a_passing_surrogate_is_handed_on_unwrapped_and_backpropagates():
    fn = _surrogate()
    r = nb06.check_clipped_surrogate(fn)
    assert r.passed and r.fn is fn
    ratio = torch.linspace(0.5, 1.5, 11, requires_grad=True)
    (g,) = torch.autograd.grad(r(ratio, torch.ones(11), 0.2).sum(), ratio)
    assert g[0] == 1 and g[-1] == 0  # zero gradient past 1 + ε for A > 0


def test_wrong_log_dets_fail():
    r = nb06.check_log_det_tanh(_logdet(summed=False))
    assert r.passed is False and "case '" in r.message and "shape" in r.message
    r = nb06.check_log_det_tanh(_logdet(stable=False))
    assert r.passed is False and "saturated" in r.message and nb06.LOGDET_EXERCISE in r.message
    assert "known slip" in r.message


@pytest.mark.parametrize("wrong", [_gae(stop_at_boundary=False), _gae(bootstrap_on_termination=True)],
                         ids=["ignores the boundary", "bootstraps on termination"])
def test_wrong_gae_fails(wrong):
    r = nb06.check_gae(wrong)
    assert r.passed is False
    assert "case '" in r.message and nb06.GAE_EXERCISE in r.message


@pytest.mark.parametrize("checker, name", [(nb06.check_clipped_surrogate, nb06.CLIP_EXERCISE),
                                           (nb06.check_log_det_tanh, nb06.LOGDET_EXERCISE),
                                           (nb06.check_gae, nb06.GAE_EXERCISE)])
def test_bad_answers_name_the_exercise(checker, name):
    def raises(*args):
        raise ZeroDivisionError("oops")

    for bad in (lambda *a: "not numbers", lambda *a: np.zeros(2), raises, None):
        r = checker(bad)
        assert r.passed is False and name in r.message
    assert "ZeroDivisionError" in checker(raises).message
