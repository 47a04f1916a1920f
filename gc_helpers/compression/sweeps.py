"""Sweeps: cosine vs length, saved as data/compressed/<name>/, and the shipped ones looked up by what made them.

Taught in notebooks/04_alpha_optimisation.ipynb, §3 Cosine vs length.
"""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

from .. import store
from ..policies import GaussianPolicy, describe
from .results import SearchResult, check_grid
from .search import search
from .span import null_cosine
from .targets import Target, artifact_path

COMPRESSED_KIND = "compressed"
STUDY_GRID = tuple(range(10, 500, 10))  # 10, 20, …, 490


def compressed_dir() -> Path:
    """data/compressed/, where the shipped sweeps live.
    Taught in notebooks/04_alpha_optimisation.ipynb, §3 Cosine vs length."""
    from ..config import data_dir

    return data_dir() / "compressed"


def save_compressed(result: SearchResult, path, target: Target, policy: GaussianPolicy, extra: dict | None = None):
    """Write a search result to the folder ``path`` (kind "compressed"): actions, obs, physics, order, alpha,
    direction, target, and the curve (lengths, cosine, cosine_lbfgs, seconds, env_steps, null = √(L/P)).
    Taught in notebooks/04_alpha_optimisation.ipynb, §3 Cosine vs length."""
    P = policy.n_params
    arrays = {"actions": result.actions, "obs": result.obs, "physics": result.physics, "order": result.order,
              "alpha": result.alpha, "direction": result.direction, "target": target.vector,
              "lengths": result.lengths, "cosine": result.curve, "cosine_lbfgs": result.curve_lbfgs,
              "seconds": result.seconds, "env_steps": result.env_steps, "null": null_cosine(result.lengths, P)}
    meta = {"env_id": result.settings.get("env_id", "Ant-v5"), "target_name": target.name, "run": target.run,
            "target_info": target.info, "n_params": P, "method": result.method, "settings": result.settings,
            "reset_seeds": list(result.reset_seeds), "complete": result.complete, "final_cosine": result.cosine,
            "length": result.length, "policy": describe(policy), **(extra or {})}
    return store.save(Path(path), COMPRESSED_KIND, arrays, meta)


def load_compressed(name_or_path, **expect) -> store.Artifact:
    """A saved sweep (data/compressed/<name>/ or a path); ``expect`` as in store.load (e.g. n_params=3248).
    Taught in notebooks/04_alpha_optimisation.ipynb, §3 Cosine vs length."""
    return store.load(artifact_path(name_or_path, "compressed"), COMPRESSED_KIND, **expect)


def sweep(policy: GaussianPolicy, target: Target, name: str | None = None, method: str = "project",
          lengths=STUDY_GRID, path=None, progress: bool = True, callback=None, save_every: float = 5.0,
          **search_kw) -> SearchResult:
    """Cosine vs length: one search (``search``: staged with ``staged=...``) up to max(lengths), the curve recorded
    at every length on the grid (default 10, 20, …, 490), with env steps and wall time. Saved under
    data/compressed/<name>/ (or ``path``) every ``save_every`` seconds and at the end, so an interrupt
    (KeyboardInterrupt) keeps what was found (``complete=False``). ``progress`` shows a tqdm bar; ``callback(info)``
    as in ``chunk_search``. Taught in notebooks/04_alpha_optimisation.ipynb, §3 Cosine vs length."""
    grid = check_grid(lengths, max(int(x) for x in lengths))
    out = Path(path) if path is not None else (compressed_dir() / name if name else None)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=int(grid[-1]), desc=f"compress ({method})", unit="step")
    last = [time.perf_counter()]

    def on_length(info):
        if bar is not None:
            bar.n = info["length"]
            bar.set_postfix(cos=f"{info['cosine']:.3f}", null=f"{null_cosine(info['length'], policy.n_params):.3f}")
            bar.refresh()
        if out is not None and time.perf_counter() - last[0] > save_every:
            save_compressed(info["partial"](complete=False), out, target, policy)
            last[0] = time.perf_counter()
        if callback is not None:
            callback(info)

    try:
        res = search(policy, target, max_length=int(grid[-1]), method=method, lengths=grid, callback=on_length,
                     **search_kw)
    finally:
        if bar is not None:
            bar.close()
    if out is not None:
        save_compressed(res, out, target, policy)
    return res


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
    """A shipped sweep (store.Artifact) or a live ``SearchResult`` as one dict: actions, obs, order, alpha,
    lengths, cosine (the curve), seconds, env_steps, reset_seeds, method, shipped (bool), name, complete.
    Taught in notebooks/03_cem_compression.ipynb, §5 and notebooks/04_alpha_optimisation.ipynb, §3."""
    keys = ("actions", "obs", "order", "alpha", "lengths", "seconds", "env_steps")
    if hasattr(found, "arrays"):
        return {**{k: found[k] for k in keys}, "cosine": found["cosine"], "reset_seeds": found.meta["reset_seeds"],
                "method": found.meta["method"], "shipped": True, "name": found.path.name,
                "complete": bool(found.meta.get("complete", True))}
    return {**{k: getattr(found, k) for k in keys}, "cosine": found.curve, "reset_seeds": list(found.reset_seeds),
            "method": found.method, "shipped": False, "name": "live", "complete": found.complete}
