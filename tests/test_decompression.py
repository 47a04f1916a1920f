"""Tests for walking along a direction (taught in notebooks/05_line_search_decompression.ipynb): gc_helpers.line_search,
.recovery, .behaviour_cloning, .iterated_decompression, and gc_research.refined_line_search, .reinforce_baseline."""

import numpy as np
import pytest

from gc_helpers import behaviour_cloning as cloning
from gc_helpers import line_search as lsearch
from gc_helpers import recovery, rollouts
from gc_helpers.policies import Normalizer, make_policy
from gc_research import iterated_decompression as iterated
from gc_research import refined_line_search as refined
from gc_research import reinforce_baseline

ENV = "Ant-v5"


@pytest.fixture(scope="module")
def linear_policy():
    rng = np.random.default_rng(0)
    norm = Normalizer(np.zeros(27), np.ones(27) * 2.0)
    return make_policy("linear", 27, 8, 0.1, norm).set_flat(rng.normal(size=8 * 28) * 0.05)


def test_recovered_fraction():
    assert recovery.recovered_fraction(600.0, 200.0, 1000.0) == pytest.approx(0.5)
    assert recovery.recovered_fraction(200.0, 200.0, 1000.0) == 0.0
    with pytest.raises(ValueError, match="r_last == r_first"):
        recovery.recovered_fraction(1.0, 5.0, 5.0)
    with pytest.raises(ValueError, match="finite"):
        recovery.recovered_fraction(np.nan, 0.0, 1.0)


@pytest.mark.parametrize(
    "direction, match",
    [
        (np.zeros(224), "zero vector"),
        (np.full(224, np.nan), "NaN"),
        (np.ones(5), "shape"),
        (np.ones(224) * np.inf, "inf"),
    ],
)
def test_bad_direction(linear_policy, direction, match):
    with pytest.raises(ValueError, match=match):
        lsearch.line_search(linear_policy, direction, [0.5], 1.0, ENV, n_episodes=1, horizon=2)


def test_bad_betas_and_scale(linear_policy):
    d = np.ones(linear_policy.n_params)
    with pytest.raises(ValueError, match="betas is empty"):
        lsearch.line_search(linear_policy, d, [], 1.0, ENV, n_episodes=1, horizon=2)
    with pytest.raises(ValueError, match="betas has 1 non-finite"):
        lsearch.line_search(linear_policy, d, [0.1, np.nan], 1.0, ENV, n_episodes=1, horizon=2)
    with pytest.raises(ValueError, match="scale"):
        lsearch.line_search(linear_policy, d, [0.1], 0.0, ENV, n_episodes=1, horizon=2)


def test_line_search_beta_zero_is_the_start_policy(linear_policy):
    rng = np.random.default_rng(1)
    d = rng.normal(size=linear_policy.n_params)
    before = linear_policy.flat()
    ls = lsearch.line_search(linear_policy, d, [0.0, 0.3], 0.5, ENV, n_episodes=3, horizon=30, seed=5, label="t")
    base = rollouts.evaluate(ENV, linear_policy.mean_fn(), 3, 30, 5)
    assert ls.returns[0] == base.mean_return
    assert ls.returns[1] != base.mean_return
    assert ls.best_beta in (0.0, 0.3) and len(ls.evaluations) == 2
    # the start policy is not modified by the search
    assert np.array_equal(linear_policy.flat(), before)


def test_line_search_moves_along_the_unit_direction(linear_policy):
    theta0 = linear_policy.flat()
    d = np.zeros(linear_policy.n_params)
    d[3] = 7.0  # only the norm-free direction matters
    seen = []
    orig = rollouts.evaluate

    def spy(env_id, mean_fn, *a, **k):
        seen.append(mean_fn(np.ones((1, 27)) * 0.3))
        return orig(env_id, mean_fn, *a, **k)

    rollouts.evaluate, saved = spy, rollouts.evaluate
    try:
        lsearch.line_search(linear_policy, d, [1.0], 2.0, ENV, n_episodes=1, horizon=2)
    finally:
        rollouts.evaluate = saved
    moved = linear_policy.with_flat(theta0 + 2.0 * np.eye(linear_policy.n_params)[3])
    assert np.allclose(seen[0], moved.mean_fn()(np.ones((1, 27)) * 0.3))


def test_behaviour_cloning_recovers_a_linear_expert(linear_policy):
    obs, actions, _ = cloning.expert_trajectory(linear_policy, ENV, 80, seed=3)
    student = make_policy("linear", 27, 8, 0.1, linear_policy.normalizer())
    theta = cloning.behaviour_cloning(student, obs, actions, ridge=0.0)
    assert np.allclose(theta, linear_policy.flat(), atol=1e-8)
    with pytest.raises(ValueError, match="obs has shape"):
        cloning.behaviour_cloning(student, obs[:-1], actions)
    with pytest.raises(ValueError, match="NaN"):
        cloning.behaviour_cloning(student, obs, np.full_like(actions, np.nan))


def test_reinforce_direction_matches_a_direct_sum(linear_policy):
    g = reinforce_baseline.reinforce_direction(linear_policy, ENV, 25, seed=4)
    r = rollouts.rollout(rollouts.EnvPool(ENV, 1), linear_policy.mean_fn(), 25, 4, linear_policy.sigma)
    n = int(r.lengths[0])
    direct = np.zeros(linear_policy.n_params)
    rew = r.rewards[0, :n]
    to_go = np.array([rew[t:].sum() for t in range(n)])
    for t in range(n):
        score = linear_policy.score(r.obs[0, t : t + 1], r.actions[0, t : t + 1]).numpy()[0]
        direct += score * (to_go[t] - to_go.mean())
    assert np.allclose(g, direct, rtol=1e-10, atol=1e-10)


def test_iterated_decompression_with_an_exact_projection_converges(linear_policy):
    """A toy compressor that projects the target on a random 60-dim subspace: the residual shrinks each round."""
    rng = np.random.default_rng(7)
    P = linear_policy.n_params
    w_last = linear_policy.flat() + rng.normal(size=P)

    def compress(policy, target):
        Q, _ = np.linalg.qr(rng.normal(size=(P, 60)))
        return Q @ (Q.T @ target)

    rounds = iterated.iterated_decompression(linear_policy, w_last, compress, rounds=4)
    residuals = [r.residual for r in rounds]
    assert all(b < a for a, b in zip([1.0] + residuals, residuals))
    null = np.sqrt(60 / P)
    assert 0.5 * null < rounds[0].cosine < 2 * null
    with pytest.raises(ValueError, match="rounds"):
        iterated.iterated_decompression(linear_policy, w_last, compress, rounds=0)
    with pytest.raises(ValueError, match="zero vector"):
        iterated.iterated_decompression(linear_policy, linear_policy.flat(), compress, rounds=1)
    with pytest.raises(ValueError, match="compress"):
        iterated.iterated_decompression(linear_policy, w_last, lambda p, t: np.zeros(P), rounds=1)


def test_iterated_decompression_line_search_picks_the_best_beta(linear_policy):
    """With betas, each round keeps the β whose (here: fake) return is best."""
    P = linear_policy.n_params
    rng = np.random.default_rng(8)
    w_last = linear_policy.flat() + rng.normal(size=P)
    target_point = linear_policy.flat() + 0.5 * (w_last - linear_policy.flat())

    def fake_eval(policy):  # best return exactly halfway to w_last
        r = -float(np.linalg.norm(policy.flat() - target_point))
        return rollouts.Evaluation(r, 0.0, 1000.0, 0.0, np.array([r]), np.array([1000]), 0.0, 1000)

    rounds = iterated.iterated_decompression(linear_policy, w_last, lambda p, t: t, 1, evaluate=fake_eval,
                                       betas=[0.25, 0.5, 1.0])
    assert np.allclose(rounds[0].theta, target_point) and rounds[0].residual == pytest.approx(0.5)
    assert rounds[0].beta == 0.5
    with pytest.raises(ValueError, match="betas needs evaluate"):
        iterated.iterated_decompression(linear_policy, w_last, lambda p, t: t, 1, betas=[0.5])


# ------------------------------------------------------------------------------------------------------------
# The pure line search and the bootstrap (reference functions for the notebook's exercises)


def test_theta_at_best_beta_and_scan_line():
    w, d = np.array([1.0, 2.0, 3.0]), np.array([0.0, 3.0, 4.0])
    np.testing.assert_allclose(lsearch.theta_at(w, d, 0.5, 10.0), w + 5.0 * d / 5.0)
    assert lsearch.best_beta([0.2, 0.4, 0.6], [1.0, 3.0, 3.0]) == 0.4
    scores = lsearch.scan_line(w, d, [0.0, 1.0, 2.0], 1.0, lambda theta: -np.sum((theta - [1.0, 2.6, 3.8]) ** 2))
    assert int(np.argmax(scores)) == 1
    with pytest.raises(ValueError, match="scores has 2 entries"):
        lsearch.best_beta([0.2, 0.4, 0.6], [1.0, 3.0])
    with pytest.raises(ValueError, match="direction is the zero vector"):
        lsearch.theta_at(w, np.zeros(3), 0.5, 1.0)
    with pytest.raises(ValueError, match="w_first has 1 non-finite"):
        lsearch.theta_at([np.inf, 0, 0], d, 0.5, 1.0)


def test_bootstrap_recovered():
    rng = np.random.default_rng(1)
    first, last = rng.normal(0, 1, 30), rng.normal(10, 1, 30)
    best = rng.normal(6, 1, 30)
    frac, low, high = recovery.bootstrap_recovered(best, first, last, n_boot=500, seed=0)
    assert frac == pytest.approx(recovery.recovered_fraction(best.mean(), first.mean(), last.mean()))
    assert low < frac < high and high - low < 0.2
    assert recovery.bootstrap_recovered(best, first, last, n_boot=500, seed=0) == (frac, low, high)
    with pytest.raises(ValueError, match="r_best has 1 non-finite"):
        recovery.bootstrap_recovered(np.r_[best[:-1], np.nan], first, last)
    with pytest.raises(ValueError, match="level"):
        recovery.bootstrap_recovered(best, first, last, level=1.5)


# ---- the refined line search (find_optimum, refined_line_search) --------------------------------------------


def test_find_optimum_refines_inside_the_grid():
    calls = []

    def score(b):
        calls.append(b)
        return -(b - 0.3) ** 2

    scores, best, edge = refined.find_optimum(score, grid=(0.05, 0.1, 0.2, 0.45, 0.7, 0.95, 1.3))
    assert edge == "" and best == pytest.approx(0.325)  # midpoint between 0.2 and 0.45, nearer 0.3 than either
    assert sorted(calls) == sorted(scores) and len(calls) == len(set(calls)) == 9  # 7 + 2 midpoints, none twice


def test_find_optimum_extends_past_an_edge_and_flags_what_it_cannot_reach():
    scores, best, edge = refined.find_optimum(lambda b: b, grid=(0.1, 0.5, 1.0), extend=2)  # rising: optimum beyond
    assert max(scores) == pytest.approx(1.0 * 1.5 * 1.5) and best == max(scores) and edge == "high"
    scores, best, edge = refined.find_optimum(lambda b: -b, grid=(0.1, 0.5, 1.0), extend=2)
    assert min(scores) == pytest.approx(0.025) and best == min(scores) and edge == "low"
    scores, best, edge = refined.find_optimum(lambda b: -abs(b - 1.2), grid=(0.1, 0.5, 1.0), extend=2)
    assert best == pytest.approx(1.25) and edge == ""  # one extension to 1.5, then refined between 1.0 and 1.5


def test_find_optimum_bad_input():
    with pytest.raises(ValueError, match="grid"):
        refined.find_optimum(lambda b: b, grid=(0.0, 0.5))
    with pytest.raises(ValueError, match="score"):
        refined.find_optimum(lambda b: float("nan"), grid=(0.1, 0.5))
    with pytest.raises(ValueError, match="high_factor"):
        refined.find_optimum(lambda b: b, grid=(0.1, 0.5), high_factor=0.9)
    with pytest.raises(ValueError, match="extend"):
        refined.find_optimum(lambda b: b, grid=(0.1, 0.5), extend=-1)


def test_edge_of():
    assert lsearch.edge_of([0.2, 0.45, 0.7], 0.2) == "low"
    assert lsearch.edge_of([0.2, 0.45, 0.7], 0.7) == "high"
    assert lsearch.edge_of([0.2, 0.45, 0.7], 0.45) == ""


def test_refined_line_search_scores_every_beta_on_the_same_episodes(linear_policy):
    d = np.random.default_rng(2).normal(size=linear_policy.n_params)
    ls = refined.refined_line_search(linear_policy, d, 0.5, ENV, grid=(0.1, 0.5, 1.0), n_episodes=2, horizon=20, seed=3)
    assert np.all(np.diff(ls.betas) > 0) and len(ls.betas) >= 3
    assert ls.edge == lsearch.edge_of(ls.betas, ls.best_beta)
    theta = lsearch.theta_at(linear_policy.flat(), d, float(ls.betas[1]), 0.5)
    again = rollouts.evaluate(ENV, linear_policy.with_flat(theta).mean_fn(), 2, 20, 3)
    assert ls.returns[1] == again.mean_return  # the same start states for every β, reproducible
