"""The checkers of notebook 07 (the kernel-view direction, behaviour cloning as kernel ridge regression): the
package's reference and written solutions pass, plausible wrong answers fail naming the case (the known slips by
name), and bad answers get a message naming the exercise."""

import numpy as np
import pytest

from gc_helpers import behaviour_cloning as cloning
from gc_helpers import compression as C
from gc_helpers import fewest_pairs as F
from gc_helpers.exercises import nb07


@pytest.fixture(autouse=True)
def _report_mode(monkeypatch):
    monkeypatch.delenv("GC_CHECKS", raising=False)


@pytest.fixture(scope="module")
def policy():
    return C.run_policy("ant_quad_sgd", 0)


@pytest.fixture(scope="module")
def expert(policy):
    obs, act, _ = cloning.expert_trajectory(C.run_policy("ant_quad_sgd", -1), "Ant-v5", 40, seed=C.STUDY_RESET_SEED)
    return obs, act


def _direction(policy, obs, coeffs):
    return (np.asarray(coeffs).T @ policy.features(obs).numpy()).reshape(-1)


def _direction_transposed(policy, obs, coeffs):
    return (policy.features(obs).numpy().T @ np.asarray(coeffs)).reshape(-1)


def _bc_mean(policy, support_obs, support_actions, ridge, obs):
    phi_s, phi_q = policy.features(support_obs).numpy(), policy.features(obs).numpy()
    C_ = np.linalg.solve(phi_s @ phi_s.T + ridge * len(phi_s) * np.eye(len(phi_s)), support_actions)
    return phi_q @ phi_s.T @ C_


def _bc_no_ridge(policy, support_obs, support_actions, ridge, obs):
    phi_s, phi_q = policy.features(support_obs).numpy(), policy.features(obs).numpy()
    return phi_q @ np.linalg.pinv(phi_s) @ support_actions


def test_references_and_written_solutions_pass(policy, expert):
    assert nb07.check_kernel_direction(F.kernel_direction, policy).passed
    assert nb07.check_kernel_direction(_direction, policy).passed
    assert nb07.check_bc_mean(nb07.reference_bc_mean, policy, *expert).passed
    r = nb07.check_bc_mean(_bc_mean, policy, *expert)
    assert r.passed and r.fn is _bc_mean


def test_transposed_layout_fails_named(policy):
    r = nb07.check_kernel_direction(_direction_transposed, policy)
    assert r.passed is False and nb07.KERNEL_EXERCISE in r.message and "case 'L = 1" in r.message


@pytest.mark.parametrize("wrong, words", [(nb07._bc_without_length, "known slip"), (_bc_no_ridge, "case 'L = ")],
                         ids=["ridge not times L", "no ridge"])
def test_wrong_bc_fails(policy, expert, wrong, words):
    r = nb07.check_bc_mean(wrong, policy, *expert)
    assert r.passed is False and nb07.BC_EXERCISE in r.message and words in r.message
    assert r.fn is nb07.reference_bc_mean


def test_bad_answers_name_the_exercise(policy, expert):
    for bad in (lambda *a: "text", lambda *a: 1 / 0, lambda *a: np.zeros(3), None):
        assert nb07.KERNEL_EXERCISE in nb07.check_kernel_direction(bad, policy).message
        assert nb07.BC_EXERCISE in nb07.check_bc_mean(bad, policy, *expert).message
