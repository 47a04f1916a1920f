"""The shipped sweeps of cosine vs length (data/compressed/<name>/, made by ``gc_research.sweeps``), looked up by
what made them.

Taught in notebooks/04_alpha_optimisation.ipynb, §3 Cosine vs length.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from .. import store
from .targets import artifact_path

COMPRESSED_KIND = "compressed"


def compressed_dir() -> Path:
    """data/compressed/, where the shipped sweeps live.
    Taught in notebooks/04_alpha_optimisation.ipynb, §3 Cosine vs length."""
    from ..config import data_dir

    return data_dir() / "compressed"


def load_compressed(name_or_path, **expect) -> store.Artifact:
    """A saved sweep (data/compressed/<name>/ or a path); ``expect`` as in store.load (e.g. n_params=3248).
    Taught in notebooks/04_alpha_optimisation.ipynb, §3 Cosine vs length."""
    return store.load(artifact_path(name_or_path, "compressed"), COMPRESSED_KIND, **expect)


def shipped_sweep(best: bool = False, where=None, **want):
    """A shipped sweep (``load_compressed``) from data/compressed/ whose metadata match ``want`` (e.g.
    run="ant_quad_sgd", target_name="weight_change", method="project+cem") and, if given, the predicate
    ``where(meta)``: the longest one, or with ``best`` the one with the highest final cosine; complete sweeps
    before interrupted ones. None if there is none (the notebooks then compute a short one live).
    Taught in notebooks/03_cem_compression.ipynb, §5 and notebooks/04_alpha_optimisation.ipynb, §3."""
    arts = []
    for p in sorted(compressed_dir().glob("*")):
        if (p / "meta.json").is_file():
            try:
                arts.append(load_compressed(p))
            except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile) as e:  # half-written, old format
                print(f"skipping data/compressed/{p.name}: {e}")
    arts = [a for a in arts if all(a.meta.get(k) == v for k, v in want.items()) and (where is None or where(a.meta))]
    score = "final_cosine" if best else "length"
    return max(arts, key=lambda a: (bool(a.meta.get("complete", True)), a.meta.get(score, 0)), default=None)


def as_sweep(found) -> dict:
    """A shipped sweep (store.Artifact) or a live search result (``gc_research.search_results.SearchResult``) as
    one dict: actions, obs, order, alpha, lengths, cosine (the curve), seconds, env_steps, reset_seeds, method,
    shipped (bool), name, complete.
    Taught in notebooks/03_cem_compression.ipynb, §5 and notebooks/04_alpha_optimisation.ipynb, §3."""
    keys = ("actions", "obs", "order", "alpha", "lengths", "seconds", "env_steps")
    if hasattr(found, "arrays"):
        return {**{k: found[k] for k in keys}, "cosine": found["cosine"], "reset_seeds": found.meta["reset_seeds"],
                "method": found.meta["method"], "shipped": True, "name": found.path.name,
                "complete": bool(found.meta.get("complete", True))}
    return {**{k: getattr(found, k) for k in keys}, "cosine": found.curve, "reset_seeds": list(found.reset_seeds),
            "method": found.method, "shipped": False, "name": "live", "complete": found.complete}
