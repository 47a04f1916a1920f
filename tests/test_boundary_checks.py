"""Argument checks at the public boundary (a ValueError names the argument), and the skip_checks fast path that
inner loops take gives the same result as the checked call."""

import numpy as np
import pytest
import torch

from gc_helpers import rollouts
from gc_helpers.compression.cem import cem_iteration
from gc_helpers.compression.incremental import span_gains
from gc_helpers.training.reinforce import reward_to_go, surrogate_loss

RNG = np.random.default_rng(0)


def _score(X):
    return -np.sum(X.reshape(len(X), -1) ** 2, axis=1)


@pytest.mark.parametrize("call, name", [
    (lambda: cem_iteration(np.zeros(3), 0.5, _score, 4, 5, RNG), "elites=5"),
    (lambda: cem_iteration(np.zeros(3), -0.5, _score, 4, 2, RNG), "std"),
    (lambda: cem_iteration(np.zeros(3), np.ones(2), _score, 4, 2, RNG), "std"),
    (lambda: cem_iteration(np.full(3, np.nan), 0.5, _score, 4, 2, RNG), "mean"),
    (lambda: cem_iteration(np.zeros(3), 0.5, _score, 4, 2, 0), "rng"),
    (lambda: cem_iteration(np.zeros(3), 0.5, lambda X: np.zeros(2), 4, 2, RNG), "one score per candidate"),
    (lambda: reward_to_go(np.ones((2, 3)), np.ones((2, 4), bool)), "mask"),
    (lambda: reward_to_go(np.ones((2, 3)), np.ones((2, 3), bool), gamma=2.0), "gamma"),
    (lambda: reward_to_go(np.ones(3), np.ones(3, bool)), "rewards"),
    (lambda: surrogate_loss(torch.zeros(2, 3), torch.ones(2, 4), torch.zeros(2, 3), torch.ones(2)), "mask"),
    (lambda: surrogate_loss(torch.zeros(2, 3), torch.ones(2, 3), torch.zeros(2, 3), torch.ones(3)), "rho"),
    (lambda: surrogate_loss(torch.zeros(2, 3), torch.ones(2, 3), torch.zeros(2, 3), torch.ones(2), "x"), "estimator"),
    (lambda: surrogate_loss(np.zeros((2, 3)), torch.ones(2, 3), torch.zeros(2, 3), torch.ones(2)), "logp"),
    (lambda: span_gains(torch.ones(2, 3, 5), torch.ones(4)), "C has shape"),
    (lambda: span_gains(torch.ones(2, 3, 5), torch.ones(5), torch.ones(2, 4)), "Q has shape"),
    (lambda: span_gains(torch.full((2, 3, 5), float("nan")), torch.ones(5)), "NaN"),
])
def test_bad_arguments_are_named(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_the_fast_paths_give_the_checked_results():
    a = cem_iteration(np.zeros(3), 0.5, _score, 8, 3, np.random.default_rng(1))
    b = cem_iteration(np.zeros(3), 0.5, _score, 8, 3, np.random.default_rng(1), skip_checks=True)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    C, r = torch.randn(4, 3, 6, dtype=torch.float64), torch.randn(6, dtype=torch.float64)
    assert torch.equal(span_gains(C, r), span_gains(C, r, skip_checks=True))
    mean_fn = lambda obs: np.tanh(obs[:, :8])  # noqa: E731
    pool = rollouts.EnvPool("Ant-v5", 2, n_threads=1)
    checked = rollouts.rollout(pool, mean_fn, 15, seed=3, noise_std=0.1)
    fast = rollouts.rollout(pool, mean_fn, 15, seed=3, noise_std=0.1, skip_checks=True)
    np.testing.assert_array_equal(checked.rewards, fast.rewards)
    np.testing.assert_array_equal(checked.obs, fast.obs)


def test_the_outer_search_cem_keeps_its_mean_without_two_valid_elites():
    """drop_invalid: invalid (−inf) candidates are never elites; with fewer than min_elites valid ones the search
    distribution stays where it was."""
    mean, std = np.zeros(2), np.ones(2)
    same = cem_iteration(mean, std, lambda X: np.r_[0.0, np.full(len(X) - 1, -np.inf)], 5, 3, RNG,
                         include_mean=False, drop_invalid=True, min_elites=2, min_std=0.1)
    assert same[0] is mean and same[1] is std
    moved = cem_iteration(mean, std, _score, 5, 3, np.random.default_rng(2), include_mean=False, drop_invalid=True,
                          min_std=0.1)
    assert moved[0].shape == (2,) and np.all(moved[1] >= 0.1)
