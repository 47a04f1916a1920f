"""Fast/full presets chosen by the environment variable ``GC_FAST`` (taught in notebooks/00_setup.ipynb).

``GC_FAST=1`` gives the ``fast`` preset (CI, previews: the whole series in minutes); anything else, or unset,
gives ``full`` (the classroom run, paper-scale). Notebooks pick their sizes with ``pick(fast, full)``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Preset:
    """Sizes a notebook needs; ``extra`` holds notebook-specific knobs."""

    name: str
    expected_minutes: float
    extra: dict = field(default_factory=dict)

    def __getitem__(self, key):
        return self.extra[key]


def is_fast() -> bool:
    """True when ``GC_FAST`` is set to 1/true/yes."""
    value = os.environ.get("GC_FAST", "").strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise ValueError(f"GC_FAST={value!r}: allowed values are 1/true/yes (fast preset) or 0/false/no/unset (full)")


def pick(fast, full):
    """``fast`` under the fast preset, else ``full``."""
    return fast if is_fast() else full


def preset_name() -> str:
    return "fast" if is_fast() else "full"


def project_root():
    """The repository root (where data/, videos/ and figures/ live); ``GC_ROOT`` overrides it."""
    from pathlib import Path

    env = os.environ.get("GC_ROOT")
    return Path(env).resolve() if env else Path(__file__).resolve().parent.parent


def data_dir():
    return project_root() / "data"


def video_dir():
    return project_root() / "videos"


def figure_dir():
    return project_root() / "figures"


def with_overrides(config, items, **fixed):
    """A copy of the dataclass ``config`` with fields set from "KEY=VALUE" strings (VALUE read as JSON when it
    parses, else as a string) and from ``fixed``; used by the bench scripts' ``--set``."""
    import dataclasses
    import json

    overrides = dict(fixed)
    for item in items:
        if "=" not in item:
            raise ValueError(f"override {item!r}: expected KEY=VALUE")
        key, value = item.split("=", 1)
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    unknown = set(overrides) - {f.name for f in dataclasses.fields(config)}
    if unknown:
        raise ValueError(f"unknown field(s) {sorted(unknown)} for {type(config).__name__}")
    return dataclasses.replace(config, **overrides)


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
