"""Tests for gc_helpers.fewest_pairs, gc_helpers.outer_search and gc_helpers.fewest_pairs_table
(taught in notebooks/07_fewest_pairs.ipynb)."""

import numpy as np
import pytest

from gc_helpers import behaviour_cloning as cloning
from gc_helpers import compression as C
from gc_helpers import envs
from gc_helpers import fewest_pairs as F
from gc_helpers import fewest_pairs_table as T
from gc_helpers import outer_search as O
from gc_helpers.policies import Normalizer, make_policy
from gc_research import fewest_pairs_build as build
from gc_research.seeds import seed_list

RUN = "ant_quad_sgd"
TINY = O.OuterConfig(population=3, elites=2, iterations=3, n_episodes=1, horizon=8)


@pytest.fixture(scope="module")
def first():
    return C.run_policy(RUN, 0)


@pytest.fixture(scope="module")
def dw():
    return C.weight_change_target(RUN).vector


@pytest.fixture(scope="module")
def shipped_actions():
    return C.load_compressed(f"{RUN}_weight_change")["actions"][0]


def test_kernel_view_identity_on_the_compressed_trajectory(first, dw, shipped_actions):
    """At w_first = 0 the compressed direction Σ α_t g_t is Σ_t c_t ⊗ φ(s_t) with c_t = α_t a_t / σ²."""
    assert not np.any(first.flat())
    p = F.replayed_pairs(first, dw, [envs.reset_state("Ant-v5", 42)], [shipped_actions[:16]])
    scores = C.step_grads(first, p.obs, p.actions).numpy()
    by_scores = p.alpha @ scores
    by_kernel = F.kernel_direction(first, p.obs, F.compressed_coefficients(p.alpha, p.actions, first.sigma))
    np.testing.assert_allclose(by_kernel, by_scores, rtol=1e-9, atol=1e-9 * np.abs(by_scores).max())
    np.testing.assert_allclose(by_kernel, p.direction, rtol=1e-9, atol=1e-9 * np.abs(by_scores).max())
    assert p.cosine == pytest.approx(C.best_alpha_exact(scores, dw).cosine)


def test_kernel_mean_is_the_policy_mean():
    rng = np.random.default_rng(1)
    pol = make_policy("quadratic", 5, 3, 0.1, Normalizer(rng.normal(size=5), rng.uniform(0.5, 2, 5)))
    support, coeffs, obs = rng.normal(size=(7, 5)), rng.normal(size=(7, 3)), rng.normal(size=(11, 5))
    d = F.kernel_direction(pol, support, coeffs)
    np.testing.assert_allclose(F.kernel_mean(pol, support, coeffs, obs), pol.with_flat(d).mean_fn()(obs), rtol=1e-10)


def test_greedy_subset_matches_behaviour_cloning_on_the_subset():
    """The greedy pick's residuals are those of behaviour_cloning.behaviour_cloning fitted on the chosen states, and
    its first pick is the best single state by brute force."""
    rng = np.random.default_rng(2)
    pol = make_policy("quadratic", 4, 2, 0.1)
    obs, acts = rng.normal(size=(40, 4)), rng.normal(size=(40, 2))
    idx = F.greedy_subset(pol, obs, acts, 5)
    assert len(set(idx.tolist())) == 5
    phi = pol.features(obs).numpy()

    def error(sub, L):
        W = cloning.behaviour_cloning(pol, obs[sub], acts[sub], ridge=1e-3 * L / len(sub)).reshape(2, -1)
        return np.sum((phi @ W.T - acts) ** 2)

    brute = [error([j], 5) for j in range(40)]
    assert F.greedy_subset(pol, obs, acts, 1, ridge=1e-3 * 5)[0] == int(np.argmin(brute))
    assert error(idx, 5) < error(rng.choice(40, 5, replace=False), 5)


def test_outer_search_resumes_with_the_same_best(first, dw, shipped_actions, tmp_path):
    start = envs.reset_state("Ant-v5", 42)
    whole = O.outer_search(first, dw, start, shipped_actions[:3], TINY, seed=5, checkpoint=tmp_path / "whole")

    def interrupt(it, score):
        if it == 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        O.outer_search(first, dw, start, shipped_actions[:3], TINY, seed=5, checkpoint=tmp_path / "cut",
                       progress=interrupt)
    saved = T.store.load(tmp_path / "cut", O.CHECKPOINT_KIND)
    assert saved.meta["done"] == 1
    resumed = O.outer_search(first, dw, start, shipped_actions[:3], TINY, seed=5, checkpoint=tmp_path / "cut")
    assert resumed.score == whole.score
    np.testing.assert_array_equal(resumed.pairs.actions, whole.pairs.actions)
    np.testing.assert_array_equal(resumed.history, whole.history)
    assert resumed.score >= whole.history[0] and resumed.iterations_done == TINY.iterations
    with pytest.raises(ValueError, match="another search"):
        O.outer_search(first, dw, start, shipped_actions[:3], TINY, seed=6, checkpoint=tmp_path / "cut")


@pytest.mark.parametrize("call, name", [
    (lambda p: F.random_actions(0, 0), "L=0"),
    (lambda p: F.check_length(-3), "L=-3"),
    (lambda p: F.greedy_subset(p, np.zeros((5, 27)), np.zeros((5, 8)), 0), "L=0"),
    (lambda p: seed_list([]), r"seeds=\[\]: give at least one seed"),
    (lambda p: F.walk(p, np.r_[np.ones(p.n_params - 1), np.nan]), "direction"),
    (lambda p: F.kernel_direction(p, np.zeros((2, 27)), np.full((2, 8), np.inf)), "coeffs"),
    (lambda p: F.Protocol(horizon=0), "horizon=0"),
    (lambda p: O.OuterConfig(horizon=0), "horizon=0"),
    (lambda p: O.forward_progress(p, p.flat(), 1, 0, 0), "horizon=0"),
    (lambda p: F.Protocol(pick_seed=0, fresh_seed=1), "overlap"),
])
def test_bad_input_names_the_argument(first, call, name):
    with pytest.raises(ValueError, match=name):
        call(first)


def test_shipped_table_holds_what_the_cells_hold():
    root = T.results_dir(RUN)
    if not (root / "table" / "meta.json").is_file():
        pytest.skip("no shipped table yet (bench/fewest_pairs.py writes it)")
    table = T.load_table(RUN)
    cells = T.load_cells(root)
    assert sorted(table.meta["cells"]) == sorted(c.path.name for c in cells)
    again = build.aggregate(cells)
    for key, value in again.items():
        if value.dtype.kind in "fi":
            np.testing.assert_allclose(table[key], value, equal_nan=True, rtol=1e-12, err_msg=key)
        else:
            np.testing.assert_array_equal(table[key], value, err_msg=key)
    bonus = F.alive_bonus()
    for c in cells:
        m = c.meta
        assert m["return"] == pytest.approx(np.mean(c["fresh_returns"]))
        assert m["length"] == pytest.approx(np.mean(c["fresh_lengths"]))
        assert m["return_minus_alive"] == pytest.approx(np.mean(c["fresh_returns"] - bonus * c["fresh_lengths"]))
        assert len(c["fresh_returns"]) >= 20 and m["protocol"]["fresh_seed"] != m["protocol"]["pick_seed"]
        assert m["beta"] in c["betas"] and len(c["actions"]) == m["L"]
