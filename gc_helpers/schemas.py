"""What each kind of saved artifact must hold: required metadata keys and arrays, and how array shapes follow from
the metadata and from each other. ``gc_helpers.store`` applies these checks on every save and load.

Taught in notebooks/02_train_quadratic_agent.ipynb (saving and loading a run). A shape is written with symbols:
a symbol that is an integer in meta.json (``n_params``, ``length``, ``policy.obs_dim`` for a nested key) must
equal that value; any other symbol takes the size first seen and must then agree everywhere ("T+1": one more).
A run whose ``arrays.npz`` was swapped with another artifact's, or whose ``meta.json`` claims another parameter
count, fails here instead of far from the cause.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Schema:
    """Required metadata keys, required arrays, arrays required when a metadata key is present, and shapes."""

    meta: tuple[str, ...] = ()
    arrays: tuple[str, ...] = ()
    arrays_if_meta: dict = field(default_factory=dict)  # meta key -> arrays it requires
    shapes: dict = field(default_factory=dict)  # array name -> tuple of int | symbol | "symbol+1"


_REINFORCE_HISTORY = ("returns", "return_std", "lengths", "inner_steps", "max_ratio", "grad_norm")
_PPO_HISTORY = ("mean_return", "policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction", "lr")
_CURVE = ("lengths", "cosine", "cosine_lbfgs", "seconds", "env_steps", "null")
_GRID = ("returns", "stderrs", "episode_lengths", "velocities")
_ROUNDS = ("round_cosines", "round_residuals", "round_picked_betas", "round_returns", "round_stderrs",
           "round_velocities", "round_lengths")

SCHEMAS: dict[str, Schema] = {
    # training.runs.save_run (both trainers)
    "run": Schema(
        meta=("env_id", "n_params"),
        arrays_if_meta={"policy_kind": ("checkpoints",)},
        shapes={"checkpoints": ("n_checkpoints", "n_params"), "checkpoint_updates": ("n_checkpoints",),
                "obs_mean": ("n_checkpoints", "obs_dim"), "obs_var": ("n_checkpoints", "obs_dim"),
                "log_std": ("n_updates_done", "act_dim"),
                **{k: ("n_iterations",) for k in _REINFORCE_HISTORY},
                **{k: ("n_updates_done",) for k in _PPO_HISTORY}},
    ),
    # gc_research.sweeps.save_compressed
    "compressed": Schema(
        meta=("env_id", "n_params", "length", "target_name", "method"),
        arrays=("actions", "obs", "physics", "order", "alpha", "direction", "target", "lengths", "cosine"),
        shapes={"actions": ("K", "T", "policy.act_dim"), "obs": ("K", "T+1", "policy.obs_dim"),
                "physics": ("K", "T+1", "S"), "order": ("length", 2), "alpha": ("length",),
                "direction": ("n_params",), "target": ("n_params",), **{k: ("G",) for k in _CURVE}},
    ),
    # gc_research.iterated_decompression.save_results
    "decompressed": Schema(
        meta=("env_id", "run", "horizon"),
        arrays=("labels", "betas", "returns", "stderrs"),
        shapes={"labels": ("n",), "scales": ("n",), "n_episodes": ("n",), "betas": ("n", "B"),
                **{k: ("n", "B") for k in _GRID}, **{k: ("R",) for k in _ROUNDS}},
    ),
}
DERIVED = {"n_checkpoints": ("n_iterations", 1)}  # symbol -> (meta key, offset): a REINFORCE run keeps n + 1


def _meta_int(meta: dict, key: str):
    value = meta
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return int(value) if isinstance(value, int | np.integer) and not isinstance(value, bool) else None


def _bindings(meta: dict, schema: Schema) -> dict:
    """Symbol -> (size, where it came from), for every symbol that meta.json fixes."""
    out = {}
    symbols = {str(t).partition("+")[0] for shape in schema.shapes.values() for t in shape if isinstance(t, str)}
    for sym in symbols:
        if (value := _meta_int(meta, sym)) is not None:
            out[sym] = (value, f"meta.json {sym} = {value}")
        elif sym in DERIVED and (base := _meta_int(meta, DERIVED[sym][0])) is not None:
            out[sym] = (base + DERIVED[sym][1], f"meta.json {DERIVED[sym][0]} = {base}, plus {DERIVED[sym][1]}")
    return out


def _shape_problem(name: str, shape: tuple, pattern: tuple, bound: dict) -> str | None:
    """Check one array's shape against its pattern, binding new symbols in ``bound``; the problem or None."""
    if len(shape) != len(pattern):
        return f"array {name!r} has shape {shape}; expected {len(pattern)} dimension(s) {pattern}"
    for axis, (size, term) in enumerate(zip(shape, pattern)):
        if isinstance(term, int):
            if size != term:
                return f"array {name!r} has shape {shape}; expected {term} along axis {axis}"
            continue
        sym, _, plus = term.partition("+")
        offset = int(plus or 0)
        if sym not in bound:
            bound[sym] = (size - offset, f"array {name!r}")
        elif size != bound[sym][0] + offset:
            return (f"array {name!r} has shape {shape}: axis {axis} ({term}) should be "
                    f"{bound[sym][0] + offset}, from {bound[sym][1]}")
    return None


def meta_problems(kind, meta: dict) -> list[tuple[str, str]]:
    """The required metadata keys of ``kind`` missing from ``meta``, as (file, problem) pairs."""
    schema = SCHEMAS.get(kind, Schema())
    return [("meta.json", f"lacks the required key {key!r} (a {kind!r} artifact needs {list(schema.meta)})")
            for key in schema.meta if key not in meta]


def array_problems(kind, meta: dict, shapes: dict, complete: bool = True) -> list[tuple[str, str]]:
    """What is wrong with the arrays (name -> shape) of an artifact of ``kind`` with metadata ``meta``: missing
    required arrays (unless ``complete=False``) and shapes that disagree with the metadata or with each other."""
    schema = SCHEMAS.get(kind, Schema())
    out = []
    required = list(schema.arrays) + [n for key, names in schema.arrays_if_meta.items() if key in meta for n in names]
    if complete and required and not shapes:
        out.append(("arrays.npz", f"holds no arrays; a {kind!r} artifact needs {required}"))
    elif complete and (missing := [name for name in required if name not in shapes]):
        out.append(("arrays.npz", f"lacks the required array(s) {missing}; it holds {sorted(shapes)}"))
    bound = _bindings(meta, schema)
    for name, pattern in schema.shapes.items():
        if name in shapes and (problem := _shape_problem(name, tuple(shapes[name]), pattern, bound)):
            out.append(("arrays.npz", f"{problem} (arrays.npz does not match meta.json: was it swapped with "
                                      "another artifact's, or left from an earlier save?)"))
    return out
