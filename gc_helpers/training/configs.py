"""What the two trainers' config dataclasses share: dict conversion, dict-style reading, and the range check.

Taught in notebooks/02_train_quadratic_agent.ipynb, §2 (``TrainConfig``) and notebooks/06_ppo.ipynb, §4
(``PPOConfig``).
"""

from __future__ import annotations

import math

import numpy as np

from ..config import config_from_dict, config_to_dict


class ConfigFields:
    """Mixed into a frozen config dataclass: ``to_dict`` / ``from_dict`` (how a run stores its config) and
    ``config["lr"]`` / ``config.get("lr")`` reading (as for the plain dict a run's meta.json holds).

    Taught in notebooks/02_train_quadratic_agent.ipynb, §3."""

    def to_dict(self) -> dict:
        """The JSON-able dict a saved run keeps under meta.json's "config"."""
        return config_to_dict(self)

    @classmethod
    def from_dict(cls, d: dict):
        """The config back from ``to_dict``'s dict (unknown keys dropped, missing ones take their default)."""
        return config_from_dict(cls, d)

    def __getitem__(self, name: str):
        if not isinstance(name, str) or not hasattr(self, name):
            raise KeyError(f"{name!r} is not a field of {type(self).__name__}")
        return getattr(self, name)

    def get(self, name: str, default=None):
        """``config[name]`` if it is a field, else ``default``."""
        return getattr(self, name, default) if isinstance(name, str) else default


def in_range(value, name: str, low: float, high: float, low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a float if it is a number (not a bool, not NaN) in the interval; infinity only where the
    interval's closed end is infinite. Otherwise a ValueError naming the argument and the interval.

    Taught in notebooks/02_train_quadratic_agent.ipynb, §2."""
    ok = (not isinstance(value, bool) and isinstance(value, int | float | np.integer | np.floating)
          and not math.isnan(value) and (value > low if low_open else value >= low)
          and (value < high if high_open else value <= high))
    if not ok:
        lb, hb = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"{name}={value!r}: must be a number in {lb}{low}, {high}{hb}")
    return float(value)
