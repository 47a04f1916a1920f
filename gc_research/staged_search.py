"""The shipped searches' settings and their one call: ``search`` with ``BEST`` (staged selection over whole chunk
searches on worker processes), as bench/compression.py, bench/spread.py, bench/decompression.py,
bench/fewest_pairs.py and bench/trainer_grid.py run it. Notebook 03, §5 (What the best settings add) reads the sweeps
it made; ``gc_research.chunked.chunk_search`` with ``RECOMMENDED`` is the one-run search it branches.

Settings measured on the SGD-trained quad Ant weight change (bench/compression.py). RECOMMENDED: the fast default
(seconds to L = 490). BEST: the shipped full-preset sweeps (minutes): one search to L = 490 with future_weight 2
and safety 10 ends between 0.86 and 0.91 depending on its seed (0.908, 0.864, 0.869 for seeds 0–2; future_weight
0.3 / 1 / 4: 0.865 / 0.876 / 0.865 for seed 0); staged selection over 2 × 2 runs with stages at 200 and 350
reached 0.905 (0.767 at L = 200) in 282 s on 2 workers.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from gc_helpers.checks import int_at_least
from gc_helpers.policies import GaussianPolicy, task_of
from gc_research.chunked import chunk_search
from gc_research.search_results import SearchResult, check_grid

BEST = dict(method="project+cem", chunk=5, reach=0.3, iters=3, restarts=4, population=64, elites=8, cem_iters=4,
            sigma0=0.1, future_weight=2.0, safety=10,
            staged=dict(stages=(200, 350), width=2, branch=2, n_workers=2))

MAIN_GUARD = """\
Worker processes start by re-running the script that started them, so a script must start the search under a
main guard, e.g.

    if __name__ == "__main__":
        result = staged_search.search(policy, target, **staged_search.BEST)

(``from gc_research import staged_search``) or run it in this process with n_workers=1:
staged=dict(staged_search.BEST["staged"], n_workers=1)."""


def search(policy: GaussianPolicy, target, staged: dict | None = None, **kw) -> SearchResult:
    """``chunk_search(policy, target, **kw)``, or with ``staged`` (a dict of stages, width, branch, n_workers)
    ``staged_search`` over such searches: the one call that takes ``gc_research.chunked.RECOMMENDED`` or ``BEST``."""
    if staged is None:
        return chunk_search(policy, target, **kw)
    if not isinstance(staged, dict):
        raise ValueError(f"staged={staged!r}: must be None or a dict of staged_search options")
    return staged_search(policy, target, **staged, **kw)


def _worker_pool(n_workers: int) -> ProcessPoolExecutor | None:
    """``n_workers`` fresh ("spawn") processes, or None for one: the search then runs in this process."""
    if n_workers == 1:
        return None
    if multiprocessing.parent_process() is not None:  # a worker re-running an unguarded script reached this line
        raise RuntimeError(f"staged_search(n_workers={n_workers}) was called while a worker process started.\n"
                           + MAIN_GUARD)
    return ProcessPoolExecutor(n_workers, mp_context=multiprocessing.get_context("spawn"))


def _collect(job):
    """A worker's result; a pool that broke at start-up gets the error that says what to change."""
    try:
        return job.result()
    except BrokenProcessPool as err:
        script = getattr(sys.modules.get("__main__"), "__file__", None)
        raise RuntimeError(f"staged_search's worker processes stopped before returning a result (script: "
                           f"{script or 'none, interactive'}).\n" + MAIN_GUARD) from err


class _Selection:
    """Successive selection over whole searches: the kept lineages, and what every stage cost and reached."""

    CURVE = ("lengths", "curve", "curve_lbfgs", "seconds", "env_steps")

    def __init__(self, width: int, branch: int, seed: int):
        self.width, self.branch, self.seed = width, branch, seed
        self.t0, self.steps, self.runs = time.perf_counter(), 0, 0
        self.nodes = [(None, {k: [] for k in self.CURVE})]  # (a search result, the lineage's curve so far)
        self.stage_cosines = []
        self.seconds = 0.0

    def run_stage(self, end: int, policy, target, grid: np.ndarray, search_kw: dict, pool):
        """Continue every kept lineage (or start width × branch) to length ``end``, then keep the ``width`` best:
        healthy first, then by cosine."""
        jobs = []
        for parent, rec in self.nodes:
            for _ in range(self.width * self.branch if parent is None else self.branch):
                kw = dict(search_kw, max_length=end, seed=self.seed + self.runs, lengths=grid[grid <= end],
                          prefix=None if parent is None else parent.actions[0])
                if pool is not None:
                    kw["n_threads"] = 1
                jobs.append((rec, pool.submit(chunk_search, policy, target, **kw) if pool else kw))
                self.runs += 1
        children = []
        for rec, job in jobs:
            res = _collect(job) if pool else chunk_search(policy, target, **job)
            self.steps += int(res.env_steps[-1]) if res.env_steps.size else 0
            children.append((res, rec))
        self.seconds = time.perf_counter() - self.t0
        stitched = [(res, self._extended(rec, res)) for res, rec in children]
        stitched.sort(key=lambda x: (not x[0].settings.get("unhealthy_steps"), x[0].cosine), reverse=True)
        self.stage_cosines.append([round(float(r.cosine), 4) for r, _ in stitched])
        self.nodes = stitched[: self.width]

    def _extended(self, rec: dict, res: SearchResult) -> dict:
        new = {k: list(v) for k, v in rec.items()}
        for k, v in (("lengths", res.lengths), ("curve", res.curve), ("curve_lbfgs", res.curve_lbfgs),
                     ("seconds", [self.seconds] * res.lengths.size), ("env_steps", [self.steps] * res.lengths.size)):
            new[k] += list(v)
        return new

    def result(self, ends, complete: bool = True, node=None) -> SearchResult:
        """The best lineage (or ``node``) as one SearchResult: its sequence, and its curve stitched over the
        stages."""
        best, rec = node or self.nodes[0]
        settings = {**best.settings, "stages": list(ends), "width": self.width, "branch": self.branch,
                    "seed": self.seed, "runs": self.runs, "stage_cosines": self.stage_cosines}
        return SearchResult(best.actions, best.obs, best.physics, best.order, best.alpha, best.direction,
                            best.cosine, np.asarray(rec["lengths"], dtype=int), np.asarray(rec["curve"], dtype=float),
                            np.asarray(rec["curve_lbfgs"], dtype=float), np.asarray(rec["seconds"], dtype=float),
                            np.asarray(rec["env_steps"], dtype=np.int64), best.reset_seeds, best.method,
                            settings, complete and best.complete)


def staged_search(policy: GaussianPolicy, target, max_length: int = 490, stages=(160, 330), width: int = 2,
                  branch: int = 2, seed: int = 0, lengths=None, n_workers: int = 1,
                  callback: Callable[[dict], object] | None = None, **search_kw) -> SearchResult:
    """Successive selection over whole searches: ``width`` × ``branch`` independent ``chunk_search`` runs (seeds
    ``seed``, ``seed`` + 1, …) grow sequences to the first stage length; the ``width`` best (healthy first, then
    by cosine) are kept, each is continued by ``branch`` runs (``prefix``) to the next stage, and so on to
    ``max_length``. The cost is about width × branch single searches, spread over ``n_workers`` processes (from a
    script, start the search under ``if __name__ == "__main__":``; a clear error says so otherwise).

    Why: one greedy search is a chaotic process (a change of 1e-8 in one action changes the states 150 steps
    later), so its final cosine varies from seed to seed; the cosine reached at an early stage predicts the final
    one, so branching from the best prefixes spends the budget where it pays. The returned curve is the winning
    lineage's; ``seconds`` and ``env_steps`` count every run up to the end of the stage that reached each length.
    ``settings["stage_cosines"]`` lists every run's cosine per stage. ``callback(info)`` runs after each stage
    with {"length", "cosine", "seconds", "env_steps", "partial"} as in ``chunk_search``. Other keywords go to
    ``chunk_search``.
    """
    max_length = int_at_least(max_length, "max_length")
    width, branch = int_at_least(width, "width"), int_at_least(branch, "branch")
    n_workers = int_at_least(n_workers, "n_workers")
    ends = sorted({int_at_least(e, "stages") for e in stages if int(e) < max_length}) + [max_length]
    grid = check_grid(lengths if lengths is not None else range(10, max_length + 1, 10), max_length)
    search_kw = dict(search_kw, env_id=task_of(policy, search_kw.get("env_id")))  # the workers get it explicitly
    sel = _Selection(width, branch, seed)
    pool = _worker_pool(n_workers)
    try:
        for end in ends:
            sel.run_stage(end, policy, target, grid, search_kw, pool)
            if callback is not None:
                callback({"length": end, "cosine": sel.nodes[0][0].cosine, "cosine_lbfgs": float("nan"),
                          "seconds": sel.seconds, "env_steps": sel.steps,
                          "partial": lambda complete=False, n=sel.nodes[0]: sel.result(ends, complete, n)})
    except KeyboardInterrupt:
        if sel.nodes[0][0] is None:
            raise
        return sel.result(ends, complete=False)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return sel.result(ends)
