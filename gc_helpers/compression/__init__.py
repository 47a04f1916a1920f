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
- ``results``: what a search returns; ``chunked``: the chunk search (``ChunkOptions``);
- ``search``: ``search``, ``RECOMMENDED``, ``BEST`` and staged selection over whole searches;
- ``sweeps``: the shipped sweeps of cosine vs length (data/compressed/<name>/; ``gc_research.sweeps`` makes them);
- ``probes``: the random-action probe (no search: the span of one random sequence's scores).

Everything a notebook uses is importable from here: ``from gc_helpers import compression as C; C.search(...)``.
"""

from .alpha import best_alpha_lbfgs, fit_alpha
from .cem import CEMResult, batch_cosines, cem_iteration, cem_sequence
from .chunked import CHUNK_METHODS, STUDY_RESET_SEED, ChunkOptions, chunk_search
from .geometry import box_step, mean_jacobian, policy_mean, project_directions, step_grads
from .incremental import IncrementalSpan, span_gains
from .probes import Compressibility, random_action_compressibility
from .results import SearchResult
from .scorer import Scorer, torch_threads, valid_episode
from .search import BEST, RECOMMENDED, search, staged_search
from .span import (
    AlphaFit,
    best_alpha,
    best_alpha_exact,
    chunk_gain,
    l2_objective,
    no_alpha,
    null_cosine,
    simulated_null_cosine,
    span_cosine,
)
from .sweeps import COMPRESSED_KIND, as_sweep, compressed_dir, load_compressed, shipped_sweep
from .targets import Target, artifact_path, load_run_artifact, random_target, run_policy, weight_change_target

__all__ = [
    "AlphaFit", "BEST", "CEMResult", "CHUNK_METHODS", "COMPRESSED_KIND", "ChunkOptions", "Compressibility",
    "IncrementalSpan", "RECOMMENDED", "STUDY_RESET_SEED", "Scorer", "SearchResult", "Target",
    "artifact_path", "as_sweep", "batch_cosines", "best_alpha", "best_alpha_exact", "best_alpha_lbfgs",
    "box_step", "cem_iteration", "cem_sequence", "chunk_gain", "chunk_search", "compressed_dir",
    "fit_alpha", "l2_objective", "load_compressed", "load_run_artifact", "mean_jacobian",
    "no_alpha", "null_cosine", "policy_mean", "project_directions", "random_action_compressibility",
    "random_target", "run_policy",
    "search", "shipped_sweep", "simulated_null_cosine", "span_cosine", "span_gains",
    "staged_search", "step_grads", "torch_threads", "valid_episode", "weight_change_target",
]
