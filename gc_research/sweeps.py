"""Making the shipped sweeps: one search to L = 490 with its curve of cosine vs length, saved as
data/compressed/<name>/ (bench/compression.py). Notebooks 03 and 04 read them with
``gc_helpers.compression.sweeps.shipped_sweep`` / ``load_compressed``.
"""

from __future__ import annotations

import time
from pathlib import Path

from gc_helpers import store
from gc_helpers.compression.span import null_cosine
from gc_helpers.compression.sweeps import COMPRESSED_KIND, compressed_dir
from gc_helpers.compression.targets import Target
from gc_helpers.policies import GaussianPolicy, describe
from gc_research.search_results import SearchResult, check_grid
from gc_research.staged_search import search

STUDY_GRID = tuple(range(10, 500, 10))  # 10, 20, …, 490


def save_compressed(result: SearchResult, path, target: Target, policy: GaussianPolicy, extra: dict | None = None):
    """Write a search result to the folder ``path`` (kind "compressed"): actions, obs, physics, order, alpha,
    direction, target, and the curve (lengths, cosine, cosine_lbfgs, seconds, env_steps, null = √(L/P))."""
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



def sweep(policy: GaussianPolicy, target: Target, name: str | None = None, method: str = "project",
          lengths=STUDY_GRID, path=None, progress: bool = True, callback=None, save_every: float = 5.0,
          **search_kw) -> SearchResult:
    """Cosine vs length: one search (``search``: staged with ``staged=...``) up to max(lengths), the curve recorded
    at every length on the grid (default 10, 20, …, 490), with env steps and wall time. Saved under
    data/compressed/<name>/ (or ``path``) every ``save_every`` seconds and at the end, so an interrupt
    (KeyboardInterrupt) keeps what was found (``complete=False``). ``progress`` shows a tqdm bar; ``callback(info)``
    as in ``chunk_search``."""
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
