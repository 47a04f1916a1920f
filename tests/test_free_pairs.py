"""The ladder of manufactured datasets (gc_helpers.free_pairs, .ladder_search, .ladder_table; bench/ladder.py):
bad input is refused naming the argument, every rung decodes to valid states, behaviour cloning's kernel form equals
the direct solve, a search resumes to the same end, a shipped cell replays from its seeds, and the table's numbers
are recomputed from the cells' raw arrays."""

from pathlib import Path

import numpy as np
import pytest

from gc_helpers import behaviour_cloning as cloning
from gc_helpers import compression as C
from gc_helpers import envs, rollouts
from gc_helpers import free_pairs as FP
from gc_helpers import ladder_search as S
from gc_helpers import ladder_table as LT
from gc_helpers.config import data_dir

RUN = "ant_quad_best"
TINY = S.SearchConfig(budget=200, popsize=4, sigma0=0.3, n_episodes=1, horizon_low=10, horizon_high=20)


@pytest.fixture(scope="module")
def first():
    return C.run_policy(RUN, 0)


@pytest.fixture(scope="module")
def limits():
    return FP.state_limits()


def rung(k, L, first):
    return FP.Rung(k, L, first, envs.reset_state("Ant-v5", 42) if k == 1 else None)


# -- bad input ------------------------------------------------------------------------------------------------


def test_length_below_one_is_refused(first):
    with pytest.raises(ValueError, match="L"):
        FP.Rung(3, 0, first)


def test_unknown_rung_and_rung1_without_reset_state(first):
    with pytest.raises(ValueError, match="rung"):
        FP.Rung(5, 4, first)
    with pytest.raises(ValueError, match="reset_start"):
        FP.Rung(1, 4, first)


@pytest.mark.parametrize("index, value, what", [(0, 1.5, "torso height"), (6, 2.0, "joint 1"),
                                                 (20, 50.0, "max_velocity")])
def test_start_state_outside_the_limits_is_refused(limits, index, value, what):
    s = FP.decode_states(np.zeros(27), limits)
    s[index] = value
    with pytest.raises(ValueError, match=f"start.*{what}"):
        FP.start_from_state(s, limits)


def test_start_state_with_a_non_unit_quaternion_is_refused(limits):
    s = FP.decode_states(np.zeros(27), limits)
    s[1:5] = [1.0, 0.3, 0.0, 0.0]
    with pytest.raises(ValueError, match="start.*quaternion"):
        FP.start_from_state(s, limits)


def test_non_finite_states_actions_and_search_vectors_are_refused(first, limits):
    obs = np.random.default_rng(0).normal(size=(4, 27))
    act = np.zeros((4, 8))
    with pytest.raises(ValueError, match="obs"):
        FP.bc_coefficients(first, np.where(obs > 1, np.nan, obs), act)
    with pytest.raises(ValueError, match="actions"):
        FP.bc_coefficients(first, obs, np.full((4, 8), np.inf))
    with pytest.raises(ValueError, match="start"):
        FP.start_from_state(np.full(27, np.nan), limits)
    r = rung(4, 4, first)
    u = r.initial(0)
    u[3] = np.nan
    with pytest.raises(ValueError, match="u"):
        r.decode(u)
    with pytest.raises(ValueError, match="u has"):
        r.decode(np.zeros(r.size + 1))


def test_a_budget_that_cannot_pay_for_one_generation_is_refused(first):
    r = rung(2, 4, first)
    cfg = S.SearchConfig(budget=1000, popsize=4, horizon_low=100, horizon_high=300)
    with pytest.raises(ValueError, match=r"budget=1000.*at least 1216"):
        S.search(r, cfg)
    with pytest.raises(ValueError, match="budget"):
        S.SearchConfig(budget=0)
    with pytest.raises(ValueError, match="horizon_high"):
        S.SearchConfig(horizon_low=500, horizon_high=100)


# -- every rung decodes to valid states -------------------------------------------------------------------------


def test_decoded_states_are_valid_and_encode_back(limits):
    u = np.random.default_rng(1).uniform(-1, 1, (200, 27))
    s = FP.decode_states(u, limits)
    FP.valid_states(s, limits)  # raises if any is invalid
    assert np.allclose(FP.decode_states(FP.encode_states(s, limits), limits), s, atol=1e-12)
    corners = FP.decode_states(np.sign(u), limits)
    FP.valid_states(corners, limits)


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_every_rung_decodes_random_vectors_to_a_dataset(first, limits, k):
    r = rung(k, 4, first)
    rng = np.random.default_rng(k)
    for u in [r.initial(0), rng.uniform(-1, 1, r.size), 3 * rng.standard_normal(r.size)]:
        ds = r.decode(u)
        assert ds.obs.shape == (4, 27) and ds.actions.shape == (4, 8) and ds.coeffs.shape == (4, 8)
        assert np.all(np.abs(ds.actions) <= 1)
        assert np.allclose(ds.direction, FP.kernel_direction(first, ds.obs, ds.coeffs))
        if k == 2:
            FP.valid_states(ds.start, limits)
            assert np.allclose(ds.obs[0], ds.start)  # the trajectory starts at the searched state
        if k == 3:
            FP.valid_states(ds.obs, limits)
        if k == 4:
            z = (ds.obs - first.obs_mean.numpy()) / first.obs_std.numpy()
            assert np.all(np.abs(z) <= FP.OBS_SCALE + 1e-9)
        if k in (1, 2):
            assert ds.env_steps == 4


def test_trajectory_rung_replays_its_actions_from_its_start(first):
    r = rung(1, 6, first)
    ds = r.decode(np.random.default_rng(2).uniform(-1, 1, r.size))
    rep = envs.replay(envs.reset_state("Ant-v5", 42), ds.actions[None], n_threads=1)
    assert np.array_equal(rep.obs[0, :-1], ds.obs)


# -- behaviour cloning in closed form ---------------------------------------------------------------------------


@pytest.mark.parametrize("L, ridge", [(4, 1e-3), (16, 1e-3), (64, 0.1)])
def test_bc_kernel_form_equals_the_direct_solve(first, L, ridge):
    rng = np.random.default_rng(L)
    obs = rng.normal(first.obs_mean.numpy(), first.obs_std.numpy(), (L, 27))
    act = rng.uniform(-1, 1, (L, 8))
    by_kernel = FP.kernel_direction(first, obs, FP.bc_coefficients(first, obs, act, ridge))
    direct = cloning.behaviour_cloning(first, obs, act, ridge=ridge)
    assert np.allclose(by_kernel, direct, rtol=1e-6, atol=1e-8 * np.abs(direct).max())


def test_trajectory_coefficients_play_the_action_at_an_isolated_state(first):
    obs = first.obs_mean.numpy()[None] + 0.5 * first.obs_std.numpy()[None]
    act = np.array([[0.3, -0.2, 0.1, 0.0, 0.5, -0.5, 0.2, 0.9]])
    c = FP.trajectory_coefficients(first, obs, act, np.array([1.0]))
    mu = first.with_flat(FP.kernel_direction(first, obs, c)).mean_fn()(obs)
    assert np.allclose(mu, act)


# -- the search -------------------------------------------------------------------------------------------------


def test_search_stops_at_its_budget_and_resumes_to_the_same_end(first, tmp_path):
    r = rung(4, 2, first)
    whole = S.search(r, TINY, seed=3)
    assert whole.env_steps >= TINY.budget and whole.steps[-2] < TINY.budget
    ck = tmp_path / "ck"

    def stop(g, *_):
        if g == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        S.search(r, TINY, seed=3, checkpoint=ck, progress=stop)
    resumed = S.search(r, TINY, seed=3, checkpoint=ck)
    assert resumed.generations == whole.generations and resumed.env_steps == whole.env_steps
    assert np.array_equal(resumed.u, whole.u) and np.array_equal(resumed.best, whole.best)
    with pytest.raises(ValueError, match="checkpoint"):
        S.search(r, TINY, seed=4, checkpoint=ck)


def forward_velocity(policy, n_episodes: int, horizon: int, seed: int) -> tuple[float, int]:
    """One policy's metres walked (σ = 0) per second of the horizon over ``n_episodes`` episodes from
    ``env.reset(seed + i)``, by ``rollouts.rollout`` (a fall ends an episode; the rest counts as 0 m/s); env steps."""
    pool = rollouts.EnvPool(policy.env_id or "Ant-v5", n_episodes, n_threads=1)
    r = rollouts.rollout(pool, policy.mean_fn(), horizon, seed, 0.0)
    return float(r.forward_velocity.sum(axis=1).mean() / horizon), r.env_steps


def test_population_velocity_equals_one_rollout_per_candidate(first):
    rng = np.random.default_rng(5)
    r = rung(4, 4, first)
    dirs = np.stack([r.decode(rng.uniform(-1, 1, r.size)).direction for _ in range(3)])
    together, steps = S.population_velocity(first, dirs, 40, 1_234_567, n_episodes=2)
    alone = [forward_velocity(first.with_flat(d), 2, 40, 1_234_567) for d in dirs]
    assert np.allclose(together, [a[0] for a in alone], rtol=1e-9, atol=1e-12)
    assert steps == sum(a[1] for a in alone)


def test_episode_plans_change_every_generation_and_stay_off_the_fresh_seeds():
    plans = [S.episode_plan(0, g, S.SearchConfig()) for g in range(50)]
    assert len({p[0] for p in plans}) == 50 and len({p[1] for p in plans}) > 10
    assert all(S.TRAIN_SEED_BASE <= p[0] < S.FRESH_SEED - 1000 and 200 <= p[1] <= 1000 for p in plans)


# -- shipped cells --------------------------------------------------------------------------------------------------


def _searched_cells():
    return [c for run in LT.RUNS for c in LT.load_cells(run) if c.meta["method"] != "shipped_traj"]


def test_a_shipped_cell_replays_from_its_seeds(first):
    cells = [c for c in _searched_cells() if c.meta["run"] == RUN]
    if not cells:
        pytest.skip("no ladder cell shipped yet: GC_THREADS=1 nice -n 5 .venv/bin/python bench/ladder.py")
    cell = min(cells, key=lambda c: (c.meta["L"], c.meta["rung"], c.meta["seed"]))
    m = cell.meta
    r = FP.Rung(m["rung"], m["L"], first, envs.reset_state("Ant-v5", m["reset_seed"]) if m["rung"] == 1 else None)
    ds = r.decode(cell["u"])
    # the dataset from its search vector: replay and linear algebra, so a tolerance (not bit for bit)
    assert np.allclose(ds.obs, cell["obs"], rtol=1e-9, atol=1e-9)
    assert np.allclose(ds.actions, cell["actions"], rtol=0, atol=0)
    theta = first.flat() + ds.direction
    assert np.allclose(theta, cell["theta"], rtol=1e-7, atol=1e-9 * np.abs(cell["theta"]).max())
    # the first 3 of its fresh episodes, from the stored weights and the stored seed
    ev = S.fresh_evaluation(first.with_flat(cell["theta"]), 3, m["fresh"]["horizon"], m["fresh"]["seed"])
    assert np.array_equal(ev["lengths"], cell["fresh_lengths"][:3])
    assert np.allclose(ev["returns"], cell["fresh_returns"][:3], rtol=1e-6, atol=1e-6)
    assert np.allclose(ev["velocities"], cell["fresh_velocities"][:3], rtol=1e-6, atol=1e-9)


def test_the_table_is_recomputed_from_the_cells_raw_arrays():
    runs = [run for run in LT.RUNS if LT.load_cells(run)]
    if not runs:
        pytest.skip("no ladder cell shipped yet: GC_THREADS=1 nice -n 5 .venv/bin/python bench/ladder.py")
    for run in runs:
        ref = LT.trained(run)
        v_tr = np.sum(ref_arr := np.load(data_dir() / "ladder" / run / "trained" / "arrays.npz")["fresh_velocities"]
                      * (lengths := np.load(data_dir() / "ladder" / run / "trained" / "arrays.npz")["fresh_lengths"])
                      ) / np.sum(lengths)
        assert ref_arr.size >= 50 and np.isclose(v_tr, ref["velocity"], rtol=1e-9)
        cells = {}
        for p in sorted((data_dir() / "ladder" / run / "cells").glob("*/arrays.npz")):
            a = np.load(p)
            assert a["fresh_lengths"].size >= 50
            v = float(np.sum(a["fresh_velocities"] * a["fresh_lengths"]) / np.sum(a["fresh_lengths"]))
            ret = float(a["fresh_returns"].mean())
            import json

            meta = json.loads((p.parent / "meta.json").read_text())
            key = (meta["method"], meta["L"], meta.get("budget"))
            cells.setdefault(key, []).append((v, ret, meta["search_env_steps"]))
        for row in LT.rows(run):
            got = cells[(row["method"], row["L"], row["budget"])]
            vs = np.array([g[0] for g in got])
            assert row["n"] == len(got)
            assert np.isclose(row["velocity"]["mean"], vs.mean(), rtol=1e-9, atol=1e-12)
            assert np.isclose(row["fraction"], vs.mean() / v_tr, rtol=1e-9, atol=1e-12)
            assert np.isclose(row["return"], np.mean([g[1] for g in got]), rtol=1e-9)
            assert np.isclose(row["search_env_steps"], np.mean([g[2] for g in got]))
            if len(vs) > 1:
                assert np.isclose(row["velocity"]["sd"], vs.std(ddof=1), rtol=1e-9, atol=1e-12)


def test_searched_cells_at_one_L_share_one_budget_and_record_their_env_steps():
    for run in LT.RUNS:
        base = {}
        for c in LT.load_cells(run):
            m = c.meta
            if m["method"] == "shipped_traj" or Path(c.path).name.endswith(f"_b{m['budget']}"):
                continue
            base.setdefault(m["L"], set()).add(m["budget"])
            assert m["search_env_steps"] >= m["budget"] > 0
        assert all(len(b) == 1 for b in base.values()), base
