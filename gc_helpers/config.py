"""Presets and paths: which sizes a notebook uses, where shipped data and new outputs live (notebooks/00_setup.ipynb).

Three presets, chosen by the environment variable ``GC_PRESET``:
- ``fast``: CI and previews, the whole series in minutes (``GC_FAST=1`` is the older spelling of the same);
- ``class``: the default that ``make lab`` opens: every cell finishes in ≤ 60 s on 2 cores, heavy results are
  loaded from the shipped artifacts in ``data/`` (each such cell says so and how to recompute them);
- ``full``: paper-scale recomputation, written under ``out/`` and never into ``data/``.
Notebooks pick their sizes with ``pick(fast, full, classroom=...)``; shipped artifacts in ``data/`` change only
through an explicit regenerate command (``make regenerate NAME=...``).
"""

from __future__ import annotations

import os

PRESETS = ("fast", "class", "full")
_TRUE, _FALSE = ("1", "true", "yes"), ("", "0", "false", "no")
_DEFAULT = object()


def preset_name() -> str:
    """The active preset: ``GC_PRESET`` (fast / class / full), else ``GC_FAST=1`` → fast, else ``class``.

    Raises ValueError naming the variable for an unknown value, or when GC_FAST and GC_PRESET disagree."""
    fast_raw = os.environ.get("GC_FAST", "").strip().lower()
    if fast_raw not in _TRUE + _FALSE:
        raise ValueError(f"GC_FAST={fast_raw!r}: allowed values are 1/true/yes (the fast preset) or 0/false/no/unset")
    preset = os.environ.get("GC_PRESET", "").strip().lower()
    if preset and preset not in PRESETS:
        raise ValueError(f"GC_PRESET={preset!r}: allowed values are {', '.join(PRESETS)} (unset: class)")
    if fast_raw in _TRUE:
        if preset and preset != "fast":
            raise ValueError(f"GC_FAST={fast_raw!r} asks for the fast preset but GC_PRESET={preset!r}: "
                             "unset one of them (allowed GC_PRESET values: fast, class, full)")
        return "fast"
    return preset or "class"


def pick(fast, full, classroom=_DEFAULT):
    """The value for the active preset: ``fast``, ``full``, or ``classroom`` for the class preset (default: the
    fast value; the class preset loads heavy results from ``data/`` instead of recomputing them)."""
    name = preset_name()
    if name == "full":
        return full
    if name == "class" and classroom is not _DEFAULT:
        return classroom
    return fast


def _has_data(folder) -> bool:
    return (folder / "data" / "runs").is_dir()


def project_root():
    """The folder that holds ``data/`` (shipped artifacts) and receives ``figures/``, ``videos/`` and ``out/``.

    ``GC_ROOT`` if set; else the repository this package sits in (an editable install or a checkout); else the
    nearest folder at or above the working directory that has ``data/runs`` (a notebook run from a clone with
    the package installed normally); else the working directory itself."""
    from pathlib import Path

    env = os.environ.get("GC_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parent.parent
    if _has_data(here):
        return here
    cwd = Path.cwd().resolve()
    for folder in (cwd, *cwd.parents):
        if _has_data(folder):
            return folder
    return cwd


def data_dir():
    """The shipped artifacts (read-only for notebooks: they change only through ``make regenerate``)."""
    return project_root() / "data"


def out_dir():
    """Where notebooks write what they compute (``full`` preset recomputations included): ``out/``."""
    return project_root() / "out"


def video_dir():
    return project_root() / "videos"


def figure_dir():
    return project_root() / "figures"


def config_to_dict(config) -> dict:
    """A frozen config dataclass as a JSON-able dict (tuples become lists)."""
    import dataclasses

    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}


def config_from_dict(cls, d: dict):
    """The inverse of ``config_to_dict``: unknown keys are dropped (artifacts from older versions), lists become
    tuples where the field's default is a tuple."""
    import dataclasses

    known = {f.name: f.default for f in dataclasses.fields(cls)}
    return cls(**{k: tuple(v) if isinstance(known[k], tuple) and isinstance(v, list) else v
                  for k, v in d.items() if k in known})
