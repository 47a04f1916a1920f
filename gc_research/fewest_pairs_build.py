"""Building notebook 07's shipped table: the per-cell artifacts of bench/fewest_pairs.py aggregated over seeds and
saved as data/fewest_pairs/<run>/table/ (``build_table``). Notebook 07 reads it with
``gc_helpers.fewest_pairs_table.load_table``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from gc_helpers import store
from gc_helpers.fewest_pairs_table import REFERENCE_KIND, TABLE_KIND, load_cells

COLUMNS = ("velocity", "return", "return_minus_alive", "length", "cosine", "beta", "search_env_steps",
           "search_seconds", "eval_env_steps", "eval_seconds")


def protocol_dict(protocol) -> dict:
    """A ``fewest_pairs.Protocol`` as JSON-able metadata."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(protocol).items()}



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



def build_table(root, reference_root=None) -> Path | None:
    """Aggregate the cells under ``root`` and save ``root/table`` (with the trained and untrained policies'
    numbers, from ``reference_root`` (default ``root``), in its metadata); None when there is no cell yet."""
    root = Path(root)
    ref_root = Path(reference_root) if reference_root is not None else root
    cells = load_cells(root)
    if not cells:
        return None
    meta = {"run": cells[0].meta["run"], "env_id": cells[0].meta["env_id"], "protocol": cells[0].meta["protocol"],
            "cells": [p.path.name for p in cells]}
    for name in ("trained", "first"):
        if (ref_root / name / "meta.json").is_file():
            ref = store.load(ref_root / name, REFERENCE_KIND).meta
            meta[name] = {k: ref[k] for k in ("velocity", "return", "stderr", "return_minus_alive", "length",
                                              "env_steps", "n_episodes")}
    return store.save(root / "table", TABLE_KIND, aggregate(cells), meta)
