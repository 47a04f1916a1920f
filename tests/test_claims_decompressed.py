"""The earlier-protocol decompression artifact (data/decompressed/ant_quad_sgd, notebook 05 §7 and the README's
"Earlier decompression" section) against what bench/iterated_decompression.py, its recorded command, computes from
the shipped inputs: the protocol it says it followed, the directions' cosines and R(w_first)."""

import importlib.util
import json

import numpy as np
import pytest

from gc_helpers import rollouts, store
from gc_helpers.config import data_dir, project_root
from gc_helpers.training import load_run

RUN = "ant_quad_sgd"


def _bench():
    path = project_root() / "bench" / "iterated_decompression.py"
    spec = importlib.util.spec_from_file_location("bench_iterated_decompression", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def shipped():
    return store.load(data_dir() / "decompressed" / RUN, "decompressed", run=RUN)


def test_the_manifest_records_the_bench_command():
    commands = json.loads((data_dir() / "MANIFEST.json").read_text())["commands"]
    assert commands[f"decompressed/{RUN}"].startswith(".venv/bin/python bench/iterated_decompression.py")


def test_the_artifact_follows_the_protocol_the_script_states(shipped):
    b, m = _bench(), shipped.meta
    labels = [f"compressed L={L}" for L in b.LENGTHS] + ["exact Δw", f"BC direction L={max(b.LENGTHS)}",
                                                         f"REINFORCE L={max(b.LENGTHS)}"]
    assert [str(x) for x in shipped["labels"]] == labels
    for row in shipped["betas"]:
        np.testing.assert_array_equal(row, b.BETAS)
    assert set(shipped["n_episodes"].tolist()) == {b.EPISODES} and m["horizon"] == b.HORIZON
    assert m["round_betas"] == list(b.ROUND_BETAS) and m["round_length"] == max(b.LENGTHS)
    assert len(shipped["round_returns"]) == len(m["alpha_step_returns"]) == b.ROUNDS
    assert m["compressed"] == f"{RUN}_weight_change"
    compressed = store.load(data_dir() / "compressed" / m["compressed"], "compressed")
    assert m["compressed_saved_at"] == compressed.meta["saved_at"]


def test_each_round_residual_follows_from_its_cosine_and_picked_beta(shipped):
    """With the exact α the compressed step d is the target's projection on the gradients' span, so a step β d
    leaves r_k² = r_{k−1}² (1 − (2β − β²) cos_k²): never larger for β in (0, 2], unchanged at β = 2. The stored
    residuals, cosines and picked β must agree with that, and every picked β must lie on the stated grid."""
    b = _bench()
    r = np.r_[1.0, shipped["round_residuals"]]
    cos, beta = shipped["round_cosines"], shipped["round_picked_betas"]
    assert set(beta.tolist()) <= set(b.ROUND_BETAS)
    np.testing.assert_allclose(r[1:] ** 2, r[:-1] ** 2 * (1 - (2 * beta - beta ** 2) * cos ** 2), rtol=1e-6)
    assert np.all(np.diff(r) <= 1e-12), "a step of at most 2× the projection never moves away from w_last"


def test_cosines_and_r_first_recomputed_from_the_shipped_inputs(shipped):
    """The compressed prefixes' cosines (least squares on the stored trajectory), the exact Δw's, REINFORCE's and
    BC's (a ridge solve: looser, its digits depend on the BLAS kernel) and R(w_first) on the 20 stated episodes."""
    b = _bench()
    run = load_run(RUN)
    first, trained = run.policy(0), run.policy(-1)
    _, cosines, _, _ = b.directions(RUN, first, trained, run.weight_change)
    stored = shipped.meta["cosines"]
    assert set(cosines) == set(stored)
    for label, c in cosines.items():
        assert c == pytest.approx(stored[label], abs=1e-2 if label.startswith("BC") else 1e-6), label
    ev = rollouts.evaluate(run.env_id, first.mean_fn(), b.EPISODES, b.HORIZON, seed=b.EVAL_SEED)
    assert ev.mean_return == pytest.approx(shipped.meta["r_first"], rel=1e-4)
    assert ev.stderr == pytest.approx(shipped.meta["r_first_stderr"], rel=1e-2, abs=1e-3)
