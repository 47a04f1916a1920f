"""A task other than Ant through the public API: a tiny quadratic REINFORCE run on Hopper, the recommended search
and a line search on it, with the task taken from the run; a policy knows its task, and a mismatch names env_id."""

import numpy as np
import pytest

from gc_helpers import behaviour_cloning as cloning
from gc_helpers import compression as C
from gc_helpers import line_search as lsearch
from gc_helpers import policies
from gc_helpers.compression import cem
from gc_helpers.training import TrainConfig, save_run, train_reinforce
from gc_research import chunked


@pytest.fixture(scope="module")
def hopper_run(tmp_path_factory):
    config = TrainConfig(env_id="Hopper-v5", n_envs=4, horizon=20, n_iterations=2, norm_episodes=2, norm_horizon=10)
    return save_run(train_reinforce(config), tmp_path_factory.mktemp("runs") / "hopper_quad")


def test_recommended_search_and_line_search_on_hopper(hopper_run):
    policy = C.run_policy(hopper_run, 0)  # w_first; the run's metadata says which task
    assert policy.env_id == "Hopper-v5" and (policy.obs_dim, policy.act_dim) == (11, 3)
    target = C.weight_change_target(hopper_run)
    res = chunked.chunk_search(policy, target, max_length=10, **chunked.RECOMMENDED)
    assert res.settings["env_id"] == "Hopper-v5" and res.length == 10 and 0 < res.cosine <= 1
    G = res.grads(policy)
    assert C.best_alpha_exact(G, target.vector).cosine == pytest.approx(res.cosine, abs=1e-9)
    scale = float(np.linalg.norm(target.vector))
    ls = lsearch.line_search(policy, res.direction, [0.5, 1.0], scale, n_episodes=2, horizon=20)
    assert ls.returns.shape == (2,) and np.all(np.isfinite(ls.returns))
    best = lsearch.theta_at(ls.w_first, ls.direction, ls.best_beta, ls.scale)  # the line the search walked
    np.testing.assert_array_equal(best, lsearch.theta_at(policy.flat(), res.direction, ls.best_beta, scale))


def test_a_mismatched_task_names_env_id(hopper_run):
    policy = C.run_policy(hopper_run, 0)
    target = C.weight_change_target(hopper_run)
    wrong = "env_id='Ant-v5' but the policy was trained on 'Hopper-v5'"
    with pytest.raises(ValueError, match=wrong):
        chunked.chunk_search(policy, target, max_length=5, env_id="Ant-v5", **chunked.RECOMMENDED)
    with pytest.raises(ValueError, match=wrong):
        lsearch.line_search(policy, target.vector, [0.5], 1.0, "Ant-v5", n_episodes=1, horizon=2)
    with pytest.raises(ValueError, match=wrong):
        cem.cem_sequence(policy, target, 3, 0.5, env_id="Ant-v5")
    with pytest.raises(ValueError, match=wrong):
        cloning.expert_trajectory(policy, "Ant-v5", 5)
    anonymous = policies.make_policy("quadratic", 11, 3, 0.1)  # knows no task: the study's Ant-v5 is assumed
    with pytest.raises(ValueError, match="env_id='Ant-v5' has obs_dim=27.*expects obs_dim=11"):
        chunked.chunk_search(anonymous, target, max_length=5)
    assert chunked.chunk_search(anonymous, target, max_length=2, chunk=2, env_id="Hopper-v5").settings["env_id"] == \
        "Hopper-v5"
    with pytest.raises(ValueError, match="env_id"):
        policy.score(np.zeros((2, 27)), np.zeros((2, 3)))


def test_a_policy_carries_its_task():
    pol = policies.make_policy("linear", 11, 3, 0.1, env_id="Hopper-v5")
    desc = policies.describe(pol)
    assert desc["env_id"] == "Hopper-v5" and policies.from_description(desc).env_id == "Hopper-v5"
    assert "env_id" not in policies.describe(policies.make_policy("linear", 11, 3, 0.1))
    assert pol.with_flat(pol.flat()).env_id == "Hopper-v5"
    with pytest.raises(ValueError, match="env_id"):
        policies.make_policy("linear", 11, 3, 0.1, env_id=3)


def test_quadratic_features_and_non_finite_inputs():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 4))
    phi = policies.quadratic_features(x)
    i, j = np.triu_indices(4)
    np.testing.assert_array_equal(phi, np.c_[np.ones(5), x, x[:, i] * x[:, j]])
    pol = policies.make_policy("quadratic", 4, 2, 0.1)
    np.testing.assert_array_equal(pol.features(x).numpy(), phi)  # the identity normaliser
    bad = x.copy()
    bad[2, 1] = np.nan
    for call in (lambda: pol.score(bad, np.zeros((5, 2))), lambda: pol.log_prob(bad, np.zeros((5, 2))),
                 lambda: policies.make_policy("mlp", 4, 2, 0.1).score(bad, np.zeros((5, 2)))):
        with pytest.raises(ValueError, match=r"obs has 1 non-finite entry \(first at index \(2, 1\)"):
            call()
