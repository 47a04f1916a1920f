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
