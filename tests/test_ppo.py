"""PPO pieces (gc_helpers.training.ppo): GAE with episode boundaries, the squashed log-likelihood, the clipped
surrogate, rollout boundaries, reproducibility and input checks."""

import math

import numpy as np
import pytest
import torch

from gc_helpers.compression import probes
from gc_helpers.training import configs, ppo, ppo_core, runs


def gae_direct(rewards, values, next_values, terminated, truncated, gamma, lam):
    """Slow reference: for every (t, i) sum (γλ)^l δ_{t+l} over the rest of t's episode inside the batch."""
    T, N = rewards.shape
    adv = np.zeros((T, N))
    for i in range(N):
        for t in range(T):
            total = 0.0
            for l in range(T - t):
                s = t + l
                boot = 0.0 if terminated[s, i] else gamma * next_values[s, i]
                delta = rewards[s, i] + boot - values[s, i]
                total += (gamma * lam) ** l * delta
                if terminated[s, i] or truncated[s, i]:
                    break
            adv[t, i] = total
    return adv


def nstep_mc(rewards, values, next_values, terminated, truncated, gamma):
    """λ = 1: discounted reward-to-go until the episode (or batch) ends, plus γ^n V(bootstrap) unless terminated."""
    T, N = rewards.shape
    out = np.zeros((T, N))
    for i in range(N):
        for t in range(T):
            g, disc = 0.0, 1.0
            for s in range(t, T):
                g += disc * rewards[s, i]
                disc *= gamma
                if terminated[s, i]:
                    break
                if truncated[s, i] or s == T - 1:
                    g += disc * next_values[s, i]
                    break
            out[t, i] = g - values[t, i]
    return out


def hand_batch(seed=0, T=9, N=4):
    rng = np.random.default_rng(seed)
    r = rng.normal(size=(T, N))
    v = rng.normal(size=(T, N))
    nv = rng.normal(size=(T, N))
    term = np.zeros((T, N), bool)
    trunc = np.zeros((T, N), bool)
    term[2, 0] = True  # env 0: falls in the middle, then a new episode
    trunc[5, 0] = True  # ... which is cut by the time limit, then a third one
    trunc[3, 1] = True  # env 1: time limit in the middle
    term[4, 1] = True  # ... and a one-step episode right after the truncation
    term[0, 2] = True  # env 2: ends on the first step and on the last one
    term[T - 1, 2] = True
    # env 3: no boundary at all (bootstraps from the last next value)
    return r, v, nv, term, trunc


@pytest.mark.parametrize("gamma,lam", [(0.99, 0.95), (0.9, 0.5), (1.0, 1.0), (0.8, 0.0)])
def test_gae_matches_direct_computation_with_boundaries(gamma, lam):
    r, v, nv, term, trunc = hand_batch()
    adv, ret = ppo.gae(r, v, nv, term, trunc, gamma, lam)
    np.testing.assert_allclose(adv, gae_direct(r, v, nv, term, trunc, gamma, lam), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ret, adv + v)


def test_gae_limits_td_and_monte_carlo():
    r, v, nv, term, trunc = hand_batch(seed=1, T=12, N=3)
    # inside an episode the next state's value is the next row's value (as in a real rollout); the telescoping
    # sum of λ = 1 needs that consistency
    inner = ~(term | trunc)[:-1]
    nv[:-1][inner] = v[1:][inner]
    adv0, _ = ppo.gae(r, v, nv, term, trunc, 0.9, 0.0)
    np.testing.assert_allclose(adv0, r + 0.9 * np.where(term, 0.0, nv) - v, atol=1e-12)
    adv1, _ = ppo.gae(r, v, nv, term, trunc, 0.9, 1.0)
    np.testing.assert_allclose(adv1, nstep_mc(r, v, nv, term, trunc, 0.9), atol=1e-12)


def test_gae_truncation_bootstraps_but_termination_does_not():
    r = np.zeros((2, 1))
    v = np.zeros((2, 1))
    nv = np.full((2, 1), 10.0)
    trunc = np.array([[True], [False]])
    term = np.array([[False], [True]])
    adv, _ = ppo.gae(r, v, nv, term, trunc, 0.5, 0.9)
    assert adv[0, 0] == pytest.approx(5.0)  # γ V(final obs), no leak from step 1
    assert adv[1, 0] == pytest.approx(0.0)
    # a NaN next value at a terminal step is ignored
    nv[1, 0] = np.nan
    adv2, _ = ppo.gae(r, v, nv, term, trunc, 0.5, 0.9)
    np.testing.assert_allclose(adv, adv2)


def test_gae_bad_inputs():
    r, v, nv, term, trunc = hand_batch()
    with pytest.raises(ValueError, match="values"):
        ppo.gae(r, v[:-1], nv, term, trunc, 0.99, 0.95)
    with pytest.raises(ValueError, match="gamma"):
        ppo.gae(r, v, nv, term, trunc, 1.5, 0.95)
    with pytest.raises(ValueError, match="lam"):
        ppo.gae(r, v, nv, term, trunc, 0.99, -0.1)
    with pytest.raises(ValueError, match="rewards"):
        ppo.gae(r[0], v[0], nv[0], term[0], trunc[0], 0.99, 0.95)
    bad = r.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="rewards"):
        ppo.gae(bad, v, nv, term, trunc, 0.99, 0.95)


@pytest.mark.parametrize("low,high", [(-1.0, 1.0), (-0.4, 0.4)])
def test_squashed_log_prob_is_a_change_of_variables(low, high):
    torch.manual_seed(0)
    k = 3
    mu = torch.randn(k, dtype=torch.float64) * 0.5
    log_std = torch.randn(k, dtype=torch.float64) * 0.3
    u = mu + torch.exp(log_std) * torch.randn(500, k, dtype=torch.float64)
    a = ppo_core.squash(u, low, high)
    # explicit: log N(u) − log|det da/du| with the Jacobian by autograd (diagonal)
    jac = torch.autograd.functional.jacobian(lambda z: ppo_core.squash(z, low, high), u[0])
    assert torch.allclose(jac, torch.diag(torch.diagonal(jac)))
    uu = u.clone().requires_grad_(True)
    diag = torch.autograd.grad(ppo_core.squash(uu, low, high).sum(), uu)[0]
    want = torch.distributions.Normal(mu, torch.exp(log_std)).log_prob(u).sum(-1) - torch.log(diag).sum(-1)
    got = ppo_core.squashed_log_prob(u, mu, log_std, low, high)
    torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-9)
    # density through a = g(u): p_A(a) = p_U(g⁻¹(a)) |d g⁻¹/da| with the inverse by atanh
    u_back = torch.atanh((a - low) / (0.5 * (high - low)) - 1.0)
    inv_jac = 1.0 / (0.5 * (high - low) * (1 - ((a - low) / (0.5 * (high - low)) - 1.0) ** 2))
    ref = torch.distributions.Normal(mu, torch.exp(log_std)).log_prob(u_back).sum(-1) + torch.log(inv_jac).sum(-1)
    torch.testing.assert_close(got, ref, rtol=1e-6, atol=1e-6)


def test_squashed_density_integrates_to_one_in_1d():
    mu, log_std = torch.tensor([0.3], dtype=torch.float64), torch.tensor([-0.2], dtype=torch.float64)
    a = torch.linspace(-1 + 1e-9, 1 - 1e-9, 400001, dtype=torch.float64)
    u = torch.atanh(a)[:, None]
    p = torch.exp(ppo_core.squashed_log_prob(u, mu, log_std))
    assert float(torch.trapezoid(p, a)) == pytest.approx(1.0, abs=1e-4)


def test_log_det_is_stable_for_large_u():
    u = torch.tensor([[30.0, -30.0, 0.0]], dtype=torch.float64)
    v = ppo_core.log_det_tanh(u)
    assert torch.isfinite(v).all()
    assert float(v) == pytest.approx(2 * (2 * (math.log(2) - 30.0)), rel=1e-9)


def test_clipped_surrogate_hand_made():
    ratio = torch.tensor([0.5, 0.9, 1.0, 1.1, 1.5, 0.5, 1.5, 1.3])
    adv = torch.tensor([1.0, 1.0, 2.0, 1.0, 1.0, -1.0, -1.0, 0.0])
    got = ppo.clipped_surrogate(ratio, adv, 0.2)
    # A > 0: min(r, clip(r)) · A caps gains at r = 1.2, keeps losses (r = 0.5 → 0.5)
    # A < 0: caps the gain at r = 0.8 (r = 0.5 → −0.8), keeps the loss for r = 1.5 (→ −1.5)
    want = torch.tensor([0.5, 0.9, 2.0, 1.1, 1.2, -0.8, -1.5, 0.0])
    torch.testing.assert_close(got, want)
    # gradient is zero exactly where the clip is active
    r = ratio.clone().requires_grad_(True)
    ppo.clipped_surrogate(r, adv, 0.2).sum().backward()
    torch.testing.assert_close(r.grad, torch.tensor([1.0, 1.0, 2.0, 1.0, 0.0, 0.0, -1.0, 0.0]))
    with pytest.raises(ValueError, match="clip"):
        ppo.clipped_surrogate(ratio, adv, 0.0)


def test_collect_keeps_the_final_observation_at_boundaries():
    venv = ppo_core.ParallelEnvs("Hopper-v5", 3, horizon=7, seed=5)
    actor = ppo_core.Actor(11, 3)
    pol = ppo_core.TanhGaussianPolicy(actor, np.zeros(11), np.ones(11), -1.0, 1.0)
    b = ppo_core.collect(venv, pol, 20, torch.Generator().manual_seed(0), 0)
    ended = b.terminated | b.truncated
    assert b.truncated[6].all() and ended.sum() >= 6  # 7-step limit: truncations at t = 6 and 13 at least
    t, i = np.argwhere(ended)[0]
    assert not np.allclose(b.next_obs[t, i], b.obs[t + 1, i])  # s'_t is the final obs, s_{t+1} a reset obs
    inner = ~ended[:-1]
    np.testing.assert_array_equal(b.next_obs[:-1][inner], b.obs[1:][inner])
    assert len(b.episode_returns) == ended.sum()
    venv.close()


def tiny_config(**kw):
    base = dict(env_id="Hopper-v5", total_steps=512, n_envs=2, n_steps=128, epochs=2, minibatch_size=64, seed=3)
    return configs.PPOConfig(**{**base, **kw})


def test_reproducible_and_saves(tmp_path):
    a = ppo.train_ppo(tiny_config(), path=tmp_path / "a")
    b = ppo.train_ppo(tiny_config())
    np.testing.assert_array_equal(a.checkpoints, b.checkpoints)
    assert a.checkpoints.shape == (3, a.description["n_params"])
    assert not np.array_equal(a.checkpoints[0], a.checkpoints[-1])
    c = ppo.train_ppo(tiny_config(seed=4))
    assert not np.array_equal(a.checkpoints[-1], c.checkpoints[-1])
    loaded = runs.load_run(tmp_path / "a", env_id="Hopper-v5", algo="ppo")
    np.testing.assert_array_equal(loaded.checkpoints, a.checkpoints)
    assert loaded.config == a.config
    assert loaded.meta["env_steps"] == 512
    for key in ("policy_loss", "entropy_loss", "value_loss", "critic_error", "mean_return"):
        assert loaded.history[key].shape == (2,)
    pol = loaded.policy(-1)
    obs = np.zeros((4, 11))
    assert pol.mean_fn()(obs).shape == (4, 3)
    g = pol.score(np.random.default_rng(0).normal(size=(5, 11)), np.zeros((5, 3)))
    assert g.shape == (5, pol.actor.n_params)
    with pytest.raises(ValueError, match="env_id"):
        runs.load_run(tmp_path / "a", env_id="Ant-v5", algo="ppo")


def test_minibatch_normalisation_and_interrupt(tmp_path):
    run = ppo.train_ppo(tiny_config(adv_norm="minibatch", checkpoint_every=2, total_steps=768),
                        progress=lambda p: p.update < 2, path=tmp_path / "r")
    assert run.meta["interrupted"] and run.meta["n_updates_done"] == 2
    assert list(run.checkpoint_updates) == [0, 2]


def test_score_matches_autograd_loop():
    run = ppo.train_ppo(tiny_config(total_steps=256))
    pol = run.policy(-1)
    rng = np.random.default_rng(1)
    obs, u = rng.normal(size=(4, 11)), rng.normal(size=(4, 3))
    g = pol.score(obs, u)
    for t in range(4):
        pol.actor.zero_grad()
        pol.log_prob(obs[t:t + 1], u[t:t + 1]).sum().backward()
        want = torch.cat([p.grad.reshape(-1) for p in pol.actor.parameters()])
        torch.testing.assert_close(g[t], want)


@pytest.mark.parametrize("field,value", [("env_id", "Pong-v5"), ("total_steps", 0), ("n_envs", 1.5),
                                         ("lr", -1.0), ("gamma", 0.0), ("lam", 1.2), ("clip", 1.0),
                                         ("adv_norm", "episode"), ("hidden", ()), ("minibatch_size", 10_000),
                                         ("seed", -1), ("ent_coef", float("nan")), ("obs_norm", 1)])
def test_bad_config(field, value):
    with pytest.raises(ValueError, match=field if field != "n_envs" else "n_envs"):
        tiny_config(**{field: value})


def test_bad_arguments():
    with pytest.raises(ValueError, match="config"):
        ppo.train_ppo({"env_id": "Hopper-v5"})
    with pytest.raises(ValueError, match="save_every"):
        ppo.train_ppo(tiny_config(), save_every=0)


def test_random_action_compressibility():
    run = ppo.train_ppo(tiny_config(total_steps=256))
    pol = run.policy(0)
    P = pol.actor.n_params
    g = pol.action_score(np.zeros((2, 11)), np.array([[0.2, -0.3, 0.9], [1.0, -1.0, 0.0]]))
    assert torch.all(torch.isfinite(g))
    rng = np.random.default_rng(0)
    # a target inside the span of the first 30 scores is recovered exactly from L = 30 on
    actions = rng.uniform(-1, 1, (30, 3))
    from gc_helpers import envs

    rep = envs.replay(envs.reset_state("Hopper-v5", 42), actions[None])
    G = pol.action_score(rep.obs[0, :30], actions).numpy()
    res = probes.random_action_compressibility(lambda o, a: pol.action_score(o, a).numpy(), G.T @ rng.normal(size=30),
                                            "Hopper-v5", [10, 30, 40])
    assert res.cosines[1] == pytest.approx(1.0, abs=1e-8) and res.cosines[0] < 0.99
    np.testing.assert_allclose(res.null, np.sqrt(np.array([10, 30, 40]) / P))
    with pytest.raises(ValueError, match="lengths"):
        probes.random_action_compressibility(lambda o, a: None, np.ones(P), "Hopper-v5", [0])
    with pytest.raises(ValueError, match="target"):
        probes.random_action_compressibility(lambda o, a: None, np.zeros(P), "Hopper-v5", [5])


def test_one_loader_reads_both_kinds_and_the_run_knows_its_task(tmp_path):
    from gc_helpers.training import Run, load_run, save_run

    run = ppo.train_ppo(tiny_config(total_steps=256))
    assert isinstance(run, Run) and run.algo == "ppo" and run.env_id == "Hopper-v5" and not run.interrupted
    back = load_run(save_run(run, tmp_path / "p"))
    assert back.algo == "ppo" and back.config == run.config and back.n_iterations == 1
    np.testing.assert_array_equal(back.obs_mean, run.obs_mean)
    assert back.checkpoints.dtype == np.float32
    ev = runs.evaluate_run(back, 2, 20, sigmas={"eval": 0.0})["eval"]
    assert ev.horizon == 20 and len(ev.returns) == 2


def test_progress_carries_the_update_statistics():
    seen = []
    ppo.train_ppo(tiny_config(total_steps=256), progress=seen.append)
    p = seen[0]
    assert p.update == p.iteration == 1 and p.n_updates == 1 and p.env_steps == 256
    assert math.isfinite(p.approx_kl) and p.steps_per_s > 0
    with pytest.raises(AttributeError, match="no_such"):
        _ = p.no_such


def untrained_hopper_policy(seed=0):
    """A float64 PPO policy for Hopper-v5 at its initial weights (no training needed)."""
    from gc_helpers import envs

    torch.manual_seed(seed)
    actor = ppo_core.Actor(11, 3, dtype=torch.float64)
    desc = ppo_core.describe_actor(actor, envs.env_spec("Hopper-v5"))
    return ppo_core.tanh_gaussian_policy(desc, actor.flat(), np.zeros(11), np.ones(11))


def test_parameter_blocks_partition_the_flat_vector_in_order():
    pol = untrained_hopper_policy()
    blocks = ppo_core.parameter_blocks(pol.actor)
    assert list(blocks) == [n for n, _ in pol.actor.named_parameters()] and "log_std" in blocks
    flat = pol.actor.flat()
    covered = np.concatenate([np.arange(flat.size)[s] for s in blocks.values()])
    np.testing.assert_array_equal(covered, np.arange(flat.size))
    for name, p in pol.actor.named_parameters():
        np.testing.assert_array_equal(flat[blocks[name]], p.detach().numpy().reshape(-1))


def test_block_compressibility_adds_up_and_matches_the_probe():
    from gc_helpers import envs
    from gc_helpers.compression import span, targets

    pol = untrained_hopper_policy()
    P = pol.actor.n_params
    blocks = ppo_core.parameter_blocks(pol.actor)
    L, rng = 12, np.random.default_rng(3)
    # a target: a mix of the block net.4.weight's own scores (so that block is recovered exactly) and noise elsewhere
    actions = np.random.default_rng(1).uniform(-1, 1, (L, 3))
    G = pol.action_score(envs.replay(envs.reset_state("Hopper-v5", 42), actions[None]).obs[0, :L], actions).numpy()
    w = rng.normal(size=P)
    out = blocks["net.4.weight"]
    w[out] = G[:, out].T @ rng.normal(size=L)
    res = ppo_core.block_compressibility(pol, w, "Hopper-v5", L, blocks, seeds=[1, 2])
    j = res.names.index("net.4.weight")
    assert res.cosines[0, j] == pytest.approx(1.0, abs=1e-8) and res.cosines[1, j] < 0.99  # seed 1: its own scores
    np.testing.assert_allclose(res.contribution.sum(axis=1), res.whole**2, rtol=1e-9)  # a partition adds up to cos²
    np.testing.assert_allclose(res.share.sum(), 1.0)
    assert res.spanned.tolist() == [s <= L for s in res.sizes] and res.spanned[res.names.index("log_std")]
    probe = probes.random_action_compressibility(lambda o, a: pol.action_score(o, a).numpy(), w, "Hopper-v5", [L],
                                                 seed=2)
    assert res.whole[1] == pytest.approx(probe.cosines[0], abs=1e-10)
    k = res.names.index("net.2.weight")
    idx = np.arange(P)[blocks["net.2.weight"]]
    assert res.null[0, k] == pytest.approx(span.span_cosine(G[:, idx].T, targets.random_target(idx.size, 1).vector))
    union = ppo_core.block_compressibility(pol, w, "Hopper-v5", L, {"all": np.arange(P)}, seeds=[2])
    assert union.cosines[0, 0] == pytest.approx(res.whole[1]) and union.contribution[0, 0] == pytest.approx(
        res.whole[1] ** 2)


@pytest.mark.parametrize("kw,match", [({"length": 0}, "length"), ({"length": 10**6}, "length"),
                                      ({"seeds": [1, 1]}, "seeds"), ({"seeds": []}, "seeds"),
                                      ({"blocks": {}}, "blocks"), ({"blocks": {"x": slice(0, 0)}}, "blocks"),
                                      ({"weight_change": np.ones(7)}, "weight_change"),
                                      ({"env_id": "Pong-v5"}, "env_id")])
def test_block_compressibility_bad_input(kw, match):
    pol = untrained_hopper_policy()
    args = {"weight_change": np.ones(pol.actor.n_params), "env_id": "Hopper-v5", "length": 4} | kw
    with pytest.raises(ValueError, match=match):
        ppo_core.block_compressibility(pol, **args)


def test_span_basis_projects_like_least_squares():
    from gc_helpers.compression import span

    rng = np.random.default_rng(0)
    G = rng.normal(size=(40, 6))
    G = np.concatenate([G, G[:, :2] + G[:, 2:4]], axis=1)  # 8 columns of rank 6
    U = ppo_core.span_basis(G)
    assert U.shape == (40, 6)
    np.testing.assert_allclose(U.T @ U, np.eye(6), atol=1e-12)
    for w in rng.normal(size=(3, 40)):
        assert np.linalg.norm(U.T @ w) / np.linalg.norm(w) == pytest.approx(span.span_cosine(G, w), abs=1e-12)
    assert ppo_core.span_basis(np.zeros((5, 3))).shape == (5, 0)
