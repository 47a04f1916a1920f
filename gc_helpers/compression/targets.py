"""Targets to compress (a direction in weight space) and the stored training runs they come from.

Taught in notebooks/03_cem_compression.ipynb, §1 The target (the weight change w_last − w_first) and
notebooks/04_alpha_optimisation.ipynb, §3 Cosine vs length (weight change vs random direction).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import store
from ..checks import check_seed, int_at_least
from ..policies import GaussianPolicy, from_description
from .span import check_vector

STUDY_RESET_SEED = 42  # the study's start state: Ant-v5's reset with seed 42 (every shipped sweep starts there)


@dataclass(frozen=True)
class Target:
    """A direction to compress: ``vector`` (P,), a name ("weight_change", "random"), the run it comes from
    (or None) and how it was made. Taught in notebooks/03_cem_compression.ipynb, §1 The target."""

    name: str
    vector: np.ndarray
    run: str | None = None
    info: dict = field(default_factory=dict)

    @property
    def n_params(self) -> int:
        return int(self.vector.size)


def target_vector(target, n_params: int | None = None) -> np.ndarray:
    """The vector of a ``Target`` or of a plain array, checked (finite, non-zero, ``n_params`` entries).
    Taught in notebooks/03_cem_compression.ipynb, §1 The target."""
    return check_vector(target.vector if isinstance(target, Target) else target, "target", size=n_params)


def artifact_path(name_or_path, folder: str) -> Path:
    """Where an artifact lives: ``name_or_path`` itself if it is a folder with a meta.json, else
    data/<folder>/<name> (e.g. folder="runs": data/runs/ant_quad_sgd).
    Taught in notebooks/03_cem_compression.ipynb, §1 The target."""
    from ..config import data_dir

    p = Path(name_or_path)
    return p if (p / "meta.json").is_file() else data_dir() / folder / str(name_or_path)


def load_run_artifact(name_or_path) -> store.Artifact:
    """A training run stored by gc_helpers.training (data/runs/<name>/ or a path), read with store.load.
    Taught in notebooks/03_cem_compression.ipynb, §1 The target."""
    p = artifact_path(name_or_path, "runs")
    art = store.load(p)
    if "checkpoints" not in art.arrays:
        raise ValueError(f"{p} holds no 'checkpoints' array; is it a training run?")
    return art


def run_policy(name_or_path, iteration: int = 0) -> GaussianPolicy:
    """The policy of a stored run at checkpoint ``iteration`` (0: w_first, where the study takes the gradients);
    it knows its task (``policy.env_id``, from the run's metadata). Taught in notebooks/03_cem_compression.ipynb,
    §1 The target."""
    art = load_run_artifact(name_or_path)
    ck = art["checkpoints"]
    n = len(ck)
    if isinstance(iteration, bool) or not isinstance(iteration, int | np.integer) or not -n <= iteration < n:
        raise ValueError(f"iteration={iteration!r}: must be an integer in [{-n}, {n - 1}]")
    return from_description(art.meta, ck[int(iteration)].astype(np.float64))


def weight_change_target(name_or_path, first: int = 0, last: int = -1) -> Target:
    """w_last − w_first of a stored run (checkpoints ``last`` and ``first``): what training did to the weights.
    Taught in notebooks/03_cem_compression.ipynb, §1 The target."""
    art = load_run_artifact(name_or_path)
    ck = art["checkpoints"].astype(np.float64)
    w = check_vector(ck[last] - ck[first], "weight change")
    return Target("weight_change", w, run=Path(art.path).name,
                  info={"first": int(first), "last": int(last), "optimizer": art.meta.get("optimizer"),
                        "n_checkpoints": int(len(ck)), "env_id": art.meta.get("env_id")})


def random_target(n_params: int, seed: int) -> Target:
    """A random direction in weight space: N(0, I) from ``numpy.random.default_rng(seed)`` (study, experiment 2).
    Taught in notebooks/04_alpha_optimisation.ipynb, §3 Cosine vs length (weight change vs random direction)."""
    n = int_at_least(n_params, "n_params")
    rng = np.random.default_rng(check_seed(seed))
    return Target("random", rng.standard_normal(n), info={"seed": int(seed)})
