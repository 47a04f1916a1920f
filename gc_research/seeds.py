"""The bench scripts' seed lists (``--seeds``): a sweep or an evaluation over seeds checked before it starts."""

from __future__ import annotations

import numpy as np


def seed_list(seeds, name: str = "seeds") -> list[int]:
    """A non-empty list of distinct non-negative integer seeds (a sweep or an evaluation over seeds), or a
    ValueError naming ``name``: no seeds, a repeated seed or a bad one."""
    seeds = list(seeds) if seeds is not None else []
    if not seeds:
        raise ValueError(f"{name}=[]: give at least one seed")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, int | np.integer) or s < 0:
            raise ValueError(f"{name} holds {s!r}: every seed must be a non-negative integer")
    if len(set(seeds)) != len(seeds):
        dup = sorted({s for s in seeds if seeds.count(s) > 1})
        raise ValueError(f"{name}={seeds} repeats {dup}: each seed must appear once")
    return [int(s) for s in seeds]
