"""Tests for gc_helpers.compression: best α (exact vs L-BFGS vs none), the incremental span, searches, errors."""

import dataclasses

import numpy as np
import pytest

from gc_helpers import compression as C
from gc_helpers import envs, policies, vectors
from gc_research import chunk_scorer, chunked, hill_climb, incremental_span, projected_actions, sweeps
from gc_research import staged_search as S


def _random_problem(seed, L=None, P=None):
    rng = np.random.default_rng(seed)
    P = P or int(rng.integers(5, 60))
    L = L or int(rng.integers(1, P + 5))
    G = rng.standard_normal((L, P)) * rng.uniform(0.1, 10, (L, 1))
    w = rng.standard_normal(P) + 0.5 * rng.standard_normal(L) @ G / np.sqrt(L)
    return G, w


@pytest.mark.parametrize("seed", range(12))
def test_exact_alpha_beats_lbfgs_and_no_alpha(seed):
    G, w = _random_problem(seed)
    exact = C.best_alpha_exact(G, w)
    lb = C.best_alpha_lbfgs(G, w)
    none = C.no_alpha(G, w)
    assert lb.cosine <= exact.cosine + 1e-9
    assert none.cosine <= exact.cosine + 1e-9
    assert abs(none.cosine) <= exact.cosine + 1e-9


@pytest.mark.parametrize("seed", range(6))
def test_exact_cosine_is_projection_norm(seed):
    G, w = _random_problem(seed)
    Q, _ = np.linalg.qr(G.T)
    rank = np.linalg.matrix_rank(G)
    Q = Q[:, :rank]
    expected = np.linalg.norm(Q.T @ w) / np.linalg.norm(w)
    assert C.best_alpha_exact(G, w).cosine == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("method", ["exact", "lbfgs", "none"])
def test_direction_from_alpha_has_reported_cosine(method):
    G, w = _random_problem(3, L=20, P=50)
    fit = C.fit_alpha(G, w, method)
    d = G.T @ fit.alpha
    np.testing.assert_allclose(d, fit.direction, rtol=1e-10, atol=1e-10)
    assert vectors.cosine(d, w) == pytest.approx(fit.cosine, abs=1e-12)


def test_l2_objective():
    G, w = _random_problem(4, L=5, P=8)
    assert C.l2_objective(G, w) == pytest.approx(np.sum((G.sum(0) - w) ** 2))
    fit = C.best_alpha_exact(G, w)
    assert C.l2_objective(G, w, fit.alpha) <= C.l2_objective(G, w) + 1e-12


def test_incremental_span_matches_fresh_least_squares():
    rng = np.random.default_rng(0)
    P = 80
    w = rng.standard_normal(P)
    span = incremental_span.IncrementalSpan(w, capacity=4)
    cols = []
    for _ in range(6):
        block = rng.standard_normal((5, P))
        gain = float(span.gains(block))
        before = span.cosine
        span.add(block)
        cols.append(block)
        fresh = C.best_alpha_exact(np.concatenate(cols), w).cosine
        assert span.cosine == pytest.approx(fresh, abs=1e-10)
        assert before**2 + gain == pytest.approx(fresh**2, abs=1e-10)
    # a dependent column adds nothing
    assert float(span.gains(cols[0][:2])) == pytest.approx(0.0, abs=1e-9)
    assert span.add(cols[1][:1]) == 0


def test_gains_batch_equals_single():
    rng = np.random.default_rng(1)
    span = incremental_span.IncrementalSpan(rng.standard_normal(30))
    span.add(rng.standard_normal((4, 30)))
    cands = rng.standard_normal((3, 2, 30))
    batch = span.gains(cands).numpy()
    for b in range(3):
        assert batch[b] == pytest.approx(float(span.gains(cands[b])), abs=1e-12)


def test_bad_inputs_raise_naming_argument():
    G, w = _random_problem(0, L=4, P=10)
    with pytest.raises(ValueError, match="target"):
        C.best_alpha_exact(G, w[:-1])
    with pytest.raises(ValueError, match="target"):
        C.best_alpha_exact(G, np.zeros(10))
    with pytest.raises(ValueError, match="target"):
        C.best_alpha_lbfgs(G, np.r_[w[:-1], np.nan])
    with pytest.raises(ValueError, match="grads"):
        C.best_alpha_exact(np.zeros((0, 10)), w)
    with pytest.raises(ValueError, match="grads"):
        C.no_alpha(np.full((2, 10), np.inf), w)
    with pytest.raises(ValueError, match="method"):
        C.fit_alpha(G, w, "newton")
    with pytest.raises(ValueError, match="n_params"):
        C.random_target(0, seed=1)


@pytest.fixture(scope="module")
def small_problem():
    spec = envs.env_spec("Ant-v5")
    pol = policies.make_policy("quadratic", spec.obs_dim, spec.act_dim, 0.1)
    target = C.random_target(pol.n_params, seed=3)
    return pol, target


def test_search_errors(small_problem):
    pol, target = small_problem
    with pytest.raises(ValueError, match="max_length"):
        chunked.chunk_search(pol, target, max_length=0)
    with pytest.raises(ValueError, match="target"):
        chunked.chunk_search(pol, np.ones(5), max_length=5)
    with pytest.raises(ValueError, match="method"):
        chunked.chunk_search(pol, target, max_length=5, method="magic")
    with pytest.raises(ValueError, match="sigma"):
        policies.make_policy("quadratic", 27, 8, 0.0)


def test_project_search_beats_random_actions(small_problem):
    pol, target = small_problem
    rnd = chunked.chunk_search(pol, target, max_length=20, chunk=10, method="random", seed=0)
    proj = chunked.chunk_search(pol, target, max_length=20, chunk=10, method="project", seed=0, reach=0.3)
    assert proj.cosine > rnd.cosine + 0.02
    # actions stay in the box, and the stored direction is reproduced from obs/actions and alpha
    assert np.all(np.abs(proj.actions) <= 1.0)
    G = proj.grads(pol)
    assert vectors.cosine(G.T @ proj.alpha, target.vector) == pytest.approx(proj.cosine, abs=1e-9)
    assert proj.curve[-1] == pytest.approx(proj.cosine, abs=1e-8)
    # the stored observations are what a fresh replay of the actions gives
    rep = envs.replay(envs.reset_state("Ant-v5", 42), proj.actions)
    np.testing.assert_array_equal(rep.obs, proj.obs)


def _lifted(z, vz=0.0, seed=42):
    """Ant's reset state with the torso moved to height z and given upward velocity vz."""
    start = envs.reset_state("Ant-v5", seed)
    p = start.physics.copy()
    p[1 + 2], p[1 + 15 + 2] = z, vz  # physics = [time, qpos (x, y, z, …), qvel (vx, vy, vz, …), …]
    return dataclasses.replace(start, physics=p)


def test_unhealthy_or_unsafe_candidates_score_minus_inf(small_problem):
    pol, target = small_problem
    A = np.full((3, 1, 8), 0.2)

    def score(start, safety):
        return chunk_scorer.Scorer(pol, incremental_span.IncrementalSpan(target.vector), 1, safety=safety)(start, A)[0]

    assert np.isfinite(score(_lifted(0.75), 0)).all()
    assert np.isneginf(score(_lifted(1.5), 0)).all()  # above Ant's healthy range z ∈ [0.2, 1.0]: the episode ends
    # rising at 1.5 m/s from 0.9 m: healthy after this step, over 1.0 m within the next 10 (zero-action) steps
    assert np.isfinite(score(_lifted(0.9, 1.5), 0)).all()
    assert np.isneginf(score(_lifted(0.9, 1.5), 10)).all()


def test_search_records_steps_without_a_healthy_chunk(small_problem, monkeypatch):
    pol, target = small_problem
    res = chunked.chunk_search(pol, target, max_length=10, chunk=5, method="project", seed=0, reach=0.3, safety=5)
    assert res.settings["unhealthy_steps"] == []
    rep = envs.replay(envs.reset_state("Ant-v5", 42), res.actions)
    assert not rep.terminated.any()
    high = _lifted(1.5)
    monkeypatch.setattr(envs, "reset_state", lambda env_id, seed: high)
    res = chunked.chunk_search(pol, target, max_length=10, chunk=5, method="project", seed=0)
    assert res.settings["unhealthy_steps"] == [0, 5]


def test_cem_and_hill_climb_run(small_problem):
    pol, target = small_problem
    cem = chunked.chunk_search(pol, target, max_length=10, chunk=5, method="cem", population=8, elites=2, cem_iters=2,
                         regression_step=0.5)
    assert cem.curve.shape == (2,) and cem.env_steps[-1] > 10
    hill = hill_climb.hill_climb(pol, target, max_length=5, chunk=5, iterations=5)
    assert np.isfinite(hill.curve_lbfgs).all() and hill.curve_lbfgs[-1] <= hill.curve[-1] + 1e-9


def test_several_trajectories_share_one_span(small_problem):
    pol, target = small_problem
    res = chunked.chunk_search(pol, target, max_length=12, chunk=3, reset_seeds=(42, 7), method="project")
    assert res.actions.shape[:2] == (2, 6)
    assert sorted(set(res.order[:, 0])) == [0, 1]
    G = res.grads(pol)
    assert C.best_alpha_exact(G, target.vector).cosine == pytest.approx(res.cosine, abs=1e-9)


def test_sweep_saves_and_loads(small_problem, tmp_path):
    pol, target = small_problem
    res = sweeps.sweep(pol, target, lengths=(5, 10), path=tmp_path / "sw", progress=False, chunk=5)
    art = C.load_compressed(tmp_path / "sw", n_params=pol.n_params)
    np.testing.assert_allclose(art["cosine"], res.curve)
    np.testing.assert_allclose(art["null"], np.sqrt(np.array([5, 10]) / pol.n_params))
    assert art.meta["complete"] and art.meta["target_name"] == "random"


@pytest.mark.parametrize("kind", ["quadratic", "mlp"])
def test_mean_jacobian_matches_autograd(kind):
    import torch

    pol = policies.make_policy(kind, 5, 3, 0.1, hidden=4, seed=1)
    if kind == "quadratic":
        pol.set_flat(np.random.default_rng(0).standard_normal(pol.n_params))
    obs = np.random.default_rng(1).standard_normal((4, 5))
    J = C.mean_jacobian(pol, obs).numpy()
    for t in range(4):
        for i in range(3):
            pol.zero_grad()
            pol.mean(torch.as_tensor(obs[t]))[i].backward()
            g = torch.cat([p.grad.reshape(-1) for p in pol.parameters()]).numpy()
            np.testing.assert_allclose(J[t, i], g, atol=1e-12)


def test_box_step_keeps_direction_and_box():
    rng = np.random.default_rng(0)
    mu = rng.uniform(-0.9, 0.9, (50, 4))
    u = rng.standard_normal((50, 4))
    a = projected_actions.box_step(mu, u, -1.0, 1.0, reach=1.0)
    assert np.all(np.abs(a) <= 1.0)
    cross = (a - mu) / u
    np.testing.assert_allclose(cross, cross[:, :1] * np.ones((1, 4)), atol=1e-12)  # a − μ ∝ u
    assert np.allclose(np.abs(a).max(1), 1.0) or np.all(np.isclose(np.abs(a), 1.0).any(1))  # reaches the box


def test_prefix_is_kept_and_continued(small_problem):
    pol, target = small_problem
    first = chunked.chunk_search(pol, target, max_length=5, chunk=5, method="project", seed=0, reach=0.3)
    more = chunked.chunk_search(pol, target, max_length=10, chunk=5, method="project", seed=1, reach=0.3,
                          prefix=first.actions[0])
    np.testing.assert_array_equal(more.actions[0, :5], first.actions[0])
    assert list(more.lengths) == [10] and more.cosine >= first.cosine - 1e-12
    assert C.best_alpha_exact(more.grads(pol), target.vector).cosine == pytest.approx(more.cosine, abs=1e-9)
    with pytest.raises(ValueError, match="prefix"):
        chunked.chunk_search(pol, target, max_length=10, prefix=first.actions[0], reset_seeds=(42, 7))
    with pytest.raises(ValueError, match="prefix"):
        chunked.chunk_search(pol, target, max_length=5, prefix=first.actions[0])


def test_staged_search_keeps_the_best_lineage(small_problem):
    pol, target = small_problem
    kw = dict(max_length=10, chunk=5, method="project", reach=0.3, lengths=(5, 10))
    res = S.staged_search(pol, target, stages=(5,), width=1, branch=2, **kw)
    cos = res.settings["stage_cosines"]
    assert [len(c) for c in cos] == [2, 2] and res.settings["runs"] == 4
    assert res.cosine == pytest.approx(max(cos[-1]), abs=1e-4) and res.curve[0] == pytest.approx(max(cos[0]), abs=1e-4)
    assert list(res.lengths) == [5, 10] and np.all(np.diff(res.seconds) >= 0)
    # the winner of stage 1 (seed 0 or 1) is the prefix of the final sequence
    firsts = [chunked.chunk_search(pol, target, seed=s, **dict(kw, max_length=5, lengths=(5,))) for s in (0, 1)]
    winner = max(firsts, key=lambda r: r.cosine)
    np.testing.assert_array_equal(res.actions[0, :5], winner.actions[0])
    # and the whole sequence replays to the same cosine
    rep = envs.replay(envs.reset_state("Ant-v5", 42), res.actions)
    G = pol.score(rep.obs[0, :-1], res.actions[0]).numpy()
    assert C.best_alpha_exact(G, target.vector).cosine == pytest.approx(res.cosine, abs=1e-9)
    same = S.search(pol, target, staged=dict(stages=(5,), width=1, branch=2), **kw)
    assert same.cosine == res.cosine  # search() dispatches, and the same seeds give the same result
    with pytest.raises(ValueError, match="width"):
        S.staged_search(pol, target, width=0, **kw)
    with pytest.raises(ValueError, match="staged"):
        S.search(pol, target, staged=3, **kw)


@pytest.mark.parametrize("name", ["RECOMMENDED", "BEST"])
def test_shipped_settings_run_through_search(small_problem, name):
    pol, target = small_problem
    kw = dict({"RECOMMENDED": chunked.RECOMMENDED, "BEST": S.BEST}[name])
    if "staged" in kw:  # the same options on a tiny problem: one process, stages at 5 steps
        kw["staged"] = dict(kw["staged"], stages=(5,), width=1, branch=1, n_workers=1)
    res = S.search(pol, target, max_length=10, lengths=(5, 10), **kw)
    assert res.length == 10 and res.settings["safety"] >= 3 and not res.settings["unhealthy_steps"]


@pytest.mark.parametrize("name", ["ant_quad_sgd_weight_change", "ant_quad_sgd_random", "ant_quad_sgd_cem",
                                  "ant_quad_best_weight_change", "ant_quad_adam_weight_change",
                                  "ant_mlp_sgd_weight_change"])
def test_shipped_sweeps_replay_to_their_cosines_in_valid_episodes(name):
    """Every shipped sequence, replayed from its reset seed, gives back its stored curve (exact α on the
    gradients at w_first recomputed from scratch) and never ends the episode early."""
    art = C.load_compressed(name)
    m = art.meta
    # w_first of the run (the random-direction sweep records no run: it was made with ant_quad_sgd's w_first)
    policy = C.run_policy(m["run"] or "ant_quad_sgd", 0)
    assert policies.describe(policy)["obs_mean"] == m["policy"]["obs_mean"]
    actions = art["actions"][0]
    rep = envs.replay(envs.reset_state(m["env_id"], m["reset_seeds"][0]), actions[None])
    assert not rep.terminated.any(), f"{name} leaves Ant's healthy range at step {np.argmax(rep.terminated[0])}"
    np.testing.assert_array_equal(rep.obs[0], art["obs"][0])
    G = policy.score(rep.obs[0, :-1], actions).numpy()
    target = art["target"]
    for L in (50, 200, len(actions)):
        i = int(np.flatnonzero(art["lengths"] == L)[0])
        assert C.best_alpha_exact(G[:L], target).cosine == pytest.approx(art["cosine"][i], abs=1e-8)
    if name == "ant_quad_sgd_weight_change":  # the bar, on the study-faithful run
        assert art["cosine"][art["lengths"] == 490][0] >= 0.90 and art["cosine"][art["lengths"] == 200][0] >= 0.75


# ------------------------------------------------------------------------------------------------------------
# Reference functions (the notebooks' exercises are checked against them)


@pytest.mark.parametrize("seed", range(4))
def test_best_alpha_and_span_cosine_are_the_exact_fit(seed):
    G, w = _random_problem(seed)
    fit = C.best_alpha_exact(G, w)
    np.testing.assert_array_equal(C.best_alpha(G.T, w), fit.alpha)
    assert C.span_cosine(G.T, w) == fit.cosine
    with pytest.raises(ValueError, match="one gradient per COLUMN"):
        C.span_cosine(G, w) if G.shape[0] != G.shape[1] else C.span_cosine(G[:, :-1], w)


@pytest.mark.parametrize("seed", range(4))
def test_chunk_gain_agrees_with_the_incremental_span(seed):
    rng = np.random.default_rng(seed)
    P = 50
    w = rng.standard_normal(P)
    span = incremental_span.IncrementalSpan(w)
    for _ in range(4):
        chunk = rng.standard_normal((3, P))
        chunk[2] = chunk[0] + 1e-14 * rng.standard_normal(P) if seed == 3 else chunk[2]  # a dependent column
        reference = C.chunk_gain(span.Q.numpy().T, w, chunk.T)
        assert float(span.gains(chunk)) == pytest.approx(reference, abs=1e-10)
        before = span.cosine**2
        span.add(chunk)
        assert span.cosine**2 - before == pytest.approx(reference, abs=1e-10)


def test_null_cosine_and_its_simulation():
    assert C.null_cosine(20, 200) == pytest.approx(np.sqrt(0.1))
    assert C.null_cosine(300, 200) == 1.0
    assert C.simulated_null_cosine(20, 200, n=300, seed=1) == pytest.approx(np.sqrt(0.1), abs=0.03)


def test_cosine_is_one_shared_function():
    from gc_helpers import pg_theory

    assert not hasattr(pg_theory, "cosine")  # one home: gc_helpers.vectors
    with pytest.raises(ValueError, match="zero vector"):
        vectors.cosine([0.0, 0.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="u has 1 non-finite"):
        vectors.cosine([np.nan, 1.0], [1.0, 2.0])


def test_cem_iteration_moves_the_mean_to_the_elites():
    rng = np.random.default_rng(0)
    mean, std = np.zeros((3, 2)), np.ones((3, 2))
    seen = []

    def score(X):
        seen.append(X)
        return -np.sum((X - 0.5) ** 2, axis=(1, 2))

    new_mean, new_std, best_x, best_score = C.cem_iteration(mean, std, score, 64, 8, rng)
    X = seen[0]
    assert X.shape == (64, 3, 2) and np.array_equal(X[0], mean) and X.min() >= -1 and X.max() <= 1
    elite = X[np.argsort(-score(X))[:8]]
    np.testing.assert_array_equal(new_mean, elite.mean(0))
    np.testing.assert_array_equal(new_std, elite.std(0) + 1e-6)
    assert best_score == score(X).max() and np.array_equal(best_x, elite[0])
    assert np.sum((new_mean - 0.5) ** 2) < np.sum((mean - 0.5) ** 2)


def test_chunk_options_name_unknown_and_bad_options(small_problem):
    pol, target = small_problem
    for bad, match in ((dict(lookahead=2), "unknown options.*lookahead"), (dict(reach=(0.3, 1.0)), "reach"),
                       (dict(hill_alpha="adam"), "hill_alpha"), (dict(iters=-1), "iters")):
        with pytest.raises(ValueError, match=match):
            chunked.chunk_search(pol, target, max_length=4, chunk=2, **bad)


# ------------------------------------------------------------------------------------------------------------
# Worker processes from a plain script (BEST's staged search starts two)

WORKER_SCRIPT = """
from gc_helpers import compression as C, policies
from gc_research import staged_search
{guard}
    pol = policies.make_policy("quadratic", 27, 8, 0.1)
    target = C.random_target(pol.n_params, 0)
    staged = dict(stages=(2,), width=1, branch=2, n_workers=2)
    res = staged_search.search(pol, target, max_length=4, chunk=2, method="random", lengths=(2, 4), staged=staged)
    print("COSINE", res.cosine, res.settings["runs"])
"""


@pytest.mark.parametrize("guarded", [True, False])
def test_worker_processes_from_a_script(tmp_path, guarded):
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "run_search.py"
    script.write_text(WORKER_SCRIPT.format(guard='if __name__ == "__main__":' if guarded else "if True:"))
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=600)
    if guarded:
        assert out.returncode == 0, out.stderr[-2000:]
        assert "COSINE" in out.stdout and out.stdout.split()[-1] == "4"
    else:
        assert out.returncode != 0
        last = out.stderr.strip().splitlines()
        assert last[0] and 'if __name__ == "__main__":' in out.stderr and "n_workers=1" in out.stderr
        assert "RuntimeError: staged_search's worker processes stopped" in out.stderr
