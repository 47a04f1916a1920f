"""Every conclusion notebook 07 (§7) and the README state about the fewest-pairs tables, recomputed independently
from the shipped per-cell artifacts (data/fewest_pairs/<run>/cells/*/meta.json, read as plain JSON), and the verdict
rules themselves on made-up tables where the answer is known."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from gc_helpers import fewest_pairs_table as T
from gc_helpers.config import data_dir
from tools import report

RUNS = ("ant_quad_sgd", "ant_quad_best")
MANUFACTURED = {"cosine", "outer", "outer_long", "multi", "random"}


def _cells(run):
    """{(method, L): [fresh velocity per seed]} read straight from the cells' JSON."""
    out = {}
    for meta in sorted((data_dir() / "fewest_pairs" / run / "cells").glob("*/meta.json")):
        m = json.loads(meta.read_text())
        out.setdefault((m["method"], int(m["L"])), []).append(float(m["velocity"]))
    return out


def _table(run):
    if not (T.results_dir(run) / "table" / "meta.json").is_file():
        pytest.skip(f"no shipped table for {run} yet (bench/fewest_pairs.py --run {run})")
    return T.load_table(run)


@pytest.mark.parametrize("run", RUNS)
def test_the_goal_verdict_matches_the_cells(run):
    table, cells = _table(run), _cells(run)
    v_tr = json.loads((data_dir() / "fewest_pairs" / run / "trained" / "meta.json").read_text())["velocity"]
    small = {k: np.mean(v) for k, v in cells.items() if k[1] <= 16 and k[0] in MANUFACTURED}
    (m, L), v = max(small.items(), key=lambda kv: kv[1])
    said = [s for s in T.verdicts(table) if s.startswith("Best with ≤ 16 manufactured")]
    assert len(said) == 1 and f"{m} at L = {L}" in said[0] and f"{v:.2f} m/s" in said[0]
    assert ("NOT reached" in said[0]) == (v < 0.8 * v_tr)


@pytest.mark.parametrize("run", RUNS)
def test_the_answer_matches_the_cells(run):
    """'expert pairs teach more' (or the opposite) only when the gap exceeds twice its standard error over seeds."""
    table, cells = _table(run), _cells(run)
    def best(names):
        return max(((k, v) for k, v in cells.items() if k[0] in names and k[1] <= 64), key=lambda kv: np.mean(kv[1]))
    (_, a), (_, b) = best(MANUFACTURED), best({"bc_first", "bc_subset"})
    said = [s for s in T.verdicts(table) if s.startswith("Answer")][0]
    if min(len(a), len(b)) < 2:
        assert "no spread to judge" in said
        return
    gap = np.mean(a) - np.mean(b)
    se = np.hypot(np.std(a, ddof=1) / np.sqrt(len(a)), np.std(b, ddof=1) / np.sqrt(len(b)))
    want = ("manufactured pairs teach more" if gap > max(0.02, 2 * se) else
            "expert pairs teach more" if gap < -max(0.02, 2 * se) else "no clear winner")
    assert said.endswith(want + ".")


def test_readme_states_the_verdicts_of_every_shipped_table():
    text = "\n".join(report.fewest_pairs_tables())
    for run in RUNS:
        if (T.results_dir(run) / "table" / "meta.json").is_file():
            for v in T.verdicts(T.load_table(run)):
                assert f"- {v}" in text


def _fake(rows, trained=2.0):
    """A table-like object from {(method, L): [velocities]}."""
    cells = [SimpleNamespace(meta={"method": m, "L": L, "seed": i, **{c: v for c in T.COLUMNS}})
             for (m, L), vs in rows.items() for i, v in enumerate(vs)]
    return _Table(T.aggregate(cells), trained)


class _Table:
    def __init__(self, arrays, trained):
        self.arrays, self.meta = arrays, {"trained": {"velocity": trained, "n_episodes": 50}}

    def __getitem__(self, key):
        return self.arrays[key]


def test_verdicts_call_a_clear_gap_and_refuse_a_noisy_one():
    clear = T.verdicts(_fake({("bc_first", 16): [1.8, 1.9, 2.0], ("cosine", 16): [0.0, 0.01, 0.02]}))
    assert any("L = 16" in s and "BC wins" in s for s in clear)
    assert any(s.startswith("Answer") and "expert pairs teach more" in s for s in clear)
    assert any("manufactured pairs (the goal)" in s and "NOT reached" in s for s in clear)
    noisy = T.verdicts(_fake({("bc_first", 16): [0.1, 1.9, 1.0], ("outer", 16): [1.7, 0.2, 0.6]}))
    assert any("L = 16" in s and "no clear winner" in s for s in noisy)
    won = T.verdicts(_fake({("bc_first", 8): [0.1, 0.2, 0.1], ("outer_long", 8): [1.7, 1.8, 1.75]}))
    assert any("L = 8" in s and "manufactured wins" in s for s in won)
    assert any("manufactured pairs (the goal)" in s and ": ≥ 80 % reached" in s for s in won)
    one = T.verdicts(_fake({("bc_first", 64): [1.0], ("cosine", 64): [1.5]}))
    assert any("no spread to judge" in s for s in one)
