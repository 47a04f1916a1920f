"""Every verdict notebook 07 (§7) and the README state about the fewest-pairs tables, recomputed from the shipped
per-cell artifacts (data/fewest_pairs/<run>/cells/*/meta.json, read as plain JSON) with the independent rule of
tests/claims_verdicts.py (scipy's Welch test, Holm written out, ≥ 5 seeds a side) — not with the package's verdict
helpers — and the verdict rule itself on small made-up tables saved as real cells."""

import json
import re

import numpy as np
import pytest
from claims_verdicts import MIN_N, expected_words, family, holm_adjusted, one_sample_p, welch_p

from gc_helpers import fewest_pairs_table as T
from gc_helpers import store
from gc_helpers.config import data_dir
from gc_research import fewest_pairs_build as build

RUNS = ("ant_quad_sgd", "ant_quad_best")
MANUFACTURED = ("cosine", "outer", "outer_long", "multi", "random")
EXPERT = ("bc_first", "bc_subset")
README = data_dir().parent / "README.md"


def _reference_velocity(run):
    """The run's one reference velocity, read independently: the shipped w_last evaluation with most episodes."""
    found = []
    dec = data_dir() / "decompressed_seeds" / run / "reference"
    if (dec / "meta.json").is_file() and json.loads((dec / "meta.json").read_text())["horizon"] == 1000:
        v = np.load(dec / "arrays.npz")["last_velocity"]
        found.append((v.size, float(v.mean())))
    m = json.loads((data_dir() / "fewest_pairs" / run / "trained" / "meta.json").read_text())
    found.append((m["n_episodes"], m["velocity"]))
    return max(found)[1]


def _cells(root):
    """{(method, L): {seed: (velocity, search env steps)}} read straight from the cells' JSON."""
    out = {}
    for meta in sorted((root / "cells").glob("*/meta.json")):
        m = json.loads(meta.read_text())
        out.setdefault((m["method"], int(m["L"])), {})[int(m["seed"])] = (float(m["velocity"]),
                                                                           float(m["search_env_steps"]))
    return out


def _v(cells, key):
    return [v for v, _ in cells.get(key, {}).values()]


def _expected(root, v_tr):
    """The lines' key facts, recomputed: {"goal": [...], "L": {L: (method, mean, words)}, "answer": (...)}."""
    cells = _cells(root)
    Ls = sorted({L for _, L in cells})
    both = [L for L in Ls if L <= 64 and any((m, L) in cells for m in MANUFACTURED)
            and any((e, L) in cells for e in EXPERT)]
    head = both[-1] if both else None
    pairs, where = [], []
    for L in Ls:
        for m in MANUFACTURED:
            for e in (EXPERT if L == head else ("bc_first",)):
                a, b = _v(cells, (m, L)), _v(cells, (e, L))
                if len(a) >= 2 and len(b) >= 2:
                    pairs.append((a, b, m, e))
                    where.append((L, m, e))
    words = dict(zip(where, family(pairs)))
    out = {"goal": [], "L": {}, "answer": None, "head": head}
    small = {k: np.mean(_v(cells, k)) for k in cells if k[1] <= 16}
    for names in (None, MANUFACTURED):
        pool = {k: v for k, v in small.items() if names is None or k[0] in names}
        if pool:
            (m, L), mean = max(pool.items(), key=lambda kv: kv[1])
            seeds = _v(cells, (m, L))
            p = one_sample_p(seeds, 0.8 * v_tr)
            word = (f"n = {len(seeds)}: no verdict" if len(seeds) < MIN_N else
                    "no significant difference at level 0.05" if p > 0.05 else
                    f"{m} L = {L} higher (at level 0.05)" if mean > 0.8 * v_tr else
                    "the 80 % bar higher (at level 0.05)")
            out["goal"].append((m, L, mean, word))
    for L in Ls:
        ms = [m for m in MANUFACTURED if (L, m, "bc_first") in words]
        if ms:
            m = max(ms, key=lambda m: np.mean(_v(cells, (m, L))))
            out["L"][L] = (m, np.mean(_v(cells, (m, L))), words[(L, m, "bc_first")])
    if head is not None:
        ms = [m for m in MANUFACTURED if (head, m, "bc_first") in words]
        es = [e for e in EXPERT if (e, head) in cells]
        if ms and es:
            m = max(ms, key=lambda m: np.mean(_v(cells, (m, head))))
            e = max(es, key=lambda e: np.mean(_v(cells, (e, head))))
            out["answer"] = (m, e, words[(head, m, e)], cells[(m, head)], cells[(e, head)])
    return out


def _check(lines, root, v_tr):
    exp = _expected(root, v_tr)
    goal = [s for s in lines if s.startswith("Best with ≤ 16")]
    assert len(goal) == len(exp["goal"])
    for s, (m, L, mean, word) in zip(goal, exp["goal"]):
        assert f"{m} at L = {L}, mean {mean:.2f} m/s" in s and s.endswith(word + "."), (s, word)
    for L, (m, mean, word) in exp["L"].items():
        s = [x for x in lines if x.startswith(f"L = {L}: ")]
        assert len(s) == 1 and f"— {m} {mean:.2f}" in s[0] and word in s[0], (s, m, mean, word)
        assert "search env steps" in s[0]
    if exp["answer"]:
        m, e, word, sm, se = exp["answer"]
        s = [x for x in lines if x.startswith("Answer")]
        assert len(s) == 1 and f"equal L = {exp['head']}" in s[0] and word in s[0], (s, word)
        steps = lambda c: f"{np.mean([st for _, st in c.values()]):,.0f}"  # noqa: E731
        assert f"search env steps {m} {steps(sm)} vs {e} {steps(se)}" in s[0]


def _table(run):
    if not (T.results_dir(run) / "table" / "meta.json").is_file():
        pytest.skip(f"no shipped table for {run} yet (bench/fewest_pairs.py --run {run})")
    return T.load_table(run)


@pytest.mark.parametrize("run", RUNS)
def test_printed_verdicts_match_the_cells(run):
    root = data_dir() / "fewest_pairs" / run
    _check(T.verdicts(_table(run)), root, _reference_velocity(run))


@pytest.mark.parametrize("run", RUNS)
def test_readme_states_verdicts_that_match_the_cells(run):
    """The README's bullets under this run's table, checked against the cells (not against `verdicts`' output)."""
    root = data_dir() / "fewest_pairs" / run
    v_tr = _reference_velocity(run)
    text = README.read_text()
    block = text[text.index(f"`{run}` (trained policy"):]
    block = re.split(r"\n`ant_quad_|\n#", block[1:], maxsplit=1)[0]
    bullets = [x[2:] for x in block.splitlines() if x.startswith("- ")]
    _check(bullets, root, v_tr)


def _fake(tmp_path, rows, trained=2.0):
    """A real table under tmp_path from {(method, L): [velocities]}: cells saved with store, then build_table."""
    for (m, L), vs in rows.items():
        for s, v in enumerate(vs):
            store.save(tmp_path / "cells" / f"{m}_L{L}_s{s}", T.CELL_KIND, {"x": np.zeros(1)},
                       {"method": m, "L": L, "seed": s, "run": "fake", "env_id": "Ant-v5", "protocol": {},
                        **{c: (v if c == "velocity" else 1.0) for c in build.COLUMNS}})
    store.save(tmp_path / "trained", T.REFERENCE_KIND, {"x": np.zeros(1)},
               {"velocity": trained, "return": 1.0, "stderr": 1.0, "return_minus_alive": 1.0, "length": 1000.0,
                "env_steps": 1, "n_episodes": 50})
    build.build_table(tmp_path)
    return T.load_table(root=tmp_path)


def test_verdicts_need_five_seeds_and_call_a_clear_gap(tmp_path):
    five = _fake(tmp_path / "a", {("bc_first", 16): [1.8, 1.9, 2.0, 1.85, 1.95], ("cosine", 16): [0.0, 0.01, 0.02,
                                                                                                   0.03, 0.0]})
    line = [s for s in T.verdicts(five) if s.startswith("L = 16")][0]
    assert line.endswith("bc_first higher (at level 0.05); search env steps cosine 1 vs bc_first 1")
    three = _fake(tmp_path / "b", {("bc_first", 16): [1.8, 1.9, 2.0], ("cosine", 16): [0.0, 0.01, 0.02]})
    assert "n = 3: no verdict" in [s for s in T.verdicts(three) if s.startswith("L = 16")][0]
    noisy = _fake(tmp_path / "c", {("bc_first", 8): [0.1, 1.9, 1.0, 0.5, 1.2], ("outer", 8): [1.7, 0.2, 0.6, 1.0,
                                                                                             0.9]})
    assert "no significant difference" in [s for s in T.verdicts(noisy) if s.startswith("L = 8")][0]


def test_holm_counts_every_manufactured_method(tmp_path):
    """Five methods against BC at one L: the best one's p is corrected for all five comparisons."""
    rng = np.random.default_rng(0)
    rows = {("bc_first", 16): list(1.0 + 0.1 * rng.standard_normal(5))}
    for k, m in enumerate(MANUFACTURED):
        rows[(m, 16)] = list(1.12 + 0.02 * k + 0.1 * rng.standard_normal(5))
    t = _fake(tmp_path, rows)
    line = [s for s in T.verdicts(t) if s.startswith("L = 16")][0]
    ps = [welch_p(rows[(m, 16)], rows[("bc_first", 16)]) for m in MANUFACTURED]
    best = max(MANUFACTURED, key=lambda m: np.mean(rows[(m, 16)]))
    q = holm_adjusted(ps)[MANUFACTURED.index(best)]
    assert f"Holm p = {q:.3f}" in line
    assert expected_words(rows[(best, 16)], rows[("bc_first", 16)], best, "bc_first", q) in line
    assert re.search(r"best manufactured of 5", line)
