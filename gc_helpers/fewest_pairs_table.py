"""The shipped table of notebook 07: per-cell artifacts of bench/fewest_pairs.py aggregated over seeds.

Taught in notebooks/07_fewest_pairs.ipynb (§5 the shipped table). Layout under data/fewest_pairs/<run>/:
``cells/<method>_L<L>_s<seed>/`` (one (method, L, seed) cell: its pairs, direction, β and fresh-episode numbers),
``trained/`` and ``first/`` (w_last and w_first on the fresh episodes) and ``table/`` (built by
``gc_research.fewest_pairs_build.build_table``).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from . import store

CELL_KIND = "fewest_pairs_cell"
REFERENCE_KIND = "fewest_pairs_reference"
TABLE_KIND = "fewest_pairs_table"


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


def load_table(run: str = "ant_quad_sgd", root=None) -> store.Artifact:
    """The shipped table of ``run`` (data/fewest_pairs/<run>/table)."""
    return store.load(Path(root) / "table" if root else results_dir(run) / "table", TABLE_KIND)


def reference_velocity(run: str) -> dict:
    """The one reference forward velocity of a trained run's w_last (σ = 0, 1000-step fresh episodes), used for the
    80 % bar here and in the README: the shipped evaluation with the most episodes — the decompression reference
    (data/decompressed_seeds/<run>/reference, its w_last episodes) if there is one, else the fewest-pairs table's
    own (data/fewest_pairs/<run>/trained). {"velocity", "n_episodes", "source"} (notebook 07 §7)."""
    from .config import data_dir

    found = []
    dec = data_dir() / "decompressed_seeds" / run / "reference"
    if (dec / "meta.json").is_file():
        a = store.load(dec, "decompressed_seed")
        if a.meta.get("horizon") == 1000:
            v = a["last_velocity"]
            found.append({"velocity": float(v.mean()), "n_episodes": int(v.size),
                          "source": f"data/decompressed_seeds/{run}/reference"})
    own = results_dir(run) / "trained"
    if (own / "meta.json").is_file():
        m = store.load(own, REFERENCE_KIND).meta
        found.append({"velocity": float(m["velocity"]), "n_episodes": int(m["n_episodes"]),
                      "source": f"data/fewest_pairs/{run}/trained"})
    if not found:
        raise FileNotFoundError(f"run={run!r}: no shipped fresh-episode evaluation of its w_last")
    return max(found, key=lambda f: f["n_episodes"])


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


def seed_values(table, method: str, L: int, column: str = "velocity") -> dict:
    """{seed: the cell's ``column``} of one (method, L) row, read from the cells next to ``table``
    (<root>/cells/<method>_L<L>_s<seed>/), one number per seed: what a comparison over seeds needs."""
    root = Path(table.path).parent
    out = {}
    for name in table.meta.get("cells", []):
        if name.startswith(f"{method}_L{L}_s"):
            out[int(name.rsplit("_s", 1)[1])] = float(store.load(root / "cells" / name, CELL_KIND).meta[column])
    return dict(sorted(out.items()))


def _steps(r: dict) -> str:
    return f"{r['search_env_steps']:,.0f}"


def _budgets(table, L: int, a: str, b: str) -> str:
    """"search env steps <a> <its steps> vs <b> <its steps>": both sides' search cost at L, for a verdict line."""
    return f"search env steps {a} {_steps(row(table, a, L))} vs {b} {_steps(row(table, b, L))}"


def calls(table) -> list:
    """The comparisons one table's verdicts make (notebook 07 §7), as ``stats.Comparison``s, Holm-corrected as one
    family: at every L, EVERY manufactured method against behaviour cloning on the first L expert pairs (the line
    printed shows the best by mean, but all of them count in the correction), and at the largest L ≤ 64 both
    have, every manufactured method against every expert method (the headline, at equal L). Each comparison is of
    fresh-episode forward velocity over seeds (Welch's t); a side with fewer than ``stats.MIN_SEEDS`` seeds
    makes no call. Returns [(L, method_a, method_b, Comparison)]."""
    from . import stats

    Ls = sorted(set(table["L"].tolist()))
    found = []
    for L in Ls:
        for m in MANUFACTURED:
            for e in EXPERT if L == _headline_L(table) else ("bc_first",):
                a, b = seed_values(table, m, L), seed_values(table, e, L)
                if len(a) >= 2 and len(b) >= 2:
                    found.append((L, m, e, stats.compare(list(a.values()), list(b.values()), m, e, unit="m/s")))
    done = stats.holm_verdicts([c for *_, c in found])
    return [(L, m, e, c) for (L, m, e, _), c in zip(found, done)]


def _headline_L(table) -> int | None:
    """The largest L ≤ 64 at which both a manufactured and an expert method have a row."""
    Ls = [L for L in sorted(set(table["L"].tolist())) if L <= 64
          and any(row(table, m, L) for m in MANUFACTURED) and any(row(table, e, L) for e in EXPERT)]
    return Ls[-1] if Ls else None


def verdicts(table, reference_velocity: float | None = None) -> list[str]:
    """The conclusions notebook 07 §7 states for one run's table, each computed from it: the best ≤ 16 pairs (any,
    and manufactured) against 80 % of the trained policy's velocity (``reference_velocity``, default the table's
    own fresh-episode measurement), and the comparisons of ``calls`` — each line gives both sides' mean ± sd and
    seeds, their search env steps, Welch's test with Holm's correction over the table, and the verdict ("n = <seeds>:
    no verdict" below ``stats.MIN_SEEDS`` seeds a side)."""
    return [v.line for v in _verdict_items(table, reference_velocity)]


class Verdict(NamedTuple):
    """One line of ``verdicts`` and what it says: ``key`` names the question ("reference", "best ≤ 16 any pairs",
    "best ≤ 16 manufactured pairs (the goal)", "L = <L>", "answer", or "L = <L>: <a> vs <b>" for a comparison
    called with enough seeds that the lines before do not show), ``L`` its number of pairs (None for the
    reference), ``subject`` who was compared with whom, ``verdict`` the words ("" for the reference)."""

    key: str
    L: int | None
    subject: str
    verdict: str
    line: str


def _verdict_items(table, reference_velocity: float | None = None) -> list[Verdict]:
    """``verdicts`` as ``Verdict``s, so two tables' conclusions can be set side by side (``changes``); after the
    best-of lines, every other comparison of ``calls`` with enough seeds a side to be called gets a line."""
    from . import stats

    if reference_velocity is None:
        try:
            ref = globals()["reference_velocity"](table.meta.get("run", ""))
        except (FileNotFoundError, ValueError):  # a table of no shipped run: its own evaluation
            ref = {"velocity": table.meta["trained"]["velocity"], "n_episodes": table.meta["trained"]["n_episodes"],
                   "source": "the table's own evaluation"}
    else:
        ref = {"velocity": float(reference_velocity), "n_episodes": None, "source": "given"}
    v_tr = ref["velocity"]
    Ls, methods = sorted(set(table["L"].tolist())), sorted(set(table["method"].tolist()))
    out = [Verdict("reference", None, "", "", f"The trained policy walks at {v_tr:.2f} m/s (its reference velocity: "
                             f"{ref['n_episodes']} fresh episodes, {ref['source']}; the 80 % bar: {0.8 * v_tr:.2f} "
                             f"m/s). Verdicts: Welch's t over seeds at level {stats.LEVEL}, Holm-corrected over every "
                             f"comparison below, and only with ≥ {stats.MIN_SEEDS} seeds a side.")]
    small = [(m, L, r) for m in methods for L in Ls if L <= 16 and (r := row(table, m, L))]
    for label, pool in (("any pairs", small), ("manufactured pairs (the goal)",
                                                [x for x in small if x[0] in MANUFACTURED])):
        if pool:
            m, L, r = max(pool, key=lambda x: x[2]["velocity"])
            seeds = list(seed_values(table, m, L).values())
            if len(seeds) >= 2:
                c = stats.compare_to_value(seeds, 0.8 * v_tr, f"{m} L = {L}", "the 80 % bar", unit="m/s")
                said, verdict = f"tested against the bar: {c.summary()}", c.verdict
            else:
                said = verdict = f"n = {len(seeds)}: no verdict"
            out.append(Verdict(f"best ≤ 16 {label}", L, f"{m} vs the 80 % bar", verdict,
                        f"Best with ≤ 16 {label}: {m} at L = {L}, mean {r['velocity']:.2f} m/s over {r['n']} seeds "
                        f"= {r['velocity'] / v_tr:.0%} of the trained policy, the mean "
                        f"{'above' if r['velocity'] >= 0.8 * v_tr else 'below'} the 80 % bar (search env steps "
                        f"{_steps(r)}); {said}."))
    made, shown = calls(table), set()
    for L in Ls:
        vs_bc = [(m, c) for L2, m, e, c in made if L2 == L and e == "bc_first"]
        if vs_bc:
            m, c = max(vs_bc, key=lambda x: x[1].mean_a)
            sub = row(table, "bc_subset", L)
            shown.add((L, m, "bc_first"))
            out.append(Verdict(f"L = {L}", L, f"{m} vs bc_first", c.verdict,
                        f"L = {L}: best manufactured of {len(vs_bc)} vs BC on the first L expert pairs — "
                        f"{c.summary()}; {_budgets(table, L, m, 'bc_first')}"
                        + (f"; BC on the greedy subset {sub['velocity']:.2f} m/s (n = {sub['n']})" if sub else "")))
        elif row(table, "bc_first", L) and any(row(table, m, L) for m in MANUFACTURED):
            m = max((m for m in MANUFACTURED if row(table, m, L)), key=lambda m: row(table, m, L)["velocity"])
            ra, rb = row(table, m, L), row(table, "bc_first", L)
            n = min(ra["n"], rb["n"])
            out.append(Verdict(f"L = {L}", L, f"{m} vs bc_first", f"n = {n}: no verdict",
                        f"L = {L}: best manufactured ({m}) {ra['velocity']:.2f} m/s (n = {ra['n']}) vs bc_first "
                        f"{rb['velocity']:.2f} m/s (n = {rb['n']}); {_budgets(table, L, m, 'bc_first')} — "
                        f"n = {n}: no verdict"))
    L = _headline_L(table)
    head = [(m, e, c) for L2, m, e, c in made if L2 == L and e in EXPERT]
    if head:
        best_m = max({m for m, _, _ in head}, key=lambda m: row(table, m, L)["velocity"])
        best_e = max({e for _, e, _ in head}, key=lambda e: row(table, e, L)["velocity"])
        c = [c for m, e, c in head if m == best_m and e == best_e][0]
        shown.add((L, best_m, best_e))
        out.append(Verdict("answer", L, f"{best_m} vs {best_e}", c.verdict,
                    f"Answer (at equal L = {L}, the largest L ≤ 64; best of {len({m for m, _, _ in head})} "
                    f"manufactured vs best of {len({e for _, e, _ in head})} expert methods): {c.summary()}; "
                    f"{_budgets(table, L, best_m, best_e)}."))
    for L, m, e, c in made:
        if c.enough_seeds and (L, m, e) not in shown:
            out.append(Verdict(f"L = {L}: {m} vs {e}", L, f"{m} vs {e}", c.verdict,
                               f"L = {L}, {m} vs {e} (called: ≥ {stats.MIN_SEEDS} seeds a side)"
                        f": {c.summary()}; {_budgets(table, L, m, e)}."))
    return out


def cell_edge(root, name: str) -> str:
    """"low"/"high" when the cell's β is the smallest/largest β its line search tried, else "": the refined line
    search stores it; for the 4-point grid it is read off the protocol's grid (notebook 07 §5)."""
    from .line_search import edge_of

    a = store.load(Path(root) / "cells" / name, CELL_KIND)
    if "edge" in a.meta:
        return a.meta["edge"]
    return edge_of(a.meta["protocol"]["betas"], a.meta["beta"])


def edge_counts(table) -> dict:
    """{(method, L): number of its seeds whose β pick sits at the edge of the β tried}."""
    root = Path(table.path).parent
    out: dict = {}
    for name in table.meta.get("cells", []):
        method, rest = name.split("_L", 1)
        key = (method, int(rest.split("_s")[0]))
        out[key] = out.get(key, 0) + bool(cell_edge(root, name))
    return out


def seed_notes(table) -> list[str]:
    """What a reader needs to weigh the seeds (notebook 07 §7): outer / outer_long cells that never left their
    warm start (direction identical to the cosine cell's of the same L and seed; the pairs then cost only the warm
    start's env steps, the outer search's steps were spent to no effect), and where seed 0 of the cosine-based
    methods came from a different procedure (the staged sweep) than seeds 1, 2 (unstaged chunk searches)."""
    root = Path(table.path).parent
    names = set(table.meta.get("cells", []))
    stuck = []
    for name in sorted(names):
        method, rest = name.split("_L", 1)
        if method in ("outer", "outer_long") and f"cosine_L{rest}" in names:
            a, b = store.load(root / "cells" / name, CELL_KIND), store.load(root / "cells" / f"cosine_L{rest}",
                                                                             CELL_KIND)
            if np.array_equal(a["direction"], b["direction"]):
                stuck.append(f"{name} (warm start {b.meta['search_env_steps']:,} env steps; the outer search spent "
                             f"{a.meta['search_env_steps'] - b.meta['search_env_steps']:,} more to no effect)")
    out = []
    if stuck:
        cells, their = ("cell", "its") if len(stuck) == 1 else ("cells", "their")
        out.append(f"{len(stuck)} outer-search {cells} never left {their} warm start ({their} pairs are the cosine "
                   "cell's): " + "; ".join(stuck) + ".")
    src = {}
    for name in names:
        if name.startswith("cosine_L") and int(name.split("_L")[1].split("_s")[0]) <= 64:
            m = store.load(root / "cells" / name, CELL_KIND).meta
            src.setdefault(int(m["seed"]), []).append((m["info"].get("source", ""), int(m["search_env_steps"])))
    if src.get(0) and any(s.startswith("shipped") for s, _ in src[0]):
        others = [st for seed, v in src.items() if seed != 0 for _, st in v]
        rng = lambda v: f"{min(v):,}" if min(v) == max(v) else f"{min(v):,}–{max(v):,}"  # noqa: E731
        out.append(f"Seeds are not exchangeable for cosine, outer and outer_long: seed 0 starts from the staged "
                   f"sweep ({rng([st for _, st in src[0]])} env steps spent), seeds 1–2 from unstaged chunk searches "
                   f"({rng(others or [0])} env steps).")
    return out


def format_table(table) -> list[str]:
    """The table as aligned text lines (notebook 07 §5): one line per (method, L), mean ± sd over seeds."""
    tr = table.meta["trained"]
    lines = [f"{table.meta['run']}: trained w_last {tr['velocity']:.2f} m/s, return {tr['return']:.0f} ± "
             f"{tr['stderr']:.0f} ({tr['return_minus_alive']:.0f} without the alive bonus), length {tr['length']:.0f}, "
             f"{tr['n_episodes']} episodes",
             f"{'method':10s} {'L':>4s} {'n':>2s} {'m/s ± sd':>13s} {'return':>7s} {'−alive':>7s} {'length':>6s} "
             f"{'cos':>5s} {'search steps':>12s} {'eval steps':>10s} {'wall s':>7s} {'β at edge':>9s}"]
    t = table
    edges = edge_counts(table)
    for i in np.lexsort((t["L"], t["method"])):
        wall = t["search_seconds_mean"][i] + t["eval_seconds_mean"][i]
        lines.append(f"{t['method'][i]:10s} {t['L'][i]:4d} {t['n_seeds'][i]:2d} {t['velocity_mean'][i]:6.2f} ± "
                     f"{np.nan_to_num(t['velocity_std'][i]):4.2f} {t['return_mean'][i]:7.0f} "
                     f"{t['return_minus_alive_mean'][i]:7.0f} {t['length_mean'][i]:6.0f} {t['cosine_mean'][i]:5.2f} "
                     f"{t['search_env_steps_mean'][i]:12.0f} {t['eval_env_steps_mean'][i]:10.0f} {wall:7.0f} "
                     f"{edges.get((str(t['method'][i]), int(t['L'][i])), 0):6d}/{t['n_seeds'][i]}")
    return lines


def load_refined(run: str) -> store.Artifact | None:
    """The table of ``run`` walked by the refined line search (data/fewest_pairs/<run>/refined/table, made by
    ``bench/fewest_pairs.py --refined``; notebook 07 §5), or None if that run has none."""
    root = results_dir(run) / "refined"
    return load_table(root=root) if (root / "table" / "meta.json").is_file() else None


def line_search_text(table) -> str:
    """The line search of ``table`` in words, read from its protocol and, for the refined one, from the β its cells
    tried (notebook 07 §5, the README): the grid, how far it was extended, and the episodes β was picked on."""
    p = table.meta["protocol"]
    grid = f"β grid {', '.join(f'{b:g}' for b in p['betas'])} (multiples of the direction's length)"
    if p.get("line_search") != "refined":
        return f"{grid}, β picked on {p['pick_episodes']} episodes"
    root = Path(table.path).parent
    tried = [store.load(root / "cells" / name, CELL_KIND)["betas"] for name in table.meta["cells"]]
    sizes = sorted({len(b) for b in tried})
    sizes = f"{sizes[0]}" if len(sizes) == 1 else f"{sizes[0]}–{sizes[-1]}"
    beyond = sum(bool(b.min() < min(p["betas"]) or b.max() > max(p["betas"])) for b in tried)
    lo, hi = min(b.min() for b in tried), max(b.max() for b in tried)
    return (f"refined line search: {grid}, extended past an edge while the pick sat there and refined around the best "
            f"({beyond} of {len(tried)} cells went past the grid; β tried from {lo:g} to {hi:g}, "
            f"{sizes} per cell), β picked on "
            f"{p['pick_episodes']} episodes")


def changes(old, new, names=("4-point", "refined")) -> list[str]:
    """What changed from table ``old`` to table ``new`` (notebook 07 §7): the mean velocity of every (method, L) row
    both have; each best-of line of ``verdicts`` whose pick differs (another method is the best); and every
    comparison both tables make (the best-of lines' and every one of ``calls``) whose verdict differs."""
    out = []
    for m, L in sorted({(str(m), int(L)) for m, L in zip(new["method"], new["L"])}):
        a, b = row(old, m, L), row(new, m, L)
        if a and b:
            out.append(f"{m} L = {L}: {names[0]} {a['velocity']:.2f} m/s (n = {a['n']}) → {names[1]} "
                       f"{b['velocity']:.2f} m/s (n = {b['n']}), {b['velocity'] - a['velocity']:+.2f}")
    was, now = _verdict_items(old), _verdict_items(new)
    picked = {v.key: v for v in was if v.L is not None and ":" not in v.key}
    at = lambda v: v.subject + ("" if v.key.startswith("L =") else f" at L = {v.L}")  # noqa: E731
    out += [f"{v.key}, its pick: {names[0]} {at(picked[v.key])} → {names[1]} {at(v)}" for v in now
            if v.key in picked and at(v) != at(picked[v.key])]

    def said(t, items):
        return {f"L = {v.L}: {v.subject}": v.verdict for v in items if v.L is not None} | {
            f"L = {L}: {m} vs {e}": c.verdict for L, m, e, c in calls(t)}

    before, after = said(old, was), said(new, now)
    moved = [f"{k}: {names[0]} {before[k]} → {names[1]} {w}" for k, w in after.items()
             if k in before and w != before[k]]
    return out + (moved or [f"no comparison both tables make changed its verdict ({names[0]} → {names[1]})"])
