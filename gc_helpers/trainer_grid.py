"""The runs of bench/trainer_grid.py (data/trainer_grid/): trainers and architectures over training seeds, the
learning rate each group picked, and comparisons over seeds (taught in
notebooks/02_train_quadratic_agent.ipynb, §4 Trainers and architectures over seeds; notebooks/06_ppo.ipynb, §5 The
seed's experiment on the shipped 1M-step runs; notebooks/04_alpha_optimisation.ipynb, §5 SGD-trained vs
Adam-trained weight changes).

- ``load_trainer_grid()``: the finished runs grouped by (group, lr), as arrays over seeds (``GridGroup``);
- ``picked_group``, ``seed0_returns``, ``pick_note``: the rate picked on seed 0 and whether it sits at the grid's edge;
- ``grid_metrics``: per seed, the σ = 0 evaluation (return, length, velocity) and the cosines at each L;
- ``versus_all``: one Holm-corrected family of comparisons over seeds (``gc_helpers.stats``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import store
from .config import data_dir

GRID_KIND = "trainer_grid"


@dataclass(frozen=True)
class GridGroup:
    """The finished runs of one (group, lr) of bench/trainer_grid.py: arrays (n_seeds, n_lengths)."""

    group: str
    lr: float
    seeds: tuple
    lengths: np.ndarray
    cos_searched: np.ndarray
    cos_random: np.ndarray
    null: np.ndarray
    returns: np.ndarray  # σ = 0 evaluation return per seed


def load_trainer_grid(folder=None) -> dict:
    """{(group, lr): GridGroup} for every finished run under data/trainer_grid/ (none yet: {})."""
    folder = data_dir() / "trainer_grid" if folder is None else folder
    found: dict = {}
    for p in sorted(folder.glob("*_lr*_s*")) if folder.is_dir() else []:
        if (p / "meta.json").is_file():
            a = store.load(p, GRID_KIND)
            found.setdefault((a.meta["group"], float(a.meta["lr"])), []).append(a)
    out = {}
    for (group, lr), arts in found.items():
        arts.sort(key=lambda a: a.meta["seed"])
        ev = [a.meta.get("evaluation", {}).get("mean_return", np.nan) for a in arts]
        out[(group, lr)] = GridGroup(group, lr, tuple(a.meta["seed"] for a in arts), arts[0]["lengths"],
                                     np.array([a["cos_searched"] for a in arts]),
                                     np.array([a["cos_random"] for a in arts]), arts[0]["null"], np.array(ev))
    return out


def _runs_by_lr(group: str, folder=None) -> dict:
    """{learning rate: [runs of ``group`` at that rate]} under ``folder`` (default data/trainer_grid)."""
    folder = data_dir() / "trainer_grid" if folder is None else folder
    by_lr: dict = {}
    for meta in sorted(folder.glob(f"{group}_lr*_s*/meta.json")) if folder.is_dir() else []:
        a = store.load(meta.parent, GRID_KIND)
        by_lr.setdefault(float(a.meta["lr"]), []).append(a)
    return by_lr


def _seed0(by_lr: dict) -> dict:
    return dict(sorted((lr, float(a.meta["final_training_return"])) for lr, arts in by_lr.items() for a in arts
                       if a.meta["seed"] == 0))


def picked_group(group: str, folder=None, min_seeds: int = 3) -> list:
    """The runs of ``group`` at the learning rate bench/trainer_grid.py picked (the best final training return on
    seed 0), sorted by seed; [] until that rate has ``min_seeds`` seeds (notebooks 02 §4 and 06 §5)."""
    by_lr = _runs_by_lr(group, folder)
    seed0 = _seed0(by_lr)
    if not seed0:
        return []
    arts = sorted(by_lr[max(seed0, key=seed0.get)], key=lambda a: a.meta["seed"])
    return arts if len(arts) >= min_seeds else []


def seed0_returns(group: str, folder=None) -> dict:
    """{learning rate: final training return of its seed-0 run}: the grid bench/trainer_grid.py picked from."""
    return _seed0(_runs_by_lr(group, folder))


def pick_note(group: str, folder=None) -> str:
    """The rates tried on seed 0 with their final training returns, the pick, and whether it sits at the grid's
    edge (then a rate beyond it was never tried: the pick may not be the best rate)."""
    r = seed0_returns(group, folder)
    if not r:
        return f"{group}: no seed-0 run"
    best = max(r, key=r.get)
    edge = " — at the grid's edge: a rate beyond it was not tried" if best in (min(r), max(r)) and len(r) > 1 else ""
    return (f"{group}: seed-0 final training return " + ", ".join(f"lr {lr:g}: {v:.0f}" for lr, v in r.items())
            + f" → picked {best:g}{edge}")


def grid_metrics(arts) -> dict:
    """{quantity: one value per seed}: the σ = 0 evaluation's return, episode length and forward velocity, then the
    cosine at each L with searched and with random actions ("searched L=200", "random L=200", …)."""
    out = {k: np.array([a.meta["evaluation"][key] for a in arts]) for k, key in (
        ("return", "mean_return"), ("length", "mean_length"), ("velocity", "mean_forward_velocity"))}
    for i, L in enumerate(arts[0]["lengths"] if arts else []):
        out[f"searched L={int(L)}"] = np.array([float(a["cos_searched"][i]) for a in arts])
        out[f"random L={int(L)}"] = np.array([float(a["cos_random"][i]) for a in arts])
    return out


def versus_all(items) -> list[str]:
    """One comparison over seeds per (name_a, x, name_b, y, what) of one table, as the notebooks state it
    (``stats.compare``: Welch's t at level ``stats.LEVEL``, a verdict only with ≥ ``stats.MIN_SEEDS`` seeds a side,
    else "n = 3: no verdict"), Holm-corrected as one family (notebooks 02 §4 and 06 §5)."""
    from . import stats

    items = list(items)
    done = stats.holm_verdicts([stats.compare(x, y, a, b) for a, x, b, y, _ in items])
    return [f"{what}: {c.summary(digits=3)}" for (_, _, _, _, what), c in zip(items, done)]
