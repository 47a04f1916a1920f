"""The multi-seed artifacts replay from their seeds: a spread sweep's search, rerun with its recorded settings and
seed, finds the same cosines; the decompression-over-seeds directions are those searches' prefixes."""

import numpy as np
import pytest

from gc_helpers import compression as C
from gc_helpers import store
from gc_helpers.config import data_dir

SPREAD = data_dir() / "spread" / "ant_quad_sgd_recommended"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["weight_change_s0", "random_s3"])
def test_spread_sweep_replays_from_its_seed(name):
    art = store.load(SPREAD / name, "spread")
    m = art.meta
    policy = C.run_policy(m["run"], 0)
    target = (C.weight_change_target(m["run"]) if m["target_name"] == "weight_change"
              else C.random_target(policy.n_params, m["seed"]))
    lengths = [int(L) for L in art["lengths"] if L <= 100]
    res = C.search(policy, target, max_length=max(lengths), seed=m["seed"], lengths=lengths, **m["settings"])
    np.testing.assert_array_equal(res.curve, art["cosine"][: len(lengths)])


def test_decompressed_directions_are_the_spread_searches():
    folder = data_dir() / "decompressed_seeds" / "ant_quad_sgd"
    for seed in (0, 1, 2):
        spread = store.load(SPREAD / f"weight_change_s{seed}", "spread")
        at = dict(zip(spread["lengths"].tolist(), spread["cosine"].tolist()))
        for L in (50, 100, 200, 490):
            got = store.load(folder / f"compressed_L{L}_s{seed}", "decompressed_seed").meta["cosine"]
            assert got == pytest.approx(at[L], abs=1e-9), (seed, L)


@pytest.mark.parametrize("run, cell", [("ant_quad_sgd", "random_L16_s1"), ("ant_quad_sgd", "bc_first_L16_s2"),
                                       ("ant_quad_sgd", "bc_subset_L8_s0"), ("ant_quad_best", "bc_first_L16_s0")])
def test_fewest_pairs_cells_replay_from_their_seeds(run, cell):
    """bench/fewest_pairs.py rebuilds a shipped cell's pairs and direction from its method, L and seed."""
    import importlib.util

    from gc_helpers import fewest_pairs_table as T
    from gc_helpers.config import project_root

    path = data_dir() / "fewest_pairs" / run / "cells" / cell
    if not (path / "meta.json").is_file():
        pytest.skip(f"{run}/{cell} not run yet (bench/fewest_pairs.py --run {run})")
    art = store.load(path, T.CELL_KIND)
    spec = importlib.util.spec_from_file_location("bench_fewest_pairs", project_root() / "bench" / "fewest_pairs.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    ctx = {"run": run, "root": path.parent.parent, "first": C.run_policy(run, 0), "trained": C.run_policy(run, -1),
           "dw": C.weight_change_target(run).vector}
    pairs = bench.make_pairs(art.meta["method"], art.meta["L"], art.meta["seed"], ctx)
    np.testing.assert_array_equal(pairs.obs, art["obs"])
    np.testing.assert_array_equal(pairs.actions, art["actions"])
    np.testing.assert_array_equal(pairs.direction.astype(np.float32), art["direction"])
    assert pairs.cosine == art.meta["cosine"]
