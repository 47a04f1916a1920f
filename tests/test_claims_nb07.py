"""Every verdict notebook 07 (§7) and the README state about the fewest-pairs tables, recomputed from the shipped
per-cell artifacts (data/fewest_pairs/<run>/cells/*/meta.json, read as plain JSON) with the independent rule of
tests/claims_verdicts.py (scipy's Welch test, Holm written out, ≥ 5 seeds a side) — not with the package's verdict
helpers — and the verdict rule itself on small made-up tables saved as real cells. The same for the refined
table (data/fewest_pairs/<run>/refined/, the same directions walked by the refined line search): its rows (n, mean ±
sd) and verdicts recomputed from its cells, checked against what notebook 07 prints (§5 the table, §7 its verdicts and
what changed from the 4-point table) and against the README's refined block."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from claims_verdicts import MIN_N, expected_words, family, holm_adjusted, one_sample_p, welch_p
from notebook_cells import code_cells

from gc_helpers import fewest_pairs_table as T
from gc_helpers import store
from gc_helpers.config import data_dir
from gc_research import fewest_pairs_build as build

RUNS = ("ant_quad_sgd", "ant_quad_best")
MANUFACTURED = ("cosine", "outer", "outer_long", "multi", "random")
EXPERT = ("bc_first", "bc_subset")
README = data_dir().parent / "README.md"
NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "07_fewest_pairs.ipynb"
REFINED = [r for r in RUNS if (data_dir() / "fewest_pairs" / r / "refined" / "table" / "meta.json").is_file()]


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
    out = {"goal": [], "L": {}, "answer": None, "head": head, "words": words,
           "called": {k for k, (a, b, *_) in zip(where, pairs) if min(len(a), len(b)) >= MIN_N}}
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
    shown = {(L, m, "bc_first") for L, (m, *_) in out["L"].items()}
    shown |= {(head, *out["answer"][:2])} if out["answer"] else set()
    out["others"] = sorted(out["called"] - shown)  # calls made with enough seeds that the lines above do not show
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
    others = [x for x in lines if re.match(r"L = \d+, \w+ vs \w+ \(", x)]
    assert len(others) == len(exp["others"]), (others, exp["others"])
    for L, m, e in exp["others"]:
        s = [x for x in others if x.startswith(f"L = {L}, {m} vs {e} (")]
        assert len(s) == 1 and s[0].endswith(f"{exp['words'][(L, m, e)]}; search env steps {m} "
                                             f"{np.mean([st for _, st in _cells(root)[(m, L)].values()]):,.0f} vs {e} "
                                             f"{np.mean([st for _, st in _cells(root)[(e, L)].values()]):,.0f}."), s


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


def _rows(root):
    """{(method, L): (n, mean, sd)} of forward velocity over seeds, from the cells' JSON with numpy."""
    out = {}
    for key, seeds in _cells(root).items():
        v = np.array([x for x, _ in seeds.values()])
        out[key] = (v.size, float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else float("nan"))
    return out


def _outcomes(root, v_tr):
    """({best-of line: its pick}, {comparison: verdict}) of one table, from ``_expected`` and the cells: what
    ``fewest_pairs_table.changes`` sets side by side."""
    exp, cells, rows = _expected(root, v_tr), _cells(root), _rows(root)
    picks, said = {}, {f"L = {L}: {m} vs {e}": w for (L, m, e), w in exp["words"].items()}
    for label, (m, L, _, word) in zip(("any pairs", "manufactured pairs (the goal)"), exp["goal"]):
        picks[f"best ≤ 16 {label}"] = f"{m} vs the 80 % bar at L = {L}"
        said[f"L = {L}: {m} vs the 80 % bar"] = word
    for L in sorted({L for _, L in cells}):
        if L in exp["L"]:
            picks[f"L = {L}"] = f"{exp['L'][L][0]} vs bc_first"
        elif ("bc_first", L) in rows and any((m, L) in rows for m in MANUFACTURED):
            m = max((m for m in MANUFACTURED if (m, L) in rows), key=lambda m: rows[(m, L)][1])
            picks[f"L = {L}"] = f"{m} vs bc_first"
            said[f"L = {L}: {m} vs bc_first"] = f"n = {min(rows[(m, L)][0], rows[('bc_first', L)][0])}: no verdict"
    if exp["answer"]:
        picks["answer"] = f"{exp['answer'][0]} vs {exp['answer'][1]} at L = {exp['head']}"
    return picks, said


def _refined(run):
    root = data_dir() / "fewest_pairs" / run / "refined"
    t = T.load_refined(run)
    assert t is not None and Path(t.path) == root / "table"
    return root, t


def _nb_code():
    return code_cells(NOTEBOOK)


@pytest.mark.parametrize("run", REFINED)
def test_refined_table_rows_and_verdicts_match_the_cells(run):
    """What notebook 07 prints for the refined table (§5 ``format_table``, §7 ``verdicts``), against the cells."""
    root, t = _refined(run)
    code = "\n".join(_nb_code())
    assert "T.load_refined(r)" in code and "T.format_table(t)" in code and "T.verdicts(t)" in code
    printed = T.format_table(t)
    for (m, L), (n, mean, sd) in _rows(root).items():
        hit = [x for x in printed if x.startswith(f"{m:10s} {L:4d} {n:2d} {mean:6.2f} ± {np.nan_to_num(sd):4.2f} ")]
        assert len(hit) == 1, (m, L, n, mean, sd)
    assert len(printed) == 2 + len(_rows(root))
    _check(T.verdicts(t), root, _reference_velocity(run))
    assert t.meta["protocol"]["line_search"] == "refined"
    assert f"β picked on {t.meta['protocol']['pick_episodes']} episodes" in T.line_search_text(t)


@pytest.mark.parametrize("run", REFINED)
def test_notebook_states_what_changed_from_the_4point_table(run):
    """§7's list: the mean velocity of every (method, L) row both tables have, then every verdict that differs."""
    root, t = _refined(run)
    assert any("T.changes(tables[r], REFINED[r])" in c for c in _nb_code())
    v_tr = _reference_velocity(run)
    old, new = _rows(root.parent), _rows(root)
    rows = [f"{m} L = {L}: 4-point {old[(m, L)][1]:.2f} m/s (n = {old[(m, L)][0]}) → refined {new[(m, L)][1]:.2f} "
            f"m/s (n = {new[(m, L)][0]}), {new[(m, L)][1] - old[(m, L)][1]:+.2f}"
            for m, L in sorted(new) if (m, L) in old]
    _check_changes(T.changes(T.load_table(run), t), rows, root.parent, root, v_tr)


def _check_changes(got, rows, old_root, new_root, v_tr):
    """``changes``' list against the row lines ``rows`` and the picks and verdicts recomputed from both tables."""
    (p0, s0), (p1, s1) = _outcomes(old_root, v_tr), _outcomes(new_root, v_tr)
    picks = [f"{k}, its pick: 4-point {p0[k]} → refined {v}" for k, v in p1.items() if k in p0 and v != p0[k]]
    moved = [f"{k}: 4-point {s0[k]} → refined {w}" for k, w in s1.items() if k in s0 and w != s0[k]]
    assert got[: len(rows)] == rows
    assert sorted(got[len(rows): len(rows) + len(picks)]) == sorted(picks)
    assert sorted(got[len(rows) + len(picks):]) == sorted(moved or ["no comparison both tables make changed its "
                                                                    "verdict (4-point → refined)"])


@pytest.mark.parametrize("run", REFINED)
def test_readme_refined_block_matches_the_cells(run):
    """The README's refined block for ``run``: its line search read from the artifacts, every row's mean ± sd (n)
    and every bullet, recomputed from the refined cells."""
    root, t = _refined(run)
    text = README.read_text()
    head = f"#### `{run}`, the same directions walked by the refined line search"
    block = re.split(r"\n#", text[text.index(head) + 1:], maxsplit=1)[0]
    p = t.meta["protocol"]
    assert f"β grid {', '.join(f'{b:g}' for b in p['betas'])}" in block and f"β picked on {p['pick_episodes']}" in block
    table = {x.split(" | ")[0][2:]: x.strip("| ").split(" | ")[1:] for x in block.splitlines() if x.startswith("| ")}
    Ls = [int(c[2:]) for c in table.pop("method")]
    for (m, L), (n, mean, sd) in _rows(root).items():
        cell = table[m][Ls.index(L)]
        assert cell.startswith(f"{mean:.2f} ({n})" if n < 2 else f"{mean:.2f} ± {sd:.2f} ({n})"), (m, L, cell)
    _check([x[2:] for x in block.splitlines() if x.startswith("- ")], root, _reference_velocity(run))


def test_calls_beyond_the_best_and_what_changed(tmp_path):
    """Made-up tables: with 5 seeds a side, a comparison that is not the best of its L still gets its own line, and
    ``changes`` names each verdict that differs from a 3-seed table of the same rows."""
    rng = np.random.default_rng(1)
    five = {("bc_first", 16): list(1.5 + 0.1 * rng.standard_normal(5)), ("bc_subset", 16): [1.6, 1.7, 1.8, 1.65, 1.75],
            ("outer", 16): [0.2, 1.9, 0.1, 0.3, 0.5], ("random", 16): [0.0, 0.01, -0.01, 0.0, 0.02],
            ("cosine", 16): [0.3, 0.4, 0.2, 0.35, 0.25]}
    new = _fake(tmp_path / "new", five)
    old = _fake(tmp_path / "old", {k: v[:3] for k, v in five.items()})
    lines = T.verdicts(new)
    _check(lines, tmp_path / "new", 2.0)
    assert any(x.startswith("L = 16, random vs bc_first (") for x in lines)
    got = T.changes(old, new)
    assert "L = 16: random vs bc_first: 4-point n = 3: no verdict → refined bc_first higher (at level 0.05)" in got
    rows = [f"{m} L = {L}: 4-point {np.mean(v[:3]):.2f} m/s (n = 3) → refined {np.mean(v):.2f} m/s (n = 5), "
            f"{np.mean(v) - np.mean(v[:3]):+.2f}" for (m, L), v in sorted(five.items())]
    _check_changes(got, rows, tmp_path / "old", tmp_path / "new", 2.0)
