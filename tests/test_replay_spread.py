"""The multi-seed artifacts replay from their seeds, checked for what carries from one machine to another.

numpy's OpenBLAS picks its kernels by CPU (OPENBLAS_CORETYPE = Sandybridge, Haswell, SkylakeX, …) and torch's MKL
its code path: a sum over many terms is then added in another order and its last bits differ. So these tests check
- bit for bit, only what involves no BLAS: seeded random actions, an open-loop replay of stored actions (MuJoCo),
  lengths, shapes and metadata;
- within a tolerance derived from the computation (each says why), what goes through linear algebra: an α
  projection, a behaviour-cloning ridge solve, a policy's mean, a cosine;
- for a re-run search or greedy pick: the first lengths agree to rounding; after an argmax meets a near-tie (two
  candidates closer than rounding) the run follows another branch, and must land inside the shipped spread over
  seeds;
- the same seed on the same machine gives the same bits (run twice in-process).
`make test-kernels` runs this file and the claims tests under several OpenBLAS kernels.
"""

import importlib.util
import json

import numpy as np
import pytest

from gc_helpers import compression as C
from gc_helpers import envs, store
from gc_helpers import fewest_pairs as F
from gc_helpers import fewest_pairs_table as T
from gc_helpers.config import data_dir, project_root
from gc_research.staged_search import search

SPREAD = data_dir() / "spread" / "ant_quad_sgd_recommended"
EPS = np.finfo(np.float64).eps


def _condition(matrix) -> float:
    s = np.linalg.svd(np.asarray(matrix, dtype=np.float64), compute_uv=False)
    return float(s[0] / s[-1])


def _band(values) -> tuple[float, float]:
    """The shipped spread over seeds, [min − s.d., max + s.d.]: where another run of the same search may land."""
    v = np.asarray(values, dtype=np.float64)
    sd = v.std(ddof=1)
    return float(v.min() - sd), float(v.max() + sd)


# ---- a spread sweep's search, re-run from its seed --------------------------------------------------------------


def _spread_inputs(meta):
    policy = C.run_policy(meta["run"], 0)
    target = (C.weight_change_target(meta["run"]) if meta["target_name"] == "weight_change"
              else C.random_target(policy.n_params, meta["seed"]))
    return policy, target


def _cosine_tolerance(policy, res, L) -> float:
    """Rounding bound of the exact best-α cosine at length L: L incremental projections, each a float64 sum over
    P terms (relative error ≤ P·ε), amplified by the condition number κ of the L gradients. About 1e-11 at
    L = 25 … 100 (κ ≈ 12–16); a search that picked another candidate differs by 1e-4 or more."""
    G = C.step_grads(policy, res.obs[0, :L], res.actions[0, :L])
    return L * policy.n_params * EPS * _condition(G)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["weight_change_s0", "random_s3"])
def test_spread_sweep_replays_from_its_seed(name):
    art = store.load(SPREAD / name, "spread")
    m = art.meta
    policy, target = _spread_inputs(m)
    lengths = [int(L) for L in art["lengths"] if L <= 100]
    res = search(policy, target, max_length=max(lengths), seed=m["seed"], lengths=lengths, **m["settings"])
    assert res.lengths.tolist() == lengths and res.actions.shape[-1] == m["act_dim"]  # no BLAS: bit for bit
    stored = art["cosine"][: len(lengths)]
    tol = [_cosine_tolerance(policy, res, L) for L in lengths]
    same = 0
    while same < len(lengths) and abs(res.curve[same] - stored[same]) <= tol[same]:
        same += 1
    assert same >= 1, (f"L = {lengths[0]}: {res.curve[0]!r}, shipped {stored[0]!r} (rounding bound {tol[0]:.1e}): "
                       "the re-run is not the same search")
    for i in range(same, len(lengths)):  # past a near-tie: another branch of the same search
        seeds = [store.load(p, "spread") for p in sorted(SPREAD.glob(f"{m['target_name']}_s*"))]
        lo, hi = _band([s["cosine"][list(s["lengths"]).index(lengths[i])] for s in seeds])
        assert lo <= res.curve[i] <= hi, (f"L = {lengths[i]}: {res.curve[i]:.5f} outside the spread of the "
                                          f"{len(seeds)} shipped seeds [{lo:.5f}, {hi:.5f}]")


@pytest.mark.slow
def test_a_search_gives_the_same_bits_twice_on_one_machine():
    m = store.load(SPREAD / "weight_change_s0", "spread").meta
    policy, target = _spread_inputs(m)
    a, b = (search(policy, target, max_length=50, seed=m["seed"], lengths=[25, 50], **m["settings"])
            for _ in range(2))
    for field in ("actions", "obs", "alpha", "direction", "curve"):
        assert getattr(a, field).tobytes() == getattr(b, field).tobytes(), field


def test_decompressed_directions_are_the_spread_searches():
    folder = data_dir() / "decompressed_seeds" / "ant_quad_sgd"
    for seed in (0, 1, 2):
        spread = store.load(SPREAD / f"weight_change_s{seed}", "spread")
        at = dict(zip(spread["lengths"].tolist(), spread["cosine"].tolist()))
        for L in (50, 100, 200, 490):
            got = store.load(folder / f"compressed_L{L}_s{seed}", "decompressed_seed").meta["cosine"]
            assert got == pytest.approx(at[L], abs=1e-9), (seed, L)


# ---- fewest-pairs cells: their stored pairs, and bench/fewest_pairs.py re-run from the seed ----------------------

CELLS = [("ant_quad_sgd", "random_L16_s1"), ("ant_quad_sgd", "bc_first_L16_s2"), ("ant_quad_sgd", "bc_subset_L8_s0"),
         ("ant_quad_best", "bc_first_L16_s0")]
CLOSED_LOOP_ATOL = 1e-9  # a ≤ 16-step rollout of the expert: see test_fewest_pairs_cells_replay_from_their_seeds


def _bench():
    spec = importlib.util.spec_from_file_location("bench_fewest_pairs", project_root() / "bench" / "fewest_pairs.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def _cell(run, cell):
    path = data_dir() / "fewest_pairs" / run / "cells" / cell
    if not (path / "meta.json").is_file():
        pytest.skip(f"{run}/{cell} not run yet (bench/fewest_pairs.py --run {run})")
    return path, store.load(path, T.CELL_KIND)


def _ctx(run, path):
    return {"run": run, "root": path.parent.parent, "first": C.run_policy(run, 0), "trained": C.run_policy(run, -1),
            "dw": C.weight_change_target(run).vector}


def _direction(first, obs, actions, dw, method):
    """The cell's direction from its pairs, and the relative rounding bound of its computation: a float64 solve
    whose sums run over n terms, amplified by the condition number κ of the system (the ridge-regularised
    ΦᵀΦ + λL·I of behaviour cloning; the L gradients of the α projection)."""
    if method.startswith("bc_"):
        phi = first.features(obs).numpy()
        lhs = phi.T @ phi + 1e-3 * len(phi) * np.eye(phi.shape[1])  # F.cloned_pairs' default ridge
        return F.cloned_pairs(first, obs, actions, dw), phi.shape[1] * EPS * _condition(lhs)
    G = C.step_grads(first, obs, actions)
    fit = C.best_alpha_exact(G, dw)
    return F.Pairs(obs, actions, fit.direction, fit.alpha, fit.cosine, True), first.n_params * EPS * _condition(G)


def _assert_direction_close(direction, stored32, rel):
    """float64 directions that differ by rel·‖d‖∞ round to float32 values at most that plus one unit in the last
    place (of float32) apart."""
    d = np.asarray(direction, dtype=np.float64)
    bound = rel * np.abs(d).max() + np.spacing(np.abs(stored32).astype(np.float32)).astype(np.float64)
    diff = np.abs(d.astype(np.float32).astype(np.float64) - stored32.astype(np.float64))
    assert np.all(diff <= bound), f"{int((diff > bound).sum())} entries beyond the bound; largest {diff.max():.2e}"


@pytest.mark.parametrize("run, cell", CELLS)
def test_fewest_pairs_cells_hold_what_their_pairs_give(run, cell):
    """A shipped cell's pairs, checked without re-running its search: the open-loop replay of its actions gives
    its states bit for bit; an expert's actions are the trained policy's means there; its direction and cosine
    are what its pairs give, to the rounding of the solve."""
    path, art = _cell(run, cell)
    m, bench = art.meta, _bench()
    ctx = _ctx(run, path)
    obs, actions = art["obs"], art["actions"]
    assert obs.shape == (m["L"], 27) and actions.shape == (m["L"], 8) and art["direction"].shape == (3248,)
    if m["method"] in ("random", "bc_first"):  # one trajectory from the cell's start: MuJoCo only, no BLAS
        start = envs.reset_state("Ant-v5", bench.RESET_SEED + m["seed"])
        np.testing.assert_array_equal(envs.replay(start, actions[None], n_threads=1).obs[0, :-1], obs)
    if m["method"] == "random":
        np.testing.assert_array_equal(actions, F.random_actions(m["L"], m["seed"]))
    else:
        # the mean W φ(s) is a float64 sum over F features: rounding ≤ F·ε·Σ_j |W_ij φ_j|
        trained = ctx["trained"]
        phi = trained.features(obs).numpy()
        W = trained.flat().reshape(8, -1)
        bound = phi.shape[1] * EPS * (np.abs(phi) @ np.abs(W).T)
        assert np.all(np.abs(trained.mean(obs).detach().numpy() - actions) <= bound)
    pairs, rel = _direction(ctx["first"], obs, actions, ctx["dw"], m["method"])
    _assert_direction_close(pairs.direction, art["direction"], rel)
    assert pairs.cosine == pytest.approx(m["cosine"], abs=2 * rel)


@pytest.mark.slow
@pytest.mark.parametrize("run, cell", CELLS)
def test_fewest_pairs_cells_replay_from_their_seeds(run, cell):
    """bench/fewest_pairs.py rebuilds a shipped cell's pairs from its method, L and seed.

    Random actions: seeded draws and an open-loop replay, bit for bit. bc_first: the expert's first L steps, a
    closed loop through the trained policy's float64 mean; another BLAS code path moves its actions by ~1e-15 and
    the states by ~1e-14 over 16 steps (measured with torch's MKL_CBWR=AVX2), so CLOSED_LOOP_ATOL = 1e-9 leaves
    room while catching any other trajectory (states differ by O(1)). bc_subset: a greedy argmax over a
    1000-step expert episode, which another MKL path can end elsewhere (it falls at step 794 under MKL_CBWR=AVX2):
    the same pairs give the same direction, other pairs must land inside the shipped spread of the same (method, L)
    over seeds."""
    path, art = _cell(run, cell)
    m = art.meta
    ctx = _ctx(run, path)
    pairs = _bench().make_pairs(m["method"], m["L"], m["seed"], ctx)
    assert pairs.obs.shape == art["obs"].shape and pairs.actions.shape == art["actions"].shape
    if m["method"] == "random":
        np.testing.assert_array_equal(pairs.obs, art["obs"])
        np.testing.assert_array_equal(pairs.actions, art["actions"])
    same = (np.allclose(pairs.obs, art["obs"], rtol=0, atol=CLOSED_LOOP_ATOL)
            and np.allclose(pairs.actions, art["actions"], rtol=0, atol=CLOSED_LOOP_ATOL))
    if m["method"] != "bc_subset":
        assert same, f"max |Δobs| {np.abs(pairs.obs - art['obs']).max():.2e}: not the shipped trajectory"
    if same:
        _, rel = _direction(ctx["first"], art["obs"], art["actions"], ctx["dw"], m["method"])
        _assert_direction_close(pairs.direction, art["direction"], rel)
        assert pairs.cosine == pytest.approx(m["cosine"], abs=2 * rel)
    else:
        metas = [json.loads(p.read_text()) for p in path.parent.glob(f"{m['method']}_L{m['L']}_s*/meta.json")]
        lo, hi = _band([x["cosine"] for x in metas])
        assert lo <= pairs.cosine <= hi, f"cosine {pairs.cosine:.4f} outside the shipped spread [{lo:.4f}, {hi:.4f}]"


@pytest.mark.slow
def test_fewest_pairs_cell_gives_the_same_bits_twice_on_one_machine():
    run, cell = "ant_quad_sgd", "bc_subset_L8_s0"
    path, art = _cell(run, cell)
    bench, ctx = _bench(), _ctx(run, path)
    a, b = (bench.make_pairs("bc_subset", art.meta["L"], art.meta["seed"], ctx) for _ in range(2))
    for field in ("obs", "actions", "direction"):
        assert getattr(a, field).tobytes() == getattr(b, field).tobytes(), field
    assert a.cosine == b.cosine
