"""REINFORCE trainer: input checks, reproducibility, importance-ratio capping, the loss's gradient, saving."""

import math

import numpy as np
import pytest
import torch

from gc_helpers.policies import make_policy
from gc_helpers.training import (
    TrainConfig,
    advantages,
    episode_advantages,
    importance_weights,
    load_run,
    policy_at,
    reward_to_go,
    reward_to_go_advantages,
    runs_dir,
    save_run,
    surrogate_loss,
    train_reinforce,
)

TINY = dict(n_envs=3, horizon=12, n_iterations=2, norm_episodes=3, norm_horizon=8)


@pytest.mark.parametrize(
    "kwargs, name",
    [({"lr": -1e-3}, "lr"), ({"lr": 0.0}, "lr"), ({"n_envs": 0}, "n_envs"), ({"horizon": 0}, "horizon"),
     ({"n_iterations": 0}, "n_iterations"), ({"sigma": 0.0}, "sigma"), ({"optimizer": "rmsprop"}, "optimizer"),
     ({"momentum": 1.0}, "momentum"), ({"ratio_cap": 0.5}, "ratio_cap"), ({"stop_ratio": 1.0}, "stop_ratio"),
     ({"policy_kind": "cubic"}, "policy_kind"), ({"seed": -1}, "seed"), ({"env_id": "NoSuchEnv-v0"}, "env_id")],
)
def test_bad_config_raises_naming_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        TrainConfig(**kwargs)


def test_non_box_action_space_is_refused():
    with pytest.raises(ValueError, match="Box"):
        TrainConfig(env_id="CartPole-v1")


def test_same_seed_same_weights_and_other_seed_differs():
    a = train_reinforce(TrainConfig(**TINY, seed=3, inner_steps=2))
    b = train_reinforce(TrainConfig(**TINY, seed=3, inner_steps=2))
    c = train_reinforce(TrainConfig(**TINY, seed=4, inner_steps=2))
    assert a.checkpoints.shape == (3, 3248)
    np.testing.assert_array_equal(a.checkpoints, b.checkpoints)
    assert not np.array_equal(a.checkpoints[-1], c.checkpoints[-1])
    assert np.all(a.checkpoints[0] == 0)  # zero init: w_first = 0
    assert a.history["env_steps"][-1] > a.history["env_steps"][0] > 0


@pytest.mark.parametrize("kind", ["linear", "mlp"])
def test_other_policy_kinds_train(kind):
    run = train_reinforce(TrainConfig(**TINY, policy_kind=kind, hidden=8))
    assert run.policy_kind == kind
    assert not np.array_equal(run.checkpoints[0], run.checkpoints[-1])


def test_importance_ratios_are_capped():
    new = torch.tensor([0.0, 1.0, 20.0, -3.0], dtype=torch.float64)
    old = torch.zeros(4, dtype=torch.float64)
    rho = importance_weights(new, old, ratio_cap=100.0)
    np.testing.assert_allclose(rho.numpy(), [1.0, math.e, 100.0, math.exp(-3.0)])
    assert not rho.requires_grad
    with pytest.raises(ValueError, match="ratio_cap"):
        importance_weights(new, old, ratio_cap=0.5)


def test_inner_loop_stops_when_a_ratio_exceeds_stop_ratio():
    run = train_reinforce(TrainConfig(**TINY, inner_steps=5, stop_ratio=1.0 + 1e-9, lr=0.5, grad_clip=None))
    assert np.all(run.history["inner_steps"] == 1)
    assert np.all(run.history["max_ratio"] != 1.0)  # outside [1/stop_ratio, stop_ratio]
    free = train_reinforce(TrainConfig(**TINY, inner_steps=3, stop_ratio=1e300, lr=1e-4))
    assert np.all(free.history["inner_steps"] == 3)


def _batch(seed=0, N=4, T=6, d=3, k=2):
    rng = np.random.default_rng(seed)
    obs = rng.standard_normal((N, T, d))
    act = rng.standard_normal((N, T, k))
    mask = np.ones((N, T), dtype=bool)
    mask[1, 4:] = False  # one episode ended early
    rewards = np.where(mask, rng.standard_normal((N, T)), 0.0)
    return obs, act, mask, rewards


def test_episode_loss_gradient_matches_direct_score_sum():
    obs, act, mask, rewards = _batch()
    pol = make_policy("quadratic", 3, 2, sigma=0.3)
    pol.set_flat(np.random.default_rng(1).standard_normal(pol.n_params) * 0.1)
    rho = np.array([1.0, 2.0, 0.5, 1.5])
    adv = advantages(rewards, mask, rho)
    logp = pol.log_prob(torch.as_tensor(obs), torch.as_tensor(act))
    loss = surrogate_loss(logp, torch.as_tensor(mask), torch.as_tensor(adv), torch.as_tensor(rho))
    pol.zero_grad()
    loss.backward()
    got = pol.W.grad.reshape(-1).numpy()
    # direct: −Σ_i ρ_i (G_i − b) mean_t ∇ log π / Σ ρ_i with b the ρ-weighted mean return
    G = rewards.sum(axis=1)
    b = (rho * G).sum() / rho.sum()
    want = np.zeros(pol.n_params)
    for i in range(4):
        n = mask[i].sum()
        s = pol.score(obs[i, :n], act[i, :n]).numpy().sum(axis=0)
        want -= rho[i] * (G[i] - b) * s / n
    want /= rho.sum()
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_reward_to_go_advantages_match_a_loop():
    _, _, mask, rewards = _batch(2)
    rho = np.ones(4)
    A = advantages(rewards, mask, rho, estimator="reward_to_go", gamma=0.9)
    R = np.zeros_like(rewards)
    for i in range(4):
        for t in range(6):
            R[i, t] = sum(0.9 ** (u - t) * rewards[i, u] for u in range(t, 6) if mask[i, u])
    b = np.array([R[mask[:, t], t].mean() for t in range(6)])
    np.testing.assert_allclose(A, np.where(mask, R - b, 0.0), atol=1e-12)


def test_save_load_round_trip(tmp_path):
    run = train_reinforce(TrainConfig(**TINY))
    path = save_run(run, tmp_path / "tiny")
    back = load_run(path, env_id="Ant-v5")
    np.testing.assert_array_equal(back.checkpoints, run.checkpoints)
    np.testing.assert_array_equal(back.history["returns"], run.history["returns"])
    pol = policy_at(back, 1)
    np.testing.assert_array_equal(pol.flat(), run.checkpoints[1])
    np.testing.assert_allclose(pol.obs_std.numpy(), run.description["obs_std"])
    with pytest.raises(ValueError, match="iteration"):
        policy_at(back, 5)
    with pytest.raises(ValueError, match="env_id"):
        load_run(path, env_id="Hopper-v5")


def test_reference_advantages_are_the_loops():
    _, _, mask, rewards = _batch(3)
    rho = np.array([1.0, 0.5, 2.0, 1.0])
    G = np.where(mask, rewards, 0.0).sum(axis=1)
    b = (rho * G).sum() / rho.sum()
    np.testing.assert_allclose(episode_advantages(rewards, mask, rho), np.where(mask, (G - b)[:, None], 0.0))
    np.testing.assert_array_equal(advantages(rewards, mask, rho), episode_advantages(rewards, mask, rho))
    np.testing.assert_array_equal(advantages(rewards, mask, rho, "reward_to_go", gamma=0.9),
                                  reward_to_go_advantages(rewards, mask, rho, 0.9))
    R = reward_to_go(rewards, mask, 1.0)
    np.testing.assert_allclose(R[:, 0], G)
    with pytest.raises(ValueError, match="estimator"):
        advantages(rewards, mask, rho, estimator="gae")


def test_stopping_early_marks_the_run_interrupted_and_saves(tmp_path):
    run = train_reinforce(TrainConfig(**TINY), callback=lambda p: p.iteration < 1, path=tmp_path / "cut")
    assert run.interrupted and run.n_iterations == 1 and run.checkpoints.shape[0] == 2
    back = load_run(tmp_path / "cut")
    assert back.interrupted and back.algo == "reinforce" and back.config == run.config
    assert back.config["optimizer"] == back.config.get("optimizer") == "sgd"


def test_every_shipped_run_loads():
    names = sorted(p.name for p in runs_dir().iterdir() if (p / "meta.json").is_file())
    for name in names:
        run = load_run(name)
        assert run.algo in ("reinforce", "ppo") and run.env_id == run.config.env_id
        assert run.checkpoints.shape[0] == len(run.checkpoint_updates)
        assert run.policy(-1) is not None
