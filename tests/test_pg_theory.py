"""Unit tests for gc_helpers.pg_theory: every helper checked against exact values."""

import math

import numpy as np
import pytest
import torch

from gc_helpers import natural_gradient as ng
from gc_helpers import pg_theory as pg
from gc_helpers.vectors import cosine

W0 = np.array([[-1.0, -1.0, 0.0]])


@pytest.fixture(scope="module")
def task():
    return pg.make_lq_task(horizon=4, sigma=0.5)


# ----------------------------------------------------------------------------------------------- LQ task
def test_exact_gradient_matches_finite_differences(task):
    ex = pg.exact_gradient(task, W0)
    eps = 1e-6
    for i in range(W0.size):
        E = np.zeros_like(W0)
        E.flat[i] = eps
        fd = (pg.exact_gradient(task, W0 + E).value - pg.exact_gradient(task, W0 - E).value) / (2 * eps)
        assert fd == pytest.approx(ex.grad.flat[i], rel=1e-6, abs=1e-8)


def test_exact_gradient_one_step_by_hand():
    # T = 1: J = -(E[s'Qs] + rho E[a^2]); a = k.s + c + sigma eps, s ~ N(m0, S0)
    task = pg.make_lq_task(horizon=1, sigma=0.3, action_cost=0.1)
    k, c = np.array([0.4, -0.2]), 0.7
    W = np.array([[k[0], k[1], c]])
    m0, S0, rho = task.m0, task.S0, 0.1
    ma = k @ m0 + c
    Ea2 = k @ S0 @ k + ma**2 + 0.09
    J = -(np.trace(S0) + m0 @ m0 + rho * Ea2)
    grad_k = -rho * (2 * S0 @ k + 2 * ma * m0)
    grad_c = -rho * 2 * ma
    ex = pg.exact_gradient(task, W)
    assert ex.value == pytest.approx(J, rel=1e-12)
    np.testing.assert_allclose(ex.grad.ravel(), [grad_k[0], grad_k[1], grad_c], rtol=1e-12)


def test_sampled_return_matches_exact_value(task):
    tr = pg.sample_trajectories(task, W0, 20000, seed=3)
    ret = tr.rewards.sum(axis=1)
    assert abs(ret.mean() - pg.exact_gradient(task, W0).value) < 4 * ret.std() / math.sqrt(tr.n)
    assert tr.states.shape == (20000, 4, 2) and tr.actions.shape == (20000, 4, 1)


def test_sampling_is_seeded(task):
    a = pg.sample_trajectories(task, W0, 5, seed=1)
    b = pg.sample_trajectories(task, W0, 5, seed=1)
    c = pg.sample_trajectories(task, W0, 5, seed=2)
    np.testing.assert_array_equal(a.actions, b.actions)
    assert not np.array_equal(a.actions, c.actions)


def test_lq_features():
    np.testing.assert_array_equal(pg.lq_features(np.array([[2.0, 3.0]])), [[2.0, 3.0, 1.0]])


# ----------------------------------------------------------------------------------------------- scores
def test_gaussian_log_prob_matches_torch():
    rng = np.random.default_rng(0)
    a, mean = rng.normal(size=(7, 3)), rng.normal(size=(7, 3))
    ref = torch.distributions.Normal(torch.tensor(mean), 0.7).log_prob(torch.tensor(a)).sum(-1).numpy()
    np.testing.assert_allclose(pg.gaussian_log_prob(a, mean, 0.7), ref, rtol=1e-12)


def test_score_closed_form_matches_autograd():
    rng = np.random.default_rng(1)
    W, phi, a, sigma = rng.normal(size=(2, 4)), rng.normal(size=(5, 4)), rng.normal(size=(5, 2)), 0.3
    got = pg.gaussian_score_closed_form(W, phi, a, sigma)
    assert got.shape == (5, 2, 4)
    for i in range(5):
        Wt = torch.tensor(W, requires_grad=True)
        mean = Wt @ torch.tensor(phi[i])
        lp = torch.distributions.Normal(mean, sigma).log_prob(torch.tensor(a[i])).sum()
        (g,) = torch.autograd.grad(lp, Wt)
        np.testing.assert_allclose(got[i], g.numpy(), rtol=1e-10)


def test_score_has_mean_zero(task):
    tr = pg.sample_trajectories(task, W0, 20000, seed=5)
    s = pg.per_step_scores(tr).reshape(-1, W0.size)
    z = s.mean(axis=0) / (s.std(axis=0) / math.sqrt(s.shape[0]))
    assert np.all(np.abs(z) < 4)


def test_per_step_scores_shape_and_other_policy(task):
    tr = pg.sample_trajectories(task, W0, 3, seed=0)
    assert pg.per_step_scores(tr).shape == (3, 4, 3)
    W1 = W0 + 0.1
    expect = pg.gaussian_score_closed_form(W1, pg.lq_features(tr.states), tr.actions, tr.sigma).reshape(3, 4, 3)
    np.testing.assert_allclose(pg.per_step_scores(tr, W1), expect)


# ----------------------------------------------------------------------------------------------- estimators
def test_reward_to_go_exact():
    np.testing.assert_array_equal(pg.reward_to_go([[1.0, 2.0, 3.0], [0.0, -1.0, 5.0]]), [[6, 5, 3], [4, 4, 5]])


def test_per_trajectory_gradients_by_hand():
    scores = np.array([[[1.0, 0.0], [0.0, 2.0]]])  # N=1, T=2, P=2
    rewards = np.array([[3.0, 4.0]])
    np.testing.assert_allclose(pg.per_trajectory_gradients(scores, rewards), [[7.0, 14.0]])
    np.testing.assert_allclose(pg.per_trajectory_gradients(scores, rewards, use_reward_to_go=True), [[7.0, 8.0]])
    np.testing.assert_allclose(pg.per_trajectory_gradients(scores, rewards, baseline=1.0), [[6.0, 12.0]])
    np.testing.assert_allclose(pg.per_trajectory_gradients(scores, rewards, baseline=np.array([[1.0], [2.0]]),
                                                           use_reward_to_go=True), [[6.0, 4.0]])
    np.testing.assert_allclose(pg.per_trajectory_gradients(scores, rewards, baseline=np.array([7.0, 0.0])),
                               [[0.0, 14.0]])


def test_estimators_unbiased(task):
    ex = pg.exact_gradient(task, W0).grad
    tr = pg.sample_trajectories(task, W0, 40000, seed=11)
    pilot = pg.sample_trajectories(task, W0, 5000, seed=12)
    S, Sp = pg.per_step_scores(tr), pg.per_step_scores(pilot)
    variances = {}
    for name, kw in {
        "full": {},
        "mean": {"baseline": pilot.rewards.sum(axis=1).mean()},
        "optimal": {"baseline": pg.optimal_baseline(Sp, pilot.rewards)},
        "rtg": {"use_reward_to_go": True},
        "rtg_time": {"use_reward_to_go": True, "baseline": pg.time_baseline(pilot.rewards)},
    }.items():
        est = pg.summarize(pg.per_trajectory_gradients(S, tr.rewards, **kw))
        assert np.all(np.abs(est.z_scores(ex)) < 4.5), name
        variances[name] = est.total_variance
    assert variances["rtg"] < variances["full"]
    assert variances["mean"] < variances["full"]
    assert variances["optimal"] < variances["mean"]
    assert variances["rtg_time"] < variances["rtg"]


def test_optimal_baseline_exact():
    # g = sum_t score: trajectory 1 has g = (1, 2), return 3; trajectory 2 has g = (1, 0), return 1
    scores = np.array([[[1.0, 2.0]], [[1.0, 0.0]]])
    rewards = np.array([[3.0], [1.0]])
    np.testing.assert_allclose(pg.optimal_baseline(scores, rewards), [(3 + 1) / 2, 3.0])


def test_time_baseline_exact():
    np.testing.assert_allclose(pg.time_baseline([[1.0, 2.0], [3.0, 0.0]]), [[3.0], [1.0]])


def test_summarize_exact():
    est = pg.summarize([[0.0, 1.0], [2.0, 1.0]])
    np.testing.assert_allclose(est.mean, [1.0, 1.0])
    np.testing.assert_allclose(est.stderr, [1.0, 0.0])
    assert est.total_variance == pytest.approx(2.0) and est.n == 2


def test_mc_error_curve_follows_inverse_sqrt(task):
    c = pg.mc_error_curve(task, W0, [32, 128, 512, 2048], repeats=12, seed=0)
    assert -0.7 < c.slope < -0.3
    np.testing.assert_allclose(c.predicted, c.predicted[0] * np.sqrt(32 / c.sizes))
    assert np.all((c.rms_error / c.predicted > 0.4) & (c.rms_error / c.predicted < 2.0))


def test_reduce_gradient_scales():
    x = np.arange(24.0).reshape(2, 3, 4)
    total = x.sum(axis=(0, 1))
    np.testing.assert_allclose(pg.reduce_gradient(x, "sum", "sum"), total)
    np.testing.assert_allclose(pg.reduce_gradient(x, "mean", "sum"), total / 3)
    np.testing.assert_allclose(pg.reduce_gradient(x, "sum", "mean"), total / 2)
    np.testing.assert_allclose(pg.reduce_gradient(x, "mean", "mean"), total / 6)


def test_cosine_exact():
    assert cosine([1.0, 0.0], [1.0, 1.0]) == pytest.approx(1 / math.sqrt(2))
    assert cosine([1.0, 2.0], [-3.0, -6.0]) == pytest.approx(-1.0)


# ----------------------------------------------------------------------------------------------- importance sampling
def test_is_weight_variance_exact_values():
    assert pg.is_weight_variance_exact(0.0, 10) == 0.0
    assert pg.is_weight_variance_exact(0.5, 4, 2) == pytest.approx(math.e**2 - 1)
    assert pg.is_weight_variance_exact(10.0, 1000, 8) == math.inf


def test_is_weight_stats_matches_exact_when_small():
    st = pg.is_weight_stats(0.1, 10, 2, 200000, seed=0)
    assert st.sample_variance == pytest.approx(st.exact_variance, rel=0.1)
    assert 0 < st.ess_fraction <= 1 and st.max_weight > 1


def test_is_weight_stats_zero_shift_is_trivial():
    st = pg.is_weight_stats(0.0, 5, 3, 10, seed=0)
    assert st.max_weight == 1.0 and st.ess_fraction == pytest.approx(1.0) and st.sample_variance == 0.0


def test_off_policy_gradient_unbiased(task):
    W1 = W0 + np.array([[0.05, 0.0, 0.1]])
    tr = pg.sample_trajectories(task, W0, 40000, seed=21)
    off = pg.off_policy_gradient(tr, W1)
    assert np.all(np.abs(off.estimate.z_scores(pg.exact_gradient(task, W1).grad)) < 4.5)
    assert off.weights.mean() == pytest.approx(1.0, abs=0.03)


def test_off_policy_gradient_same_policy_is_on_policy(task):
    tr = pg.sample_trajectories(task, W0, 50, seed=2)
    off = pg.off_policy_gradient(tr, W0)
    np.testing.assert_allclose(off.weights, 1.0)
    np.testing.assert_allclose(off.estimate.mean, pg.per_trajectory_gradients(pg.per_step_scores(tr),
                                                                              tr.rewards).mean(axis=0))


# ----------------------------------------------------------------------------------------------- natural gradient
def test_bandit_gradient_matches_autograd():
    for param in ("sigma", "log_sigma"):
        mu = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
        p = torch.tensor(0.8 if param == "sigma" else math.log(0.8), dtype=torch.float64, requires_grad=True)
        sigma = p if param == "sigma" else torch.exp(p)
        J = -((mu - 1.5) ** 2 + sigma**2)
        J.backward()
        np.testing.assert_allclose(ng.bandit_gradient(0.3, 0.8, 1.5, param), [mu.grad.item(), p.grad.item()])


def test_gaussian_fisher_matches_monte_carlo_and_kl():
    sigma = 0.7
    a = np.random.default_rng(0).normal(0.0, sigma, size=400000)
    for param in ("sigma", "log_sigma"):
        scores = ng.bandit_scores(a, 0.0, sigma, param)
        np.testing.assert_allclose(ng.fisher_monte_carlo(scores), ng.gaussian_fisher(sigma, param), rtol=0.02,
                                   atol=0.02)
    # KL(p_theta || p_theta+d) ~= 1/2 d' F d, in both parametrisations
    d = np.array([1e-3, 2e-3])
    kl = ng.gaussian_kl(0.0, sigma, d[0], sigma + d[1])
    assert kl == pytest.approx(0.5 * d @ ng.gaussian_fisher(sigma) @ d, rel=1e-2)
    kl_log = ng.gaussian_kl(0.0, sigma, d[0], sigma * math.exp(d[1]))
    assert kl_log == pytest.approx(0.5 * d @ ng.gaussian_fisher(sigma, "log_sigma") @ d, rel=1e-2)


def test_bandit_scores_match_autograd():
    a = np.array([0.3, -1.2, 2.0])
    for param in ("sigma", "log_sigma"):
        mu = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
        p = torch.tensor(0.8 if param == "sigma" else math.log(0.8), dtype=torch.float64, requires_grad=True)
        got = ng.bandit_scores(a, 0.5, 0.8, param)
        for i, ai in enumerate(a):
            sigma = p if param == "sigma" else torch.exp(p)
            lp = torch.distributions.Normal(mu, sigma).log_prob(torch.tensor(ai))
            gm, gp = torch.autograd.grad(lp, (mu, p))
            np.testing.assert_allclose(got[i], [gm.item(), gp.item()], rtol=1e-12)


def test_gaussian_kl_exact():
    assert ng.gaussian_kl(0.0, 1.0, 0.0, 1.0) == 0.0
    assert ng.gaussian_kl(0.0, 1.0, 2.0, 1.0) == pytest.approx(2.0)


def test_natural_gradient_solves():
    np.testing.assert_allclose(ng.natural_gradient([2.0, 4.0], np.diag([2.0, 8.0])), [1.0, 0.5])


def test_natural_gradient_is_covariant():
    g_s, g_l = ng.bandit_gradient(0.0, 0.6, 1.0, "sigma"), ng.bandit_gradient(0.0, 0.6, 1.0, "log_sigma")
    n_s = ng.natural_gradient(g_s, ng.gaussian_fisher(0.6, "sigma"))
    n_l = ng.natural_gradient(g_l, ng.gaussian_fisher(0.6, "log_sigma"))
    # d sigma = sigma * d log sigma: natural directions agree, plain ones do not
    np.testing.assert_allclose([n_l[0], 0.6 * n_l[1]], n_s)
    assert not np.allclose([g_l[0], 0.6 * g_l[1]], g_s)


def test_ascent_path_natural_paths_agree():
    kw = dict(mu0=0.0, sigma0=1.0, target=2.0, lr=0.01, steps=200)
    ns, nl = ng.ascent_path(param="sigma", natural=True, **kw), ng.ascent_path(param="log_sigma", natural=True, **kw)
    ps, pl = ng.ascent_path(param="sigma", natural=False, **kw), ng.ascent_path(param="log_sigma", natural=False, **kw)
    gap_nat = np.max(np.hypot(ns.mu - nl.mu, ns.sigma - nl.sigma))
    gap_plain = np.max(np.hypot(ps.mu - pl.mu, ps.sigma - pl.sigma))
    assert gap_nat < 0.05 * gap_plain
    assert ns.mu.shape == (201,) and ns.mu[0] == 0.0 and ns.sigma[0] == 1.0


# ----------------------------------------------------------------------------------------------- input errors
@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: pg.make_lq_task(horizon=0), "horizon=0"),
        (lambda: pg.make_lq_task(sigma=0.0), "sigma=0.0"),
        (lambda: pg.make_lq_task(sigma=-1), "sigma=-1"),
        (lambda: pg.make_lq_task(sigma=float("nan")), "sigma=nan"),
        (lambda: pg.exact_gradient(pg.make_lq_task(), np.zeros((2, 3))), "W has shape"),
        (lambda: pg.exact_gradient(pg.make_lq_task(), [[np.nan, 0.0, 0.0]]), "W has 1 non-finite entry"),
        (lambda: pg.sample_trajectories(pg.make_lq_task(), W0, 0, 0), "n_samples=0"),
        (lambda: pg.sample_trajectories(pg.make_lq_task(), W0, 5, -1), "seed=-1"),
        (lambda: pg.gaussian_log_prob(np.zeros(3), np.zeros(3), 0.0), "sigma=0.0"),
        (lambda: pg.gaussian_log_prob(np.zeros(3), np.zeros(4), 1.0), "mean has shape"),
        (lambda: pg.gaussian_score_closed_form(np.zeros((1, 3)), np.zeros((2, 2)), np.zeros((2, 1)), 1.0),
         "phi has shape"),
        (lambda: pg.gaussian_score_closed_form(np.zeros((1, 3)), np.zeros((2, 3)), np.zeros((3, 1)), 1.0),
         "a has shape"),
        (lambda: pg.gaussian_score_closed_form(np.zeros((1, 3)), np.zeros(3), np.zeros(1), -0.1), "sigma=-0.1"),
        (lambda: pg.reward_to_go(np.float64(1.0)), "rewards has shape"),
        (lambda: pg.per_trajectory_gradients(np.zeros((2, 3, 4)), np.zeros((2, 2))), "rewards has shape"),
        (lambda: pg.per_trajectory_gradients(np.zeros((2, 3, 4)), np.zeros((2, 3)), baseline=np.zeros(5)),
         "baseline has shape"),
        (lambda: pg.optimal_baseline(np.zeros((2, 3, 4)), np.zeros((3, 3))), "rewards has shape"),
        (lambda: pg.summarize(np.zeros((1, 3))), "at least 2"),
        (lambda: pg.mc_error_curve(pg.make_lq_task(), W0, [10], 2, 0), "sizes="),
        (lambda: pg.mc_error_curve(pg.make_lq_task(), W0, [10, 20], 0, 0), "repeats=0"),
        (lambda: pg.reduce_gradient(np.zeros((2, 3, 4)), over_time="max"), "over_time='max'"),
        (lambda: cosine([0.0, 0.0], [1.0, 0.0]), "zero vector"),
        (lambda: cosine([1.0], [1.0, 0.0]), "must match"),
        (lambda: pg.is_weight_variance_exact(-0.1, 5), "shift_over_sigma=-0.1"),
        (lambda: pg.is_weight_variance_exact(0.1, 0), "horizon=0"),
        (lambda: pg.is_weight_stats(0.1, 5, 1, 1, 0), "n_samples=1"),
        (lambda: pg.off_policy_gradient(pg.sample_trajectories(pg.make_lq_task(), W0, 2, 0), np.zeros((1, 2))),
         "W_target has shape"),
        (lambda: ng.bandit_gradient(0.0, 1.0, 0.0, param="variance"), "param='variance'"),
        (lambda: ng.gaussian_fisher(0.0), "sigma=0.0"),
        (lambda: ng.bandit_scores(np.zeros(3), 0.0, 1.0, param="var"), "param='var'"),
        (lambda: ng.bandit_scores(np.zeros((3, 2)), 0.0, 1.0), "a has shape"),
        (lambda: pg.off_policy_gradient(pg.sample_trajectories(pg.make_lq_task(), W0, 2, 0), W0, baseline=[1.0, 2.0]),
         "baseline has shape"),
        (lambda: ng.gaussian_kl(0.0, 1.0, 0.0, -1.0), "sigma_q=-1.0"),
        (lambda: ng.natural_gradient([1.0, 2.0], np.eye(3)), "fisher has shape"),
        (lambda: ng.ascent_path(0.0, 1.0, 1.0, param="sigma", natural=False, lr=0.0, steps=5), "lr=0.0"),
        (lambda: ng.ascent_path(0.0, 1.0, 1.0, param="sigma", natural=False, lr=0.1, steps=0), "steps=0"),
        (lambda: ng.ascent_path(0.0, 1.0, 1.0, param="sigma", natural=False, lr=0.6, steps=5), "lr=0.6"),
    ],
)
def test_input_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
