"""The bench scripts' ``--set KEY=VALUE``: a copy of a config dataclass with fields overridden."""

from __future__ import annotations


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
