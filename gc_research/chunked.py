"""The chunk search: grow an action sequence chunk by chunk, each chunk chosen with the prefix fixed.

Taught in notebooks/03_cem_compression.ipynb, §5 Longer sequences: grow them chunk by chunk.

Why greedy chunks: the open-loop dynamics are chaotic (a 1e-3 change of a few actions moves the next observation
by ≈0.6), so a sequence can only be planned where its states are known: the prefix. Each chunk is replayed from
the prefix's saved MuJoCo state (``envs.advance``) and scored by the cos² it adds to the span of the prefix's
gradients (``IncrementalSpan``), by one of the optimisers in ``chunk_optimisers``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields

import numpy as np

from gc_helpers import envs, sim
from gc_helpers.checks import check_seed, int_at_least, positive_float
from gc_helpers.compression.targets import STUDY_RESET_SEED, target_vector
from gc_helpers.policies import GaussianPolicy, check_sigma, task_of
from gc_research.chunk_optimisers import ChunkContext, best_chunk
from gc_research.chunk_scorer import Scorer, torch_threads
from gc_research.incremental_span import IncrementalSpan
from gc_research.search_results import SearchResult, Trajectory, check_grid, search_result

CHUNK_METHODS = ("project", "cem", "project+cem", "random", "hill")
# the fast settings the notebooks search with (seconds to L = 490); safety 10 would cost 1.5× here. The shipped
# sweeps' slower BEST settings (staged selection on worker processes) are gc_research.staged_search's.
RECOMMENDED = dict(method="project", chunk=5, reach=0.3, iters=3, safety=3)


@dataclass(frozen=True)
class ChunkOptions:
    """The chunk optimisers' settings: ``chunk_search(..., **options)`` takes any of these fields by name."""

    iters: int = 3
    """"project": fixed-point iterations (replay the chunk, solve for the directions, set the actions)"""
    restarts: int = 1
    """"project": random initial chunks iterated at once (one replay call for all of them)"""
    future_weight: float = 0.0
    """weight, in a chunk's score, of the cos² the k free directions of the state it ends in could add"""
    safety: int = 0
    """steps of zero action after a chunk that must keep the episode valid (the chunk must leave a way on)"""
    ridge: float = 1e-6
    """"project": ridge of the least-squares solve, relative to the largest eigenvalue of its Gram matrix"""
    reach: float = 1.0
    """"project": how far actions go along their directions, as a fraction of the way to the box's edge"""
    population: int = 32
    """"cem": candidate chunks per iteration"""
    elites: int = 6
    """"cem": best candidates the mean is refitted to"""
    cem_iters: int = 4
    """"cem": iterations per chunk"""
    sigma0: float = 0.3
    """"cem": initial std of the candidates around the mean"""
    sigma_decay: float = 0.6
    """"cem": factor the std shrinks by per iteration"""
    sigma_min: float = 0.02
    """"cem": floor of the std"""
    regression_step: float = 0.0
    """"cem": step along the gradient of a linear fit of score on actions (0: off)"""
    hill_alpha: str = "lbfgs"
    """"hill": α of the score, "lbfgs" (the study) or "exact" """
    hill_iterations: int = 200
    """"hill": hill-climbing iterations per chunk"""
    hill_std: float = 0.5
    """"hill": initial std of the perturbations"""
    hill_patience: int = 5
    """"hill": failures in a row before the std is halved"""
    hill_std_min: float = 1e-5
    """"hill": stop when the std falls below this"""

    def __post_init__(self):
        int_at_least(self.iters, "iters", 0)
        int_at_least(self.restarts, "restarts")
        int_at_least(self.safety, "safety", 0)
        positive_float(self.reach, "reach")
        if self.hill_alpha not in ("lbfgs", "exact"):
            raise ValueError(f"hill_alpha={self.hill_alpha!r}: allowed: 'lbfgs', 'exact'")

    @classmethod
    def from_options(cls, options: dict) -> ChunkOptions:
        """From keyword options, naming any that is not a field."""
        unknown = set(options) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown options {sorted(unknown)}; allowed: {sorted(f.name for f in fields(cls))}")
        return cls(**options)


def chunk_search(policy: GaussianPolicy, target, max_length: int = 490, chunk: int = 10,
                 method: str = "project", reset_seeds=(STUDY_RESET_SEED,), lengths=None, seed: int = 0,
                 env_id: str | None = None, n_threads: int | None = None, torch_n_threads: int | None = 1,
                 callback: Callable[[dict], object] | None = None, prefix=None, **options) -> SearchResult:
    """Grow action sequences ``chunk`` steps at a time up to ``max_length`` steps in total, greedily: each chunk is
    optimised with the prefix fixed, replayed from the prefix's saved MuJoCo state, and scored by the cos² it adds
    to the span of the prefix's gradients. Taught in notebooks/03_cem_compression.ipynb, §5.

    method: "project" (least-squares action directions), "cem", "project+cem" (CEM started at the "project"
    solution), "random" or "hill" (the study's hill climbing, ``gc_research.hill_climb``); ``options``: the fields of
    ``ChunkOptions``. env_id: the policy's task unless given (a mismatch is a ValueError).
    With several ``reset_seeds`` the chunks go round-robin to K trajectories sharing one α-span.
    ``lengths``: the total lengths at which the curve is recorded (default: every chunk boundary).
    ``prefix`` (L0, k): actions to start from (one reset seed only): they are replayed and kept, and the search
    grows the sequence from L0 to ``max_length`` (gc_research's ``staged_search`` branches this way).
    ``callback(info)`` runs after each grid length with {"length", "cosine", "seconds", "env_steps",
    "partial"}, where ``partial()`` builds the SearchResult so far (``gc_research.sweeps.sweep`` saves it). A
    KeyboardInterrupt returns what was built so far with ``complete=False``. Actions are kept inside the box [-1, 1].
    """
    opts = ChunkOptions.from_options(options)
    if method not in CHUNK_METHODS:
        raise ValueError(f"method={method!r}: allowed: {', '.join(CHUNK_METHODS)}")
    max_length = int_at_least(max_length, "max_length")
    chunk = int_at_least(chunk, "chunk")
    check_sigma(policy.sigma)
    w = target_vector(target, policy.n_params)
    env_id = task_of(policy, env_id)
    seeds = _reset_seed_tuple(reset_seeds)
    if prefix is not None:
        prefix = envs.check_actions(prefix, envs.env_spec(env_id).act_dim, ndim=2)
        if len(seeds) != 1 or len(prefix) >= max_length:
            raise ValueError(f"prefix of {len(prefix)} steps: needs one reset seed (got {len(seeds)}) and fewer "
                             f"steps than max_length={max_length}")
    grid = check_grid(lengths if lengths is not None else range(chunk, max_length + 1, chunk), max_length)
    settings = {"max_length": max_length, "chunk": chunk, "seed": seed, "env_id": env_id, **asdict(opts)}
    with torch_threads(torch_n_threads):
        growth = _Growth(policy, w, opts, env_id, seeds, seed, n_threads, max_length, method, settings)
        return growth.run(chunk, grid, callback, prefix)


def _reset_seed_tuple(reset_seeds) -> tuple[int, ...]:
    """One reset seed or several, as a non-empty tuple of seeds.
    Taught in notebooks/03_cem_compression.ipynb, §5 Longer sequences: grow them chunk by chunk."""
    seeds = (reset_seeds,) if isinstance(reset_seeds, int | np.integer) else tuple(reset_seeds)
    if not seeds:
        raise ValueError("reset_seeds is empty; give at least one reset seed")
    return tuple(check_seed(s) for s in seeds)


class _Growth:
    """One chunk search in progress: the trajectories, the span of their gradients, and the curve so far."""

    def __init__(self, policy, w, opts, env_id, seeds, seed, n_threads, max_length, method, settings):
        spec = envs.env_spec(env_id)
        span = IncrementalSpan(w, capacity=max_length + 8)
        scorer = Scorer(policy, span, n_threads, float(opts.future_weight), int(opts.safety))
        self.ctx = ChunkContext(policy, w, opts, spec.act_low, spec.act_high,
                                np.random.default_rng(check_seed(seed)), span, scorer)
        self.act_dim, self.seeds, self.method, self.settings = spec.act_dim, seeds, method, settings
        self.trajs = [Trajectory(envs.reset_state(env_id, s)) for s in seeds]
        self.order, self.unhealthy = [], []  # unhealthy: steps where no healthy chunk was found
        self.rec = {"lengths": [], "curve": [], "curve_lbfgs": [], "seconds": [], "env_steps": []}
        self.t0 = time.perf_counter()

    def commit(self, ti: int, A: np.ndarray, rep: sim.Replay, G):
        """Keep the chunk A (c, k) of trajectory ti: its gradients G join the span, the state moves on."""
        tr, c = self.trajs[ti], len(A)
        if rep.terminated[0, :c].any():
            self.unhealthy.append(tr.length + int(np.argmax(rep.terminated[0, :c])))
        self.ctx.span.add(G)
        self.ctx.cols.append(G.numpy())
        self.order.extend((ti, tr.length + i) for i in range(c))
        tr.extend(A, rep.obs[0, 1 : c + 1], rep.physics[0, 1 : c + 1])
        self.ctx.scorer.env_steps += c

    def record(self, total: int, callback):
        """The curve at length ``total``: the span's cosine, the L-BFGS one, the time and env steps so far."""
        ctx, rec = self.ctx, self.rec
        rec["lengths"].append(total)
        rec["curve"].append(ctx.span.cosine)
        rec["curve_lbfgs"].append(ctx.lbfgs_cos)
        rec["seconds"].append(time.perf_counter() - self.t0)
        rec["env_steps"].append(ctx.scorer.env_steps)
        if callback is not None:
            callback({"length": total, "cosine": ctx.span.cosine, "cosine_lbfgs": ctx.lbfgs_cos,
                      "seconds": rec["seconds"][-1], "env_steps": ctx.scorer.env_steps, "partial": self.result})

    def result(self, complete: bool = True) -> SearchResult:
        return search_result(self.trajs, self.ctx.cols, self.ctx.w, self.order, self.rec, self.seeds, self.method,
                             {**self.settings, "unhealthy_steps": self.unhealthy}, complete)

    def run(self, chunk: int, grid: np.ndarray, callback, prefix=None) -> SearchResult:
        ctx, total, j, gi = self.ctx, 0, 0, 0
        if prefix is not None:  # replay the given start of the sequence and take its gradients as the span so far
            rep = ctx.scorer.replay(self.trajs[0].state, prefix[None])
            self.commit(0, prefix.copy(), rep, ctx.policy.score(rep.obs[0, :-1], prefix))
            total = len(prefix)
            gi = int(np.searchsorted(grid, total, side="right"))
        try:
            while total < grid[-1]:
                ti = j % len(self.trajs)
                j += 1
                c = max(1, min(chunk, int(grid[gi]) - total))
                init = ctx.rng.uniform(ctx.lo, ctx.hi, (c, self.act_dim))
                A, _, rep, G = best_chunk(ctx, self.method, self.trajs[ti].state, init)
                self.commit(ti, A, rep, G)
                total += c
                if gi < grid.size and total >= grid[gi]:
                    gi += 1
                    self.record(total, callback)
        except KeyboardInterrupt:
            return self.result(complete=False)
        return self.result()
