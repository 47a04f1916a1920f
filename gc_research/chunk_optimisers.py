"""The per-chunk optimisers of the chunk search: each picks the actions of ONE chunk with the prefix fixed.

Taught in notebooks/03_cem_compression.ipynb, §5 Longer sequences: grow them chunk by chunk.

Each takes the search's ``ChunkContext`` and the saved state where the chunk starts, and returns the best chunk
it saw as (actions (c, k), score, replay, gradients (c, P)); the score is the cos² the chunk adds (−inf for a
chunk that breaks the valid-episode rule, see ``chunk_scorer``).

- ``_chunk_project``: the least-squares action directions (``projected_actions.project_actions``), fixed-point iterated;
- ``chunk_cem``: the cross-entropy method (``cem.cem_iteration``), optionally started at the "project" solution;
- ``_chunk_hill``: the study's random hill climbing;
- ``_chunk_random``: uniform random actions, the baseline of baselines;
- ``_healthy_fallback``: smaller and smaller random chunks when every candidate broke the valid-episode rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from gc_helpers import envs
from gc_helpers.compression.alpha import best_alpha_lbfgs
from gc_helpers.compression.cem import cem_iteration
from gc_helpers.policies import GaussianPolicy
from gc_research.chunk_scorer import Scorer, take
from gc_research.incremental_span import IncrementalSpan
from gc_research.projected_actions import project_actions


@dataclass
class ChunkContext:
    """What the optimisers share during one chunk search: the policy and target, the options (``ChunkOptions``),
    the action box, the random generator, the span so far and its scorer, and (hill climbing) the prefix's
    gradients, its L-BFGS α and that α's cosine."""

    policy: GaussianPolicy
    w: np.ndarray
    opts: object
    lo: float
    hi: float
    rng: np.random.Generator
    span: IncrementalSpan
    scorer: Scorer
    cols: list = field(default_factory=list)
    alpha: np.ndarray | None = None
    lbfgs_cos: float = float("nan")


def _chunk_random(ctx: ChunkContext, state: envs.StartState, init: np.ndarray):
    """The chunk ``init`` itself (uniform random actions), scored.
    Taught in notebooks/03_cem_compression.ipynb, §5 Longer sequences: grow them chunk by chunk."""
    gains, rep, G = ctx.scorer(state, init[None])
    return init, float(gains[0]), rep, G[0]


def _chunk_project(ctx: ChunkContext, state: envs.StartState, init: np.ndarray):
    """Fixed-point iteration: replay the chunk, solve for the best u_t at those states, set a_t ∝ u_t
    (``reach`` of the way to the box), repeat ``iters`` times, from ``restarts`` random initial chunks at once
    (one replay call for all of them).
    Taught in notebooks/03_cem_compression.ipynb, §5 Longer sequences: grow them chunk by chunk."""
    o = ctx.opts
    A = np.clip(init, ctx.lo, ctx.hi)
    A = np.concatenate([A[None], ctx.rng.uniform(ctx.lo, ctx.hi, (o.restarts - 1, *A.shape))]) if o.restarts > 1 \
        else A[None]
    best = None
    for it in range(o.iters + 1):
        gains, rep, G = ctx.scorer(state, A)
        i = int(np.argmax(gains))
        if best is None or gains[i] > best[1]:
            best = (A[i].copy(), float(gains[i]), take(rep, i), G[i])
        if it == o.iters:
            break
        for b in range(o.restarts):
            new = project_actions(ctx.policy, ctx.span, rep.obs[b, :-1], o.ridge, o.reach, ctx.lo, ctx.hi)
            A[b] = np.clip(new, ctx.lo, ctx.hi)
    return best


def _regression_step(X, gains, mean, std: float, step: float) -> np.ndarray:
    """A step along the gradient of a linear fit of score on actions (the report's suggestion), or zeros."""
    pop, (c, k) = len(X), mean.shape
    Z = (X - mean).reshape(pop, -1)
    coef = np.linalg.lstsq(np.c_[np.ones(pop), Z], gains, rcond=None)[0][1:]
    nrm = np.linalg.norm(coef)
    if nrm > 0 and np.all(np.isfinite(coef)):
        return step * std * (coef / nrm).reshape(c, k) * math.sqrt(c * k)
    return np.zeros_like(mean)


def chunk_cem(ctx: ChunkContext, state: envs.StartState, mean: np.ndarray, best=None):
    """Cross-entropy method on one chunk: ``cem_iters`` calls of ``cem_iteration`` (``population``, ``elites``)
    from ``mean``, with a std that starts at ``sigma0`` and shrinks by ``sigma_decay`` per iteration (floor
    ``sigma_min``) instead of being refitted. ``regression_step`` > 0 also moves the mean along the gradient of a
    linear fit of score on actions. ``best``: a chunk already found (e.g. by ``_chunk_project``) to beat.
    Taught in notebooks/03_cem_compression.ipynb, §5 Longer sequences: grow them chunk by chunk."""
    o = ctx.opts
    seen = {}

    def score(X):  # keeps the replays and gradients, so that the best chunk's can be returned
        seen["X"], (seen["gains"], seen["rep"], seen["G"]) = X, ctx.scorer(state, X)
        return seen["gains"]

    std = o.sigma0
    mean = np.clip(mean, ctx.lo, ctx.hi)
    for _ in range(o.cem_iters):
        new_mean, _, x, s = cem_iteration(mean, std, score, o.population, o.elites, ctx.rng, ctx.lo, ctx.hi,
                                          skip_checks=True)
        if best is None or s > best[1]:
            i = int(np.argsort(-seen["gains"])[0])  # x's row: the ordering cem_iteration used
            best = (x.copy(), s, take(seen["rep"], i), seen["G"][i])
        if o.regression_step > 0 and seen["gains"].std() > 0:
            new_mean = new_mean + _regression_step(seen["X"], seen["gains"], mean, std, o.regression_step)
        mean = np.clip(new_mean, ctx.lo, ctx.hi)
        std = max(std * o.sigma_decay, o.sigma_min)
    return best


def _chunk_hill(ctx: ChunkContext, state: envs.StartState, init: np.ndarray):
    """The study's random hill climbing on one chunk (the prefix and its α kept): new actions start at
    0.01 × uniform; each of ``hill_iterations`` iterations adds N(0, std²) to every new action (clipped to the
    box), keeps the candidate if its cosine improves, halves std after ``hill_patience`` failures in a row and
    stops when std < ``hill_std_min``. The cosine uses α from L-BFGS (``hill_alpha="lbfgs"``: the study; started
    from the kept α with zeros for the new steps) or the exact projection (``hill_alpha="exact"``).
    Taught in notebooks/03_cem_compression.ipynb, §5 Longer sequences: grow them chunk by chunk."""
    o, rng = ctx.opts, ctx.rng
    A = np.clip(0.01 * init, ctx.lo, ctx.hi)
    lbfgs = o.hill_alpha == "lbfgs"
    prefix = np.concatenate(ctx.cols) if ctx.cols else np.zeros((0, ctx.span.P))
    alpha_prev = ctx.alpha if ctx.alpha is not None else np.zeros(0)

    def evaluate(A):
        gains, rep, G = ctx.scorer(state, A[None])
        if not lbfgs or not np.isfinite(gains[0]):
            return float(gains[0]), None, rep, G[0]
        Gall = np.concatenate([prefix, G[0].numpy()])
        a0 = np.concatenate([alpha_prev, np.zeros(len(A))]) if len(prefix) and len(alpha_prev) == len(prefix) \
            else None  # (after a fallback chunk the kept α is gone: start from ones, as at L = 0)
        fit = best_alpha_lbfgs(Gall, ctx.w, alpha0=a0)
        return fit.cosine, fit.alpha, rep, G[0]

    score, alpha, rep, G = evaluate(A)
    std, fails = o.hill_std, 0
    for _ in range(o.hill_iterations):
        if std < o.hill_std_min:
            break
        cand = np.clip(A + std * rng.standard_normal(A.shape), ctx.lo, ctx.hi)
        s2, a2, r2, g2 = evaluate(cand)
        if s2 > score:
            A, score, alpha, rep, G, fails = cand, s2, a2, r2, g2, 0
        else:
            fails += 1
            if fails >= o.hill_patience:
                std, fails = std / 2, 0
    if lbfgs:  # no healthy candidate: the search falls back to another chunk, whose α L-BFGS has not seen
        ctx.alpha, ctx.lbfgs_cos = (alpha, score) if np.isfinite(score) else (None, float("nan"))
    return A, score, rep, G


def _healthy_fallback(ctx: ChunkContext, state: envs.StartState, shape, best, tries: int = 4, batch: int = 64):
    """When every candidate chunk ended unhealthy: random chunks of shrinking size (half the box, then a quarter,
    …), the healthy one adding the most. If none is healthy the best candidate is kept; the search records the
    step in ``settings["unhealthy_steps"]``.
    Taught in notebooks/03_cem_compression.ipynb, §5 Longer sequences: grow them chunk by chunk."""
    for j in range(tries):
        A = ctx.rng.uniform(ctx.lo, ctx.hi, (batch, *shape)) * 0.5 ** (j + 1)
        gains, rep, G = ctx.scorer(state, A)
        i = int(np.argmax(gains))
        if np.isfinite(gains[i]):
            return A[i].copy(), float(gains[i]), take(rep, i), G[i]
    return best


CHUNK_OPTIMISERS = {"project": _chunk_project, "random": _chunk_random, "hill": _chunk_hill}


def best_chunk(ctx: ChunkContext, method: str, state: envs.StartState, init: np.ndarray):
    """The chunk the optimiser ``method`` picks from ``init``, or a healthy fallback if it found only unhealthy
    ones. Taught in notebooks/03_cem_compression.ipynb, §5 Longer sequences: grow them chunk by chunk."""
    if method == "cem":
        best = chunk_cem(ctx, state, np.zeros_like(init))
    elif method == "project+cem":
        proj = _chunk_project(ctx, state, init)
        best = chunk_cem(ctx, state, proj[0], best=proj)
    else:
        best = CHUNK_OPTIMISERS[method](ctx, state, init)
    return best if np.isfinite(best[1]) else _healthy_fallback(ctx, state, init.shape, best)
