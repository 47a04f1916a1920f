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
