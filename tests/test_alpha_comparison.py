"""The pure functions behind the horizon / σ sliders (gc_helpers.alpha_comparison) and the widget objects."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch

from gc_helpers import alpha_comparison, compression, policies
from gc_helpers.compression import cem
from gc_research import chunked, sweeps

P_QUAD = 8 * (1 + 27 + 27 * 28 // 2)


@pytest.fixture(scope="module")
def policy():
    return policies.make_policy("quadratic", 27, 8, 0.1)


@pytest.fixture(scope="module")
def target(policy):
    return compression.random_target(policy.n_params, seed=3)


SMALL = dict(population=4, elites=2, iterations=2)


def test_cem_sequence_shapes_and_values(policy, target):
    r = cem.cem_sequence(policy, target, L=5, sigma=0.4, **SMALL)
    assert policy.n_params == P_QUAD
    assert r.actions.shape == (5, 8) and r.obs.shape == (6, 27) and r.alpha_coef.shape == (5,)
    assert np.all(np.abs(r.actions) <= 1.0), "actions must stay in the action box"
    assert r.history.shape == (2,) and np.all(np.diff(r.history) >= 0), "best-so-far never decreases"
    assert r.env_steps == 2 * 4 * 5
    assert r.null == pytest.approx(np.sqrt(5 / P_QUAD))
    assert r.cosine == pytest.approx(r.cosine_exact, abs=1e-8), "the eigen-score equals the least-squares one"
    assert r.cosine_exact >= r.cosine_none - 1e-12, "the best α is at least as good as α = 1"
    # the stored state sequence is what the actions do, and α reproduces the exact fit
    G = policy.score(r.obs[:-1], r.actions).numpy()
    fit = compression.best_alpha_exact(G, target.vector)
    assert fit.cosine == pytest.approx(r.cosine_exact, abs=1e-10)
    assert compression.no_alpha(G, target.vector).cosine == pytest.approx(r.cosine_none, abs=1e-10)


def test_cem_sequence_is_pure(policy, target):
    a = cem.cem_sequence(policy, target, 4, 0.3, alpha="none", seed=7, **SMALL)
    b = cem.cem_sequence(policy, target, 4, 0.3, alpha="none", seed=7, **SMALL)
    assert np.array_equal(a.actions, b.actions) and a.cosine == b.cosine
    assert a.cosine == pytest.approx(a.cosine_none, abs=1e-10)


def test_batch_cosines_match_compression(policy, target):
    rng = np.random.default_rng(0)
    G = torch.as_tensor(rng.standard_normal((3, 6, 40)))
    w = rng.standard_normal(40)
    wt = torch.as_tensor(w / np.linalg.norm(w))
    ex = cem.batch_cosines(G, wt, "exact").numpy()
    no = cem.batch_cosines(G, wt, "none").numpy()
    for b in range(3):
        assert ex[b] == pytest.approx(compression.best_alpha_exact(G[b].numpy(), w).cosine, abs=1e-9)
        assert no[b] == pytest.approx(compression.no_alpha(G[b].numpy(), w).cosine, abs=1e-12)
    # a dependent (repeated) gradient adds nothing
    G2 = torch.cat([G[:1], G[:1, :1]], dim=1)
    assert cem.batch_cosines(G2, wt, "exact")[0] == pytest.approx(ex[0], abs=1e-7)


def test_compare_alpha_returns_both_and_a_figure(policy, target):
    cmp, fig = alpha_comparison.compare_alpha(policy, target, 3, 0.5, **SMALL)
    assert cmp.none.alpha == "none" and cmp.exact.alpha == "exact" and cmp.L == 3 and cmp.sigma == 0.5
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 3
    assert "L/P" in alpha_comparison.summary(cmp)
    matplotlib.pyplot.close(fig)


@pytest.mark.parametrize("L", [0, -3, 2.5, True, "10"])
def test_bad_horizon(policy, target, L):
    with pytest.raises(ValueError, match=r"\bL="):
        cem.cem_sequence(policy, target, L, 0.5, **SMALL)
    with pytest.raises(ValueError, match=r"\bL="):
        alpha_comparison.compare_alpha(policy, target, L, 0.5, **SMALL)


@pytest.mark.parametrize("sigma", [0, -0.1, float("nan"), float("inf"), None])
def test_bad_sigma(policy, target, sigma):
    with pytest.raises(ValueError, match="sigma="):
        cem.cem_sequence(policy, target, 3, sigma, **SMALL)
    with pytest.raises(ValueError, match="sigma="):
        alpha_comparison.compare_alpha(policy, target, 3, sigma, **SMALL)


def test_other_bad_input(policy, target):
    with pytest.raises(ValueError, match="alpha="):
        cem.cem_sequence(policy, target, 3, 0.5, alpha="lbfgs", **SMALL)
    with pytest.raises(ValueError, match="elites="):
        cem.cem_sequence(policy, target, 3, 0.5, population=4, elites=5, iterations=1)
    with pytest.raises(ValueError, match="population="):
        cem.cem_sequence(policy, target, 3, 0.5, population=1, elites=1, iterations=1)
    with pytest.raises(ValueError, match="target"):
        cem.cem_sequence(policy, np.ones(5), 3, 0.5, **SMALL)
    with pytest.raises(ValueError, match="policy="):
        cem.cem_sequence("quad", target, 3, 0.5, **SMALL)


def test_sliders_build_without_display():
    import ipywidgets as W

    s_L, s_sigma = alpha_comparison.horizon_sigma_sliders(L=10, sigma=0.3, L_max=50)
    assert isinstance(s_L, W.IntSlider) and (s_L.value, s_L.max) == (10, 50)
    assert isinstance(s_sigma, W.FloatLogSlider) and s_sigma.value == pytest.approx(0.3)
    with pytest.raises(ValueError, match="L="):
        alpha_comparison.horizon_sigma_sliders(L=0)
    with pytest.raises(ValueError, match="sigma="):
        alpha_comparison.horizon_sigma_sliders(sigma=-1.0)
    with pytest.raises(ValueError, match="L="):
        alpha_comparison.horizon_sigma_sliders(L=60, L_max=50)


# ------------------------------------------------------------------------------------------------------------
# The plotting helpers the compression notebooks use with the widgets (gc_helpers.plots)


def test_study_curves():
    from gc_helpers import plots

    curves = plots.study_curves()
    assert len(curves) == 6 and "quad model, alpha-optim" in curves
    for lengths, cos in curves.values():
        assert lengths[0] == 10 and lengths[-1] == 490 and np.all(np.diff(lengths) > 0)
        assert np.all((cos > -1) & (cos < 1))


def test_alpha_profile_and_cosine_vs_length():
    import matplotlib.pyplot as plt

    from gc_helpers import plots

    fig = plots.alpha_profile(np.array([1.0, -2.0, 0.5]))
    assert len(fig.axes) == 2
    plt.close(fig)
    with pytest.raises(ValueError, match="alpha"):
        plots.alpha_profile(np.array([1.0, np.nan]))
    fig, ax = plt.subplots()
    plots.cosine_vs_length(ax, [("x", [10, 20], [0.2, 0.3], {})], 100, study=plots.study_curves(),
                           study_series=["quad model, alpha-optim"], act_dim=8, max_length=50)
    assert len(ax.lines) == 4  # the curve, the study's, √(L/P) and √(kL/P)
    plt.close(fig)


def test_shipped_sweep_lookup(tmp_path, monkeypatch, policy, target):

    monkeypatch.setenv("GC_ROOT", str(tmp_path))
    assert compression.shipped_sweep(target_name="random") is None
    res = chunked.chunk_search(policy, target, max_length=4, chunk=2, method="random")
    sweeps.save_compressed(res, tmp_path / "data" / "compressed" / "toy", target, policy)
    (tmp_path / "data" / "compressed" / "broken").mkdir()
    (tmp_path / "data" / "compressed" / "broken" / "meta.json").write_text("{}")
    art = compression.shipped_sweep(target_name="random", n_params=policy.n_params)
    assert art is not None and art.path.name == "toy"
    assert compression.shipped_sweep(target_name="weight_change") is None
    assert compression.shipped_sweep(where=lambda m: m["length"] > 4, target_name="random") is None
    a, b = compression.as_sweep(art), compression.as_sweep(res)
    assert a.keys() == b.keys() and a["shipped"] and not b["shipped"]
    np.testing.assert_allclose(a["cosine"], b["cosine"])
    np.testing.assert_array_equal(a["order"], b["order"])
