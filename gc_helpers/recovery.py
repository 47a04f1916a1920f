"""How much of training a direction recovers: the recovered fraction, its bootstrap interval, and the shipped
decompression table over search seeds (data/decompressed_seeds/<run>/, written by bench/decompression.py) with
its verdicts.

Taught in notebooks/05_line_search_decompression.ipynb, §3 Measuring it honestly and §4 The decompression table.

- ``recovered_fraction``: (R(best β) − R(w_first)) / (R(w_last) − R(w_first)); ``bootstrap_recovered``: the same
  from per-episode returns, with a bootstrap interval.
- ``seed_rows``, ``refined_complete``, ``seed_verdicts``: the table over search seeds, whether the refined line
  search's table is complete, behaviour cloning against the compressed direction (Welch, Holm).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .checks import check_seed, finite_array, int_at_least
from .line_search import edge_of


def recovered_fraction(r_best: float, r_first: float, r_last: float) -> float:
    """(R(best β) − R(w_first)) / (R(w_last) − R(w_first)): 0 = nothing learned, 1 = all of training.
    Taught in notebooks/05_line_search_decompression.ipynb, §3 Measuring it honestly."""
    if not all(np.isfinite(v) for v in (r_best, r_first, r_last)):
        raise ValueError(f"returns must be finite: r_best={r_best}, r_first={r_first}, r_last={r_last}")
    if r_last == r_first:
        raise ValueError(f"r_last == r_first == {r_last}: training did not change the return")
    return float((r_best - r_first) / (r_last - r_first))



def bootstrap_recovered(r_best, r_first, r_last, n_boot: int = 2000, seed: int = 0, level: float = 0.9):
    """The recovered fraction of the mean returns of three sets of per-episode returns, and a bootstrap interval:
    each set is resampled with replacement independently ``n_boot`` times. Returns (fraction, low, high), the
    interval holding ``level`` of the resampled fractions (percentiles).
    Taught in notebooks/05_line_search_decompression.ipynb, §3 Measuring it honestly."""
    sets = [finite_array(r, name, ndim=1) for r, name in ((r_best, "r_best"), (r_first, "r_first"),
                                                           (r_last, "r_last"))]
    n_boot = int_at_least(n_boot, "n_boot")
    if not 0 < level < 1:
        raise ValueError(f"level={level!r}: must be a number in (0, 1), e.g. 0.9")
    rng = np.random.default_rng(check_seed(seed))
    means = [r[rng.integers(0, r.size, (n_boot, r.size))].mean(axis=1) for r in sets]  # (n_boot,) per set
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = (means[0] - means[1]) / (means[2] - means[1])
    low, high = np.nanquantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return recovered_fraction(*(r.mean() for r in sets)), float(low), float(high)


# ------------------------------------------------------------------------------------------------------------
# Decompression over search seeds (bench/decompression.py writes data/decompressed_seeds/<run>/)

SEED_KIND = "decompressed_seed"
MEASURES = ("returns", "velocity", "net")  # return, forward velocity, return minus the alive bonus


def seed_rows(folder, bootstrap: Callable = bootstrap_recovered, sub: str | None = None) -> tuple:
    """(reference, rows) of a decompression-over-seeds folder: the fresh-seed denominators, and per direction its
    setting (direction, L, search_seed, cosine, best_beta, edge, select_episodes), fresh-episode means and the
    recovered fraction of each measure with its interval (``bootstrap(best, first, last)``). ``sub``: read the
    directions from folder/sub (e.g. "refined": the refined line search), the reference from folder. Taught in
    notebooks/05_line_search_decompression.ipynb, §4 The decompression table."""
    from pathlib import Path

    from . import store

    folder = Path(folder)
    ref = store.load(folder / "reference", SEED_KIND)
    where = folder / sub if sub else folder
    rows = []
    for path in sorted(p for p in where.iterdir() if (p / "meta.json").is_file()):
        if path.name == "reference" or path.name.startswith(("search_", ".")):
            continue
        a = store.load(path, SEED_KIND)
        ret = a["fresh_returns"]
        row = {k: a.meta[k] for k in ("direction", "L", "search_seed", "cosine", "best_beta")}
        row.update(name=path.name, ret=float(ret.mean()), se=float(ret.std(ddof=1) / np.sqrt(ret.size)), n=ret.size,
                   length=float(a["fresh_lengths"].mean()), velocity=float(a["fresh_velocity"].mean()),
                   net=float(a["fresh_net"].mean()), edge=a.meta.get("edge", edge_of(a["betas"], a.meta["best_beta"])),
                   select_episodes=int(a.meta["select_episodes"]), n_betas=int(a["betas"].size))
        for key in MEASURES:
            row[f"rho_{key}"] = bootstrap(a[f"fresh_{key}"], ref[f"first_{key}"], ref[f"last_{key}"])
        rows.append(row)
    return ref, rows



def refined_complete(folder) -> bool:
    """Whether folder/refined/ (``bench/decompression.py --refined``) holds every direction of the 4-point table in
    ``folder`` (BC's as bc_L<L>_s0): only then do notebook 05 and the README read it.
    Taught in notebooks/05_line_search_decompression.ipynb, §4 The decompression table."""
    from pathlib import Path

    folder = Path(folder)
    old = [p.parent.name for p in folder.glob("*/meta.json")
           if p.parent.name != "reference" and not p.parent.name.startswith("search_")]
    want = [n + "_s0" if n.startswith("bc_L") else n for n in old]
    return bool(want) and all((folder / "refined" / n / "meta.json").is_file() for n in want)



def seed_verdicts(rows, keys=("rho_returns", "rho_velocity", "rho_net")) -> list:
    """Behaviour cloning against the compressed direction at every L both have, for each measure: the per-seed
    recovered fractions (BC: one per expert episode; compressed: one per search seed) compared by Welch's t
    (``stats.compare``), Holm-corrected over every (L, measure) of the table; "n = 3: no verdict" below
    ``stats.MIN_SEEDS`` seeds a side. Returns [(L, key, Comparison or None, text)]: None (and "n = 1: no
    verdict", with the means) when a side has a single seed, no spread to compare.
    Taught in notebooks/05_line_search_decompression.ipynb, §4 The decompression table."""
    from . import stats

    found = []
    for L in sorted({r["L"] for r in rows if r["direction"] == "compressed"}):
        for key in keys:
            bc = [r[key][0] for r in rows if r["direction"] == "bc" and r["L"] == L]
            comp = [r[key][0] for r in rows if r["direction"] == "compressed" and r["L"] == L]
            if not bc or not comp:
                continue
            c = stats.compare(bc, comp, "BC", "compressed") if min(len(bc), len(comp)) >= 2 else None
            found.append((L, key, c, bc, comp))
    done = iter(stats.holm_verdicts([f[2] for f in found if f[2] is not None]))
    out = []
    for L, key, c, bc, comp in found:
        if c is None:
            text = (f"BC {np.mean(bc):.2f} (n = {len(bc)}) vs compressed {np.mean(comp):.2f} (n = {len(comp)}) — "
                    f"n = {min(len(bc), len(comp))}: no verdict")
        else:
            c = next(done)
            text = c.summary()
        out.append((L, key, c, text))
    return out
