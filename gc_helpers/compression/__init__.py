"""Gradient compression: find ONE open-loop action sequence whose per-step score vectors g_t = ∇θ log π(a_t|s_t),
weighted by coefficients α_t, point along a target direction in weight space (the training weight change or a
random direction).

Taught in notebooks/03_cem_compression.ipynb (targets, CEM, what chunk searches add) and
notebooks/04_alpha_optimisation.ipynb (best α, cosine vs length, the √(L/P) null model).

One module per idea, read in this order:

- ``span``: cosines, the best α (a least-squares projection), the cos² a chunk adds, the √(L/P) null (numpy only);
- ``alpha``: the study's L-BFGS α; ``incremental``: the cos² a block of columns adds (torch, batched);
- ``targets``: what to compress (a run's weight change, a random direction) and the runs it comes from;
- ``geometry``: the policy's per-step scores and mean Jacobian;
- ``cem``: one cross-entropy-method iteration, and the whole-sequence CEM (Algorithms 1 and 2);
- ``sweeps``: the shipped sweeps of cosine vs length (data/compressed/<name>/; ``gc_research.sweeps`` makes them);
- ``probes``: the random-action probe (no search: the span of one random sequence's scores).

What the notebooks and bench/ use through the package is gathered here (the rest from its own module):
``from gc_helpers import compression as C; C.best_alpha_exact(G, w)``. The chunk search that made the shipped
sweeps, which the notebooks read but never run, is in the research package: ``gc_research.chunked`` (the search,
``RECOMMENDED``), ``chunk_scorer``, ``chunk_optimisers``, ``projected_actions``, ``incremental_span``,
``search_results`` and ``staged_search`` (``BEST``).
"""

from .alpha import best_alpha_lbfgs, fit_alpha
from .cem import cem_iteration, cem_sequence
from .geometry import mean_jacobian, step_grads
from .probes import random_action_compressibility
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
from .targets import STUDY_RESET_SEED, Target, load_run_artifact, random_target, run_policy, weight_change_target

__all__ = [
    "STUDY_RESET_SEED", "Target", "as_sweep", "best_alpha", "best_alpha_exact", "best_alpha_lbfgs", "cem_iteration",
    "cem_sequence", "chunk_gain", "fit_alpha", "l2_objective", "load_compressed", "load_run_artifact",
    "mean_jacobian", "no_alpha", "null_cosine", "random_action_compressibility", "random_target", "run_policy",
    "shipped_sweep", "simulated_null_cosine", "span_cosine", "step_grads", "weight_change_target",
]
