"""The study's own search, hill climbing, kept as a faithful baseline (bench/compression.py compares with it).
Notebook 03 §5 reads its curve; the search it runs is ``gc_research.chunked.chunk_search(method="hill")``.
"""

from __future__ import annotations

from gc_helpers.compression.targets import STUDY_RESET_SEED
from gc_helpers.policies import GaussianPolicy
from gc_research.chunked import chunk_search
from gc_research.search_results import SearchResult


def hill_climb(policy: GaussianPolicy, target, max_length: int = 490, alpha: str = "lbfgs", chunk: int = 10,
               reset_seed: int = STUDY_RESET_SEED, iterations: int = 200, std: float = 0.5, patience: int = 5,
               std_min: float = 1e-5, **kw) -> SearchResult:
    """The study's search, as a faithful baseline: lengths grown ``chunk`` = 10 at a time, the prefix and its α
    kept, the new actions hill-climbed for ``iterations`` = 200 iterations (std halved after ``patience`` = 5
    failures, stop when std < ``std_min`` = 1e-5), α by L-BFGS (``alpha="lbfgs"``) or exact (``alpha="exact"``).
    The initial std is not recorded in the study's description; ``std`` = 0.5 here (actions are clipped to the
    box before replay and scoring). Other keywords go to ``chunk_search``."""
    return chunk_search(policy, target, max_length=max_length, chunk=chunk, method="hill",
                        reset_seeds=(reset_seed,), hill_alpha=alpha, hill_iterations=iterations, hill_std=std,
                        hill_patience=patience, hill_std_min=std_min, **kw)
