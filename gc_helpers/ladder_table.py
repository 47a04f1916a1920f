"""The ladder's table: bench/ladder.py's cells aggregated over search seeds, the goal and the verdicts.

Taught in notebooks/08_which_constraint.ipynb (§4 the ladder, §8 what we saw). Layout under data/ladder/<run>/:
``cells/<method>_L<L>_s<seed>[_b<budget>]/`` (one search: its dataset, weights and per-episode fresh numbers) and
``trained/`` (w_last on the same fresh episodes), ``generalisation/`` (a linear or MLP policy cloned on a cell's pairs)
and ``expert_points/`` (notebook 07's expert pairs written as a rung-3 dataset). The table is computed from the
cells when read (no stored copy).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from . import store

CELL_KIND = "ladder_cell"
REFERENCE_KIND = "ladder_reference"
RUNS = ("ant_quad_best", "ant_quad_sgd")
METHODS = ("shipped_traj", "reset_traj", "start_traj", "free_states", "free_obs")
RUNG_OF = {"shipped_traj": 1, "reset_traj": 1, "start_traj": 2, "free_states": 3, "free_obs": 4}
LABELS = {"shipped_traj": "1 reset-state trajectory (nb 07)", "reset_traj": "1 reset-state trajectory (CMA-ES)",
          "start_traj": "2 searched start state", "free_states": "3 free physical states",
          "free_obs": "4 free observations"}
LADDER = ("reset_traj", "start_traj", "free_states", "free_obs")  # adjacent rungs searched the same way


def results_dir(run: str = "ant_quad_best", root=None) -> Path:
    """data/ladder/<run>/ (or <root>/<run>/)."""
    if not isinstance(run, str) or not run:
        raise ValueError(f"run={run!r}: a run name such as 'ant_quad_best'")
    if root is None:
        from .config import data_dir

        root = data_dir() / "ladder"
    return Path(root) / run


def load_cells(run: str = "ant_quad_best", root=None, folder: str = "cells") -> list[store.Artifact]:
    """Every finished cell of ``run``, sorted by method, L, budget, seed; ``folder`` "generalisation" or
    "expert_points" reads bench/ladder.py's other entries (notebook 08 §8)."""
    if folder not in ("cells", "generalisation", "expert_points"):
        raise ValueError(f"folder={folder!r}: allowed 'cells', 'generalisation', 'expert_points'")
    d = results_dir(run, root) / folder
    cells = [store.load(p, CELL_KIND) for p in sorted(d.glob("*")) if (p / "meta.json").is_file()]
    return sorted(cells, key=lambda a: (a.meta["method"], a.meta["L"], a.meta.get("budget") or 0, a.meta["seed"]))


def trained(run: str = "ant_quad_best", root=None) -> dict | None:
    """w_last's numbers on the ladder's fresh episodes (None before bench/ladder.py has evaluated it)."""
    p = results_dir(run, root) / "trained"
    return store.load(p, REFERENCE_KIND).meta if (p / "meta.json").is_file() else None


def _spread(v) -> dict:
    v = np.asarray(v, dtype=np.float64)
    return {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if v.size > 1 else math.nan,
            "min": float(v.min()), "max": float(v.max())}


def rows(run: str = "ant_quad_best", root=None) -> list[dict]:
    """One row per (method, L, budget): per-seed fresh velocities and their mean / sd / min / max, the fraction of
    the trained velocity, mean return, return without the alive bonus, episode length and search env steps."""
    ref = trained(run, root)
    groups: dict[tuple, list] = {}
    for c in load_cells(run, root):
        m = c.meta
        groups.setdefault((m["method"], int(m["L"]), m.get("budget")), []).append(c)
    out = []
    for (method, L, budget), cells in sorted(groups.items(), key=lambda kv: (METHODS.index(kv[0][0]), kv[0][1],
                                                                              kv[0][2] or 0)):
        v = [c.meta["velocity"] for c in cells]
        row = {"run": run, "method": method, "rung": RUNG_OF[method], "L": L, "budget": budget,
               "seeds": [int(c.meta["seed"]) for c in cells], "n": len(cells), "velocities": v,
               "velocity": _spread(v), "return": float(np.mean([c.meta["return"] for c in cells])),
               "return_minus_alive": float(np.mean([c.meta["return_minus_alive"] for c in cells])),
               "length": float(np.mean([c.meta["length"] for c in cells])),
               "search_env_steps": float(np.mean([c.meta["search_env_steps"] for c in cells])),
               "n_episodes": int(cells[0].meta["fresh"]["n_episodes"])}
        row["fraction"] = row["velocity"]["mean"] / ref["velocity"] if ref else math.nan
        out.append(row)
    return out


def expert_row(run: str, L: int, method: str = "bc_first") -> dict | None:
    """Behaviour cloning on L expert pairs, from notebook 07's shipped cells (data/fewest_pairs/<run>/cells):
    per-seed fresh velocities (its own protocol: β picked on other episodes, 20 fresh ones)."""
    from . import fewest_pairs_table as FT

    v = [c.meta["velocity"] for c in FT.load_cells(FT.results_dir(run)) if c.meta["method"] == method
         and int(c.meta["L"]) == int(L)]
    return {"method": method, "L": int(L), "n": len(v), "velocities": v, "velocity": _spread(v)} if v else None


def _fmt(s: dict) -> str:
    sd = "–" if math.isnan(s["sd"]) else f"{s['sd']:.3f}"
    return f"{s['mean']:+.3f} ± {sd} [{s['min']:+.3f}, {s['max']:+.3f}]"


def format_table(run: str = "ant_quad_best", root=None) -> list[str]:
    """The ladder of one run as aligned lines: velocity mean ± sd [min, max] over seeds, fraction of trained."""
    ref = trained(run, root)
    head = f"{run}: no reference yet"
    if ref:
        head = (f"{run}: trained w_last {ref['velocity']:.2f} m/s, return {ref['return']:.0f}, length "
                f"{ref['length']:.0f} on {ref['fresh']['n_episodes']} fresh episodes")
    title = "velocity m/s: mean ± sd [min, max]"
    lines = [head, f"{'rung':38s} {'L':>3s} {'budget':>8s} {'n':>2s} {title:>38s} "
                   f"{'of trained':>10s} {'return':>7s} {'−alive':>7s} {'length':>6s} {'search steps':>12s}"]
    for r in rows(run, root):
        budget = f"{r['budget']:,}" if r["budget"] else "nb 07"
        lines.append(f"{LABELS[r['method']]:38s} {r['L']:3d} {budget:>8s} {r['n']:2d} {_fmt(r['velocity']):>38s} "
                     f"{r['fraction']:10.1%} {r['return']:7.0f} {r['return_minus_alive']:7.0f} {r['length']:6.0f} "
                     f"{r['search_env_steps']:12,.0f}")
    for L in sorted({r["L"] for r in rows(run, root)}):
        for m in ("bc_first", "bc_subset"):
            e = expert_row(run, L, m)
            if e:
                lines.append(f"{'BC on expert pairs (' + m + ', nb 07)':38s} {L:3d} {'':>8s} {e['n']:2d} "
                             f"{_fmt(e['velocity']):>38s} "
                             f"{e['velocity']['mean'] / ref['velocity'] if ref else math.nan:10.1%}")
    return lines


def comparisons(run: str = "ant_quad_best", root=None) -> list:
    """The calls the table makes, Holm-corrected together (``stats``): at every L and base budget, each rung
    against the one below it (which constraint costs what), and the best searched rung against BC on the same
    number of expert pairs. A side with fewer than 5 seeds gets "no verdict"."""
    from . import stats

    rs = [r for r in rows(run, root) if r["method"] != "shipped_traj"]
    budgets = [r["budget"] for r in rs if r["budget"]]
    base = min(budgets) if budgets else None
    comps = []
    for L in sorted({r["L"] for r in rs}):
        at = {r["method"]: r for r in rs if r["L"] == L and r["budget"] == base}
        present = [m for m in LADDER if m in at]
        for lo, hi in zip(present, present[1:]):
            a, b = at[hi], at[lo]
            if min(a["n"], b["n"]) >= 2:
                comps.append(stats.compare(a["velocities"], b["velocities"], f"{run} L={L} {LABELS[hi]}",
                                           LABELS[lo], unit="m/s"))
        e = expert_row(run, L)
        if present and e and e["n"] >= 2:
            best = max((at[m] for m in present), key=lambda r: r["velocity"]["mean"])
            if best["n"] >= 2:
                comps.append(stats.compare(best["velocities"], e["velocities"], f"{run} L={L} {LABELS[best['method']]}",
                                           "BC on the first L expert pairs", unit="m/s"))
    return stats.holm_verdicts(comps) if comps else []


def goal(runs=RUNS, root=None) -> list[str]:
    """The issue's goal, computed from the cells: the best ≤ 16 manufactured pairs (any rung, any run) against 80 %
    of their run's trained velocity, and the smallest L at which any rung's mean reaches 50 %."""
    allrows = [r for run in runs for r in rows(run, root) if not math.isnan(r["fraction"])]
    if not allrows:
        return ["no ladder cell yet"]
    small = [r for r in allrows if r["L"] <= 16]
    out = []
    if small:
        b = max(small, key=lambda r: r["fraction"])
        budget = f"{b['budget']:,} env steps" if b["budget"] else "notebook 07's search"
        seeds = f"{b['n']} seed{'s' if b['n'] > 1 else ''}"
        out.append(f"Best with ≤ 16 manufactured pairs: {LABELS[b['method']]} on {b['run']} at L = {b['L']} "
                   f"({budget}, mean over {seeds}): {b['velocity']['mean']:.3f} m/s = {b['fraction']:.1%} of "
                   f"the trained policy; ≥ 80 % {'reached' if b['fraction'] >= 0.8 else 'NOT reached'}.")
    half = sorted((r for r in allrows if r["fraction"] >= 0.5), key=lambda r: r["L"])
    out.append(f"Smallest L where a rung's mean reaches 50 %: L = {half[0]['L']} ({LABELS[half[0]['method']]}, "
               f"{half[0]['run']})." if half else
               "No rung reaches 50 % of the trained velocity at any L measured; the best per rung: " + "; ".join(
                   f"{LABELS[m]} {max(rs, key=lambda r: r['fraction'])['fraction']:.1%} "
                   f"(L = {max(rs, key=lambda r: r['fraction'])['L']})"
                   for m in METHODS if (rs := [r for r in allrows if r["method"] == m])) + ".")
    return out
