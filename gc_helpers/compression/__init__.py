"""Gradient compression: find ONE open-loop action sequence whose per-step score vectors g_t = ∇θ log π(a_t|s_t),
weighted by coefficients α_t, point along a target direction in weight space (the training weight change or a
random direction).

Taught in notebooks/03_cem_compression.ipynb (targets, CEM, chunk searches, valid episodes, staged selection) and
notebooks/04_alpha_optimisation.ipynb (best α, cosine vs length, the √(L/P) null model).

One module per idea, read in this order:

- ``span``: cosines, the best α (a least-squares projection), the cos² a chunk adds, the √(L/P) null (numpy only);
- ``alpha``: the study's L-BFGS α; ``incremental``: the span grown column by column (torch, batched);
- ``targets``: what to compress (a run's weight change, a random direction) and the runs it comes from;
- ``geometry``: the policy's per-step scores, mean Jacobian and least-squares action directions;
- ``cem``: one cross-entropy-method iteration, and the whole-sequence CEM (Algorithms 1 and 2);
- ``scorer``: replaying candidate chunks and scoring them, with the valid-episode rule;
- ``optimisers``: the per-chunk optimisers ("project", "cem", "hill", "random");
- ``results``: what a search returns; ``chunked``: the chunk search (``ChunkOptions``, ``RECOMMENDED``);
- ``sweeps``: the shipped sweeps of cosine vs length (data/compressed/<name>/; ``gc_research.sweeps`` makes them);
- ``probes``: the random-action probe (no search: the span of one random sequence's scores).

What the notebooks and bench/ use through the package is gathered here (the rest from its own module):
``from gc_helpers import compression as C; C.chunk_search(policy, target, **C.RECOMMENDED)``. The shipped sweeps'
staged BEST search on worker processes is ``gc_research.staged_search`` (bench/ only).
"""

from .alpha import best_alpha_lbfgs, fit_alpha
from .cem import cem_iteration, cem_sequence
from .chunked import RECOMMENDED, STUDY_RESET_SEED, chunk_search
from .geometry import box_step, mean_jacobian, step_grads
from .incremental import IncrementalSpan
from .probes import random_action_compressibility
from .scorer import Scorer
from .span import (
    best_alpha,
    best_alpha_exact,
    chunk_gain,
    l2_objective,
    no_alpha,
    null_cosine,
    simulated_null_cosine,
    span_cosine,
)
from .sweeps import as_sweep, load_compressed, shipped_sweep
from .targets import Target, load_run_artifact, random_target, run_policy, weight_change_target

__all__ = [
    "IncrementalSpan", "RECOMMENDED", "STUDY_RESET_SEED", "Scorer", "Target", "as_sweep", "best_alpha",
    "best_alpha_exact", "best_alpha_lbfgs", "box_step", "cem_iteration", "cem_sequence", "chunk_gain", "chunk_search",
    "fit_alpha", "l2_objective", "load_compressed", "load_run_artifact", "mean_jacobian", "no_alpha", "null_cosine",
    "random_action_compressibility", "random_target", "run_policy", "shipped_sweep", "simulated_null_cosine",
    "span_cosine", "step_grads", "weight_change_target",
]
