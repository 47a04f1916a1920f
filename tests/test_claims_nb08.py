"""Every number and verdict notebooks/08_which_constraint.ipynb prints about the ladder, recomputed from the raw cells
(data/ladder/<run>/cells/*/{meta.json, arrays.npz}, the trained policy under trained/, BC on expert pairs from
data/fewest_pairs/<run>/cells/*/meta.json) with json and numpy only, and the verdicts with the independent rule of
tests/claims_verdicts.py (scipy's Welch test, Holm written out, level 0.05, ≥ 5 seeds a side) — never with the
package's table or verdict helpers. The notebook's own table and verdict cells are run on the shipped cells and what
they print is compared with the recomputation; its prose and the README's ladder sentences are checked against it.
Nothing here assumes how many seeds or cells are shipped: it holds as cells are added."""

import json
import re
from pathlib import Path
from unittest import mock

import nbformat
import numpy as np
import pytest
from claims_verdicts import MIN_N, family, holm_adjusted, welch_p
from notebook_cells import cell_with, code_cells, run_sources

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "08_which_constraint.ipynb"
LADDER, FEWEST = ROOT / "data" / "ladder", ROOT / "data" / "fewest_pairs"
ORDER = ("shipped_traj", "reset_traj", "start_traj", "free_states", "free_obs")  # the table's row order
SEARCHED = ORDER[1:]  # adjacent rungs searched the same way: the ones compared
RUNS = tuple(r for r in ("ant_quad_best", "ant_quad_sgd") if list((LADDER / r / "cells").glob("*/meta.json")))
pytestmark = pytest.mark.skipif(not RUNS, reason="no ladder cell shipped yet")


def _fresh(folder):
    """(velocity = Σ v·length / Σ length, mean return, mean return without the alive bonus, mean length, episodes)."""
    with np.load(folder / "arrays.npz") as z:
        v, n = z["fresh_velocities"], z["fresh_lengths"]
        return (float(np.sum(v * n) / np.sum(n)), float(z["fresh_returns"].mean()),
                float(z["fresh_returns_minus_alive"].mean()), float(n.mean()), int(n.size))


def _cells(run):
    """Every cell of ``run``, read raw: meta.json as JSON plus its fresh-episode numbers from arrays.npz."""
    out = []
    for p in sorted((LADDER / run / "cells").glob("*/meta.json")):
        m = json.loads(p.read_text())
        v, ret, ret_ma, length, n_ep = _fresh(p.parent)
        out.append(dict(m, folder=p.parent, v=v, ret=ret, ret_ma=ret_ma, len=length, n_ep=n_ep))
    return out


def _trained(run):
    return _fresh(LADDER / run / "trained")[0]


def _rows(run):
    """One row per (method, L, budget), in the table's order: per-seed velocities and their spread, the fraction of
    the trained velocity, mean return / without alive bonus / length / search env steps."""
    groups = {}
    for c in _cells(run):
        groups.setdefault((c["method"], int(c["L"]), c.get("budget")), []).append(c)
    rows = []
    for (method, L, budget), cs in sorted(groups.items(), key=lambda kv: (ORDER.index(kv[0][0]), kv[0][1],
                                                                           kv[0][2] or 0)):
        cs = sorted(cs, key=lambda c: c["seed"])
        v = np.array([c["v"] for c in cs])
        rows.append(dict(run=run, method=method, L=L, budget=budget, n=v.size, seeds=[c["seed"] for c in cs], v=v,
                         mean=v.mean(), sd=v.std(ddof=1) if v.size > 1 else float("nan"), lo=v.min(), hi=v.max(),
                         fraction=v.mean() / _trained(run), steps=np.mean([c["search_env_steps"] for c in cs]),
                         ret=np.mean([c["ret"] for c in cs]), ret_ma=np.mean([c["ret_ma"] for c in cs]),
                         len=np.mean([c["len"] for c in cs])))
    return rows


def _expert(run, L, method="bc_first"):
    """Notebook 07's BC cells at L: the per-seed fresh velocities from their meta.json."""
    ms = [json.loads(p.read_text()) for p in sorted((FEWEST / run / "cells").glob("*/meta.json"))]
    return np.array([m["velocity"] for m in ms if m["method"] == method and int(m["L"]) == L])


def _base(rows):
    return min((r["budget"] for r in rows if r["budget"]), default=None)


def _pairs(run, labels):
    """The table's comparisons: at every L and base budget, each searched rung against the one below it, then the
    fastest searched rung against BC on the first L expert pairs; sides of ≥ 2 seeds. (a, b, label_a, label_b)."""
    rows = [r for r in _rows(run) if r["method"] != "shipped_traj"]
    pairs = []
    for L in sorted({r["L"] for r in rows}):
        at = {r["method"]: r for r in rows if r["L"] == L and r["budget"] == _base(rows)}
        present = [m for m in SEARCHED if m in at]
        pairs += [(at[hi]["v"], at[lo]["v"], f"{run} L={L} {labels[hi]}", labels[lo])
                  for lo, hi in zip(present, present[1:]) if min(at[lo]["n"], at[hi]["n"]) >= 2]
        e = _expert(run, L)
        best = max(present, key=lambda m: at[m]["mean"]) if present else None
        if best and e.size >= 2 and at[best]["n"] >= 2:
            pairs.append((at[best]["v"], e, f"{run} L={L} {labels[best]}", "BC on the first L expert pairs"))
    return pairs


def _sd(x):
    return "–" if np.isnan(x) else f"{x:.3f}"


@pytest.fixture(scope="module")
def nb():
    """Run the notebook's import and settings cells, then its table (§4), best-cell (§6, video stubbed) and verdict
    (§8) cells on the shipped cells; return (what they printed, their namespace)."""
    code = code_cells(NOTEBOOK)
    pick = [cell_with(code, "T0 = time.time()"), cell_with(code, "RUN = ", start=True)]
    needles = ("LT.format_table(", "best with ≤ 16 pairs", "LT.goal(", 'folder="expert_points"',
               'folder="generalisation"')
    pick += [cell_with(code, needle) for needle in needles]
    # the §6 cell (index 3) renders a video: keep its print, stub the rendering
    stub = {k: mock.MagicMock() for k in ("C", "video", "overlays")}
    return run_sources(pick, after={2: lambda ns: ns.update(stub, display=lambda *a: None)})


def test_rows_the_notebook_computes_and_prints_match_the_raw_cells(nb):
    """§4: per (run, rung, L, budget) the seeds, mean and sd of the per-seed fresh velocity, the fraction of the trained
    velocity and the search env steps in the notebook's ROWS (1e-6 relative) and in the printed table (every digit),
    the trained line, and BC on the first / greedy best L expert pairs."""
    out, ns = nb
    lines, labels = out.splitlines(), ns["LT"].LABELS
    assert sorted(ns["RUNS"]) == sorted(RUNS)
    for run in RUNS:
        mine = _rows(run)
        got = ns["ROWS"][run]
        assert [(r["method"], r["L"], r["budget"]) for r in got] == [(r["method"], r["L"], r["budget"]) for r in mine]
        for g, r in zip(got, mine):
            assert g["n"] == r["n"] and g["seeds"] == r["seeds"]
            for key, val in (("mean", g["velocity"]["mean"]), ("fraction", g["fraction"]),
                             ("steps", g["search_env_steps"])):
                assert val == pytest.approx(r[key], rel=1e-6, abs=1e-12), (run, r["method"], r["L"], key)
            if r["n"] > 1:
                assert g["velocity"]["sd"] == pytest.approx(r["sd"], rel=1e-6, abs=1e-12)
        with np.load(LADDER / run / "trained" / "arrays.npz") as z:
            head = (f"{run}: trained w_last {_trained(run):.2f} m/s, return {z['fresh_returns'].mean():.0f}, length "
                    f"{z['fresh_lengths'].mean():.0f} on {z['fresh_lengths'].size} fresh episodes")
        assert head in lines
        for r in mine:
            spread = f"{r['mean']:+.3f} ± {_sd(r['sd'])} [{r['lo']:+.3f}, {r['hi']:+.3f}]"
            budget = f"{r['budget']:,}" if r["budget"] else "nb 07"
            row = (f"{labels[r['method']]:38s} {r['L']:3d} {budget:>8s} {r['n']:2d} {spread:>38s} "
                   f"{r['fraction']:10.1%} {r['ret']:7.0f} {r['ret_ma']:7.0f} {r['len']:6.0f} {r['steps']:12,.0f}")
            assert row in lines, row
        for L in sorted({r["L"] for r in mine}):
            for how in ("bc_first", "bc_subset"):
                e = _expert(run, L, how)
                if e.size:
                    sd = _sd(e.std(ddof=1) if e.size > 1 else np.nan)
                    spread = f"{e.mean():+.3f} ± {sd} [{e.min():+.3f}, {e.max():+.3f}]"
                    label = f"BC on expert pairs ({how}, nb 07)"
                    assert (f"{label:38s} {L:3d} {'':>8s} {e.size:2d} {spread:>38s} "
                            f"{e.mean() / _trained(run):10.1%}") in lines


def test_verdicts_goal_and_best_cell_the_notebook_prints_match_the_raw_cells(nb):
    """§8: each comparison line (both sides' mean ± sd and n, Welch p, Holm p over the run's calls, the verdict words:
    "n = k: no verdict" below 5 seeds a side); the goal (best ≤ 16 pairs against 80 %, where 50 % is reached); the
    larger-budget lines; §6: the fastest single cell with ≤ 16 pairs."""
    out, ns = nb
    labels = ns["LT"].LABELS
    said = [x[2:] for x in out.splitlines() if x.startswith("- ")]
    expected = []
    allrows = [r for run in RUNS for r in _rows(run)]
    small = [r for r in allrows if r["L"] <= 16]
    b = max(small, key=lambda r: r["fraction"])
    searched_by = f"{b['budget']:,} env steps" if b["budget"] else "notebook 07's search"
    expected.append(f"Best with ≤ 16 manufactured pairs: {labels[b['method']]} on {b['run']} at L = {b['L']} "
                    f"({searched_by}, "
                    f"mean over {b['n']} seed{'s' if b['n'] > 1 else ''}): {b['mean']:.3f} m/s = {b['fraction']:.1%} "
                    f"of the trained policy; ≥ 80 % {'reached' if b['fraction'] >= 0.8 else 'NOT reached'}.")
    half = sorted((r for r in allrows if r["fraction"] >= 0.5), key=lambda r: r["L"])
    per = [max(rs, key=lambda r: r["fraction"]) for m in ORDER if (rs := [r for r in allrows if r["method"] == m])]
    expected.append(f"Smallest L where a rung's mean reaches 50 %: L = {half[0]['L']} ({labels[half[0]['method']]}, "
                    f"{half[0]['run']})." if half else
                    "No rung reaches 50 % of the trained velocity at any L measured; the best per rung: "
                    + "; ".join(f"{labels[r['method']]} {r['fraction']:.1%} (L = {r['L']})" for r in per) + ".")
    assert said[:2] == expected
    comps = [x for x in said if " vs " in x]
    i = 0
    for run in RUNS:
        pairs = _pairs(run, labels)
        calls = [k for k, (a, b_, *_) in enumerate(pairs) if min(a.size, b_.size) >= MIN_N]
        holm = dict(zip(calls, holm_adjusted([welch_p(*pairs[k][:2]) for k in calls])))
        for k, ((a, b_, la, lb), words) in enumerate(zip(pairs, family(pairs))):
            line = comps[i]
            i += 1
            assert line.startswith(f"{la} {a.mean():.3f} ± {a.std(ddof=1):.3f} m/s (n = {a.size}) vs {lb} "
                                   f"{b_.mean():.3f} ± {b_.std(ddof=1):.3f} m/s (n = {b_.size}): difference "
                                   f"{a.mean() - b_.mean():.3f} m/s"), (line, la, lb)
            assert f"p = {welch_p(a, b_):.3f}" in line and line.endswith(f" — {words}"), (line, words)
            if k in holm and len(calls) > 1:
                assert f"Holm p = {holm[k]:.3f} ({len(calls)} calls)" in line, line
    assert i == len(comps)
    big = [c for run in RUNS for c in _cells(run) if c["folder"].name.endswith(f"_b{c['budget']}")]
    for c in big:
        same = [r for r in _rows(c["run"])
                if r["method"] == c["method"] and r["L"] == c["L"] and r["budget"] != c["budget"]]
        base = f"{same[0]['mean']:+.3f} m/s over {same[0]['n']} seeds at {same[0]['budget']:,} steps" if same else "–"
        assert (f"larger budget: {labels[c['method']]}, L = {c['L']}, seed {c['seed']}: {c['search_env_steps']:,} env "
                f"steps → {c['v']:+.3f} m/s (the same rung at the base budget: {base})") in said
    assert len([x for x in said if x.startswith("larger budget")]) == len(big)
    run, c = max(((run, c) for run in RUNS for c in _cells(run) if c["L"] <= 16), key=lambda rc: rc[1]["v"])
    assert (f"best with ≤ 16 pairs: {run}, {labels[c['method']]}, L = {c['L']}, seed {c['seed']}: {c['v']:+.2f} m/s, "
            f"return {c['ret']:.0f}, length {c['len']:.0f} on {c['n_ep']} fresh episodes ({c['v'] / _trained(run):.0%} "
            f"of the trained {_trained(run):.2f} m/s)") in out.splitlines()


def _markdown():
    return " ".join(" ".join(c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells
                             if c.cell_type == "markdown").split())


def test_prose_facts_match_the_cells():
    """§4's protocol sentence (fresh episodes and horizon, the same episodes for every cell; rung 1's seeds; BC's 20
    fresh episodes; no cell outside the stated L, runs and five seeds) and §8's "L · 35 numbers" for rungs 3–4."""
    text = _markdown()
    n_ep, horizon = map(int, re.search(r"on (\d+) fresh (\d+)-step episodes", text).groups())
    cells = [c for run in RUNS for c in _cells(run)]
    fresh = {json.dumps(c["fresh"], sort_keys=True) for c in cells}
    fresh |= {json.dumps(json.loads((LADDER / r / "trained" / "meta.json").read_text())["fresh"], sort_keys=True)
              for r in RUNS}
    assert len(fresh) == 1 and all(c["n_ep"] == n_ep and c["fresh"]["horizon"] == horizon for c in cells)
    lo, hi = map(int, re.search(r"seeds (\d+)–(\d+), its own budget", text).groups())
    assert all(lo <= c["seed"] <= hi and c.get("budget") is None for c in cells if c["method"] == "shipped_traj")
    bc = int(re.search(r"its protocol: (\d+) fresh episodes", text).group(1))
    for run in RUNS:
        for p in (FEWEST / run / "cells").glob("bc_*/arrays.npz"):
            with np.load(p) as z:
                assert z["fresh_lengths"].size == bc, p
    m = re.search(r"L ∈ \{([\d, ]+)\} on `(\w+)` and at L = (\d+) on the study run `(\w+)`, (\w+) search seeds each",
                  text)
    planned = {(m[2], int(L)) for L in m[1].split(",")} | {(m[4], int(m[3]))}
    n_seeds = {"three": 3, "five": 5, "ten": 10}[m[5]]
    for c in cells:
        if c["method"] != "shipped_traj" and not c["folder"].name.endswith(f"_b{c['budget']}"):
            assert (c["run"], c["L"]) in planned and c["seed"] < n_seeds, c["folder"]
    per_pair = int(re.search(r"a search in L · (\d+) numbers", text).group(1))
    for c in cells:
        if c["method"] in ("free_states", "free_obs"):
            with np.load(c["folder"] / "arrays.npz") as z:
                assert z["u"].size == per_pair * c["L"], c["folder"]


def test_prose_and_readme_figures_are_ones_the_notebook_prints(nb):
    """Any "<number> %" or "<number> m/s" in notebook 08's prose, or in a README sentence about the ladder, appears in
    what the notebook's (checked) table and verdict cells print, to the digits quoted ("0 m/s" is the zero line of
    §4's progress figure, not a measured figure)."""
    out, _ = nb
    readme = [x for x in (ROOT / "README.md").read_text().splitlines()
              if re.search(r"ladder|rung|free obs|08_which", x, re.I)]
    for figure in re.findall(r"(?<![\d.])[−+-]?\d+(?:\.\d+)? ?(?:%|m/s)", " ".join([_markdown(), *readme])):
        f = figure.replace("−", "-")
        assert f == "0 m/s" or re.search(r"(?<![\d.])" + re.escape(f), out), figure


def _entries(run, folder):
    """bench/ladder.py's other entries (expert_points/, generalisation/), read raw like the cells."""
    out = []
    for p in sorted((LADDER / run / folder).glob("*/meta.json")):
        v, ret, ret_ma, length, n_ep = _fresh(p.parent)
        out.append(dict(json.loads(p.read_text()), folder=p.parent, v=v, len=length))
    return out


def _decode(u, limits):
    """Rung 3's decoding written out (notebook 08 §9.2): height, joints and velocities linear in u, the quaternion
    (1, 0, 0, 0) + 2u normalised."""
    z_lo, z_hi = limits["z"]
    lo, hi, vmax = np.array(limits["joint_low"]), np.array(limits["joint_high"]), limits["max_velocity"]
    s = np.empty_like(u)
    s[:, 0] = (z_lo + z_hi) / 2 + (z_hi - z_lo) / 2 * u[:, 0]
    q = np.array([1.0, 0, 0, 0]) + 2 * u[:, 1:5]
    s[:, 1:5] = q / np.linalg.norm(q, axis=1, keepdims=True)
    s[:, 5:13] = (lo + hi) / 2 + (hi - lo) / 2 * u[:, 5:13]
    s[:, 13:] = vmax * u[:, 13:]
    return s


def test_expert_points_are_rung3_datasets_and_the_notebook_prints_them(nb):
    """§8: each expert point holds notebook 07's bc_subset pairs moved into the limits by no more than its meta says,
    its obs are rung 3's decoding of its u, and the lines the notebook prints (per point, then the mean beside the
    rung-3 searches at the same L and base budget) match the raw numbers."""
    out, _ = nb
    lines = out.splitlines()
    shown = 0
    for run in RUNS:
        pts = _entries(run, "expert_points")
        limits = next(c["limits"] for c in _cells(run) if c["method"] == "free_states")
        for p in pts:
            L, src = p["L"], FEWEST / run / "cells" / f"bc_subset_L{p['L']}_s{p['seed']}"
            with np.load(src / "arrays.npz") as s, np.load(p["folder"] / "arrays.npz") as z:
                assert np.array_equal(z["actions"], np.clip(s["actions"], -1, 1))
                moved = np.abs(z["obs"] - s["obs"])
                assert moved[:, 5:13].max() <= p["max_joint_moved"] + 1e-12
                assert moved[:, 13:].max() <= p["max_velocity_moved"] + 1e-12
                u = z["u"]
                assert u.size == 35 * L and np.abs(u).max() <= 1
                assert np.allclose(_decode(u[: 27 * L].reshape(L, 27), limits), z["obs"], rtol=0, atol=1e-9)
            assert (f"- {run}, expert point (bc_subset L = {L}, seed {p['seed']}): {p['v']:+.3f} m/s = "
                    f"{p['v'] / _trained(run):.0%} of the trained, length {p['len']:.0f}; joints moved by ≤ "
                    f"{p['max_joint_moved']:.4f} rad, velocities by ≤ {p['max_velocity_moved']:.2f}, |action| ≤ "
                    f"{p['max_action']:.2f} before clipping") in lines
            shown += 1
        if pts:
            v, L = np.array([p["v"] for p in pts]), pts[0]["L"]
            r3 = min((r for r in _rows(run) if r["method"] == "free_states" and r["L"] == L), key=lambda r: r["budget"])
            assert (f"  {run}: rung 3 at L = {L} holds datasets walking at {v.mean():+.3f} ± {v.std(ddof=1):.3f} "
                    f"m/s ({v.mean() / _trained(run):.0%} of the trained, {v.size} expert episodes); its CMA-ES "
                    f"searches found {r3['mean']:+.3f} ± {r3['sd']:.3f} m/s ({r3['n']} seeds, {r3['budget']:,} env "
                    f"steps each)") in lines
    assert len([x for x in lines if "expert point (" in x]) == shown


def test_generalisation_lines_match_the_raw_entries(nb):
    out, _ = nb
    lines = out.splitlines()
    for run in RUNS:
        gen = _entries(run, "generalisation")
        for arch in sorted({g["architecture"] for g in gen}):
            gs = [g for g in gen if g["architecture"] == arch]
            v, src = np.array([g["v"] for g in gs]), np.array([g["source_velocity"] for g in gs])
            assert any(x.startswith(f"- {run}, {arch} policy cloned on the pairs of ") and x.endswith(
                f"({v.size} seeds): {v.mean():+.3f} ± {v.std(ddof=1):.3f} m/s, length "
                f"{np.mean([g['len'] for g in gs]):.0f}; the quadratic policy on the same pairs {src.mean():+.3f} ± "
                f"{src.std(ddof=1):.3f} m/s") for x in lines), (run, arch)


def test_what_the_ladder_says_holds_for_the_shipped_cells(nb):
    """The bullets of §8's "What the ladder says", as facts of the raw cells: every searched row stays upright
    (mean length ≥ 990 of 1000 steps) within 0.02 m/s of standing still, at every budget; no step up the ladder is
    significant; the rows that move are notebook 07's (shipped_traj); the expert points walk (≥ 50 % of the trained
    velocity) where the rung-3 searches do not; the generalisation clones stand still."""
    _, ns = nb
    text = _markdown()
    assert "What the ladder says" in text
    for run in RUNS:
        rows = _rows(run)
        for r in rows:
            if r["method"] != "shipped_traj":
                assert abs(r["mean"]) < 0.02 and r["len"] >= 990, (run, r["method"], r["L"], r["budget"])
            elif r["mean"] >= 0.02:
                assert r["method"] == "shipped_traj"
        pairs = _pairs(run, ns["LT"].LABELS)
        for (_a, _b, _la, lb), words in zip(pairs, family(pairs)):
            if not lb.startswith("BC"):
                assert "higher" not in words, (_la, lb, words)
        pts = _entries(run, "expert_points")
        if pts:
            assert np.mean([p["v"] for p in pts]) >= 0.5 * _trained(run), run
        for g in _entries(run, "generalisation"):
            assert abs(g["v"]) < 0.1, g["folder"]
    assert any(r["mean"] >= 0.02 for run in RUNS for r in _rows(run) if r["method"] == "shipped_traj")
