"""The shipped table of notebook 07: per-cell artifacts of bench/fewest_pairs.py aggregated over seeds.

Taught in notebooks/07_fewest_pairs.ipynb (§5 the shipped table). Layout under data/fewest_pairs/<run>/:
``cells/<method>_L<L>_s<seed>/`` (one (method, L, seed) cell: its pairs, direction, β and fresh-episode numbers),
``trained/`` and ``first/`` (w_last and w_first on the fresh episodes) and ``table/`` (``build_table``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from . import store

CELL_KIND = "fewest_pairs_cell"
REFERENCE_KIND = "fewest_pairs_reference"
TABLE_KIND = "fewest_pairs_table"
COLUMNS = ("velocity", "return", "return_minus_alive", "length", "cosine", "beta", "search_env_steps",
           "search_seconds", "eval_env_steps", "eval_seconds")


def protocol_dict(protocol) -> dict:
    """A ``fewest_pairs.Protocol`` as JSON-able metadata."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(protocol).items()}


def results_dir(run: str = "ant_quad_sgd") -> Path:
    """data/fewest_pairs/<run>/."""
    from .config import data_dir

    if not isinstance(run, str) or not run:
        raise ValueError(f"run={run!r}: a run name such as 'ant_quad_sgd'")
    return data_dir() / "fewest_pairs" / run


def load_cells(root) -> list[store.Artifact]:
    """Every finished cell under ``root`` (a results folder), sorted by method, L, seed."""
    cells = [store.load(p, CELL_KIND) for p in sorted(Path(root).glob("cells/*")) if (p / "meta.json").is_file()]
    return sorted(cells, key=lambda a: (a.meta["method"], a.meta["L"], a.meta["seed"]))


def aggregate(cells) -> dict:
    """Mean, standard deviation, min and max over seeds of every ``COLUMNS`` entry, per (method, L):
    {"method": (n,), "L": (n,), "n_seeds": (n,), "<column>_mean"/"_std"/"_min"/"_max": (n,)}."""
    groups: dict[tuple, list[dict]] = {}
    for a in cells:
        groups.setdefault((a.meta["method"], int(a.meta["L"])), []).append(a.meta)
    keys = sorted(groups)
    out = {"method": np.array([k[0] for k in keys]), "L": np.array([k[1] for k in keys]),
           "n_seeds": np.array([len(groups[k]) for k in keys])}
    for col in COLUMNS:
        vals = [np.array([m[col] for m in groups[k]], dtype=np.float64) for k in keys]
        out[f"{col}_mean"] = np.array([v.mean() for v in vals])
        out[f"{col}_std"] = np.array([v.std(ddof=1) if len(v) > 1 else np.nan for v in vals])
        out[f"{col}_min"] = np.array([v.min() for v in vals])
        out[f"{col}_max"] = np.array([v.max() for v in vals])
    return out


def build_table(root) -> Path | None:
    """Aggregate the cells under ``root`` and save ``root/table`` (with the trained and untrained policies'
    numbers in its metadata); None when there is no cell yet."""
    root = Path(root)
    cells = load_cells(root)
    if not cells:
        return None
    meta = {"run": cells[0].meta["run"], "env_id": cells[0].meta["env_id"], "protocol": cells[0].meta["protocol"],
            "cells": [p.path.name for p in cells]}
    for name in ("trained", "first"):
        if (root / name / "meta.json").is_file():
            ref = store.load(root / name, REFERENCE_KIND).meta
            meta[name] = {k: ref[k] for k in ("velocity", "return", "stderr", "return_minus_alive", "length",
                                              "env_steps", "n_episodes")}
    return store.save(root / "table", TABLE_KIND, aggregate(cells), meta)


def load_table(run: str = "ant_quad_sgd", root=None) -> store.Artifact:
    """The shipped table of ``run`` (data/fewest_pairs/<run>/table)."""
    return store.load(Path(root) / "table" if root else results_dir(run) / "table", TABLE_KIND)


MANUFACTURED = ("cosine", "outer", "outer_long", "multi", "random")  # pairs made by actions, not copied from an expert
EXPERT = ("bc_first", "bc_subset")


def row(table, method: str, L: int) -> dict | None:
    """One (method, L) row of a table as {column: mean, "n": seeds, "velocity_sd": spread}; None if absent."""
    hit = np.where((table["method"] == method) & (table["L"] == L))[0]
    if len(hit) == 0:
        return None
    i = hit[0]
    return {k[: -len("_mean")]: float(table[k][i]) for k in table.arrays if k.endswith("_mean")} | {
        "n": int(table["n_seeds"][i]), "velocity_sd": float(table["velocity_std"][i])}


def compare(a: dict, b: dict, floor: float = 0.02) -> str:
    """Which of two rows walks faster on fresh episodes: "a", "b", "tie" (|gap| ≤ 2 standard errors of the
    difference, at least ``floor`` m/s) or "one seed" (either row has a single seed: no spread to judge)."""
    if min(a["n"], b["n"]) < 2:
        return "one seed"
    se = np.hypot(*[x["velocity_sd"] / np.sqrt(x["n"]) for x in (a, b)])
    gap = a["velocity"] - b["velocity"]
    return "a" if gap > max(floor, 2 * se) else "b" if gap < -max(floor, 2 * se) else "tie"


def verdicts(table) -> list[str]:
    """The conclusions notebook 07 §7 states for one run's table, each computed from it: the best ≤ 16 pairs (any,
    and manufactured) against 80 % of the trained policy's velocity, the best manufactured pairs against behaviour
    cloning on the first L expert pairs at every L, and the answer for ≤ 64 pairs."""
    tr = table.meta["trained"]
    v_tr, Ls, methods = tr["velocity"], sorted(set(table["L"].tolist())), sorted(set(table["method"].tolist()))
    out = [f"The trained policy walks at {v_tr:.2f} m/s on {tr['n_episodes']} fresh episodes."]
    small = [(m, L, r) for m in methods for L in Ls if L <= 16 and (r := row(table, m, L))]
    for label, pool in (("any pairs", small), ("manufactured pairs (the goal)",
                                                [x for x in small if x[0] in MANUFACTURED])):
        if pool:
            m, L, r = max(pool, key=lambda x: x[2]["velocity"])
            out.append(f"Best with ≤ 16 {label}: {m} at L = {L} (mean over {r['n']} seeds), {r['velocity']:.2f} m/s = "
                       f"{r['velocity'] / v_tr:.0%} of the trained policy: ≥ 80 % "
                       f"{'reached' if r['velocity'] >= 0.8 * v_tr else 'NOT reached'}.")
    for L in Ls:
        bc, ours = row(table, "bc_first", L), [(m, r) for m in MANUFACTURED if (r := row(table, m, L))]
        if bc and ours:
            m, r = max(ours, key=lambda x: x[1]["velocity"])
            word = {"a": "manufactured wins", "b": "BC wins", "tie": "no clear winner (within 2 s.e.)",
                    "one seed": "a single seed on at least one side: no spread to judge"}[compare(r, bc)]
            sub = row(table, "bc_subset", L)
            out.append(f"L = {L}: best manufactured ({m}) {r['velocity']:.2f} m/s vs BC on the first L expert pairs "
                       f"{bc['velocity']:.2f} m/s — {word}"
                       + (f"; BC on the greedy subset {sub['velocity']:.2f} m/s" if sub else ""))
    best = {}
    for group, names in (("manufactured", MANUFACTURED), ("expert", EXPERT)):
        found = [(m, L, r) for m in names for L in Ls if L <= 64 and (r := row(table, m, L))]
        best[group] = max(found, key=lambda x: x[2]["velocity"]) if found else None
    if best["manufactured"] and best["expert"]:
        (m1, L1, r1), (m2, L2, r2) = best["manufactured"], best["expert"]
        word = {"a": "manufactured pairs teach more", "b": "expert pairs teach more", "tie": "no clear winner",
                "one seed": "one seed: no spread to judge"}[compare(r1, r2)]
        out.append(f"Answer (≤ 64 pairs): the best manufactured pairs ({m1}, L = {L1}) walk at {r1['velocity']:.2f} "
                   f"m/s, the best expert pairs ({m2}, L = {L2}) at {r2['velocity']:.2f} m/s: {word}.")
    return out


def format_table(table) -> list[str]:
    """The table as aligned text lines (notebook 07 §5): one line per (method, L), mean ± sd over seeds."""
    tr = table.meta["trained"]
    lines = [f"{table.meta['run']}: trained w_last {tr['velocity']:.2f} m/s, return {tr['return']:.0f} ± "
             f"{tr['stderr']:.0f} ({tr['return_minus_alive']:.0f} without the alive bonus), length {tr['length']:.0f}, "
             f"{tr['n_episodes']} episodes",
             f"{'method':10s} {'L':>4s} {'n':>2s} {'m/s ± sd':>13s} {'return':>7s} {'−alive':>7s} {'length':>6s} "
             f"{'cos':>5s} {'search steps':>12s} {'eval steps':>10s} {'wall s':>7s}"]
    t = table
    for i in np.lexsort((t["L"], t["method"])):
        wall = t["search_seconds_mean"][i] + t["eval_seconds_mean"][i]
        lines.append(f"{t['method'][i]:10s} {t['L'][i]:4d} {t['n_seeds'][i]:2d} {t['velocity_mean'][i]:6.2f} ± "
                     f"{np.nan_to_num(t['velocity_std'][i]):4.2f} {t['return_mean'][i]:7.0f} "
                     f"{t['return_minus_alive_mean'][i]:7.0f} {t['length_mean'][i]:6.0f} {t['cosine_mean'][i]:5.2f} "
                     f"{t['search_env_steps_mean'][i]:12.0f} {t['eval_env_steps_mean'][i]:10.0f} {wall:7.0f}")
    return lines
