"""Compression over many search seeds, against the right controls (taught in notebooks/04_alpha_optimisation.ipynb,
§4 Over search seeds, with the right controls and §5 SGD-trained vs Adam-trained weight changes).

- ``load_spread(label)``: the multi-seed sweeps written by bench/spread.py (kind "spread") as arrays over seeds;
- ``study_vs_band(spread, study)``: at the lengths both have, is the study's point inside our min–max band?
  ``study_tests``: our seeds against the study's value at each length (one-sample t, Holm);
- ``versus``/``versus_all``: comparisons over training seeds with ``gc_helpers.stats`` (notebooks 02, 06);
- ``not_a_compression_length(P, k)``: P/k, from where a search could match any direction at the visited states;
- ``compression_ratio(L, P, k)``: (k+1)·L/P, the numbers a trajectory carries (k actions and one α per step) per
  policy parameter;
- ``spread_figure(...)``: mean and min–max band over seeds for the weight change and the searched random
  direction, √(L/P), the fixed-state ceiling, the study's points, the ratio on a second axis, L ≥ P/k shaded;
- ``load_trainer_grid()``: the finished runs of bench/trainer_grid.py grouped by (group, lr);
- ``load_target(name)``: how a shorter-trained target w_K − w_0 was picked and what w_K does on fresh episodes;
- ``offdiagonal_features``, ``basis_cosines``, ``METRICS``: the best-α cosine of a searched sequence recomputed in
  the study's basis (P = 6056: x_i x_j and x_j x_i both kept) instead of ours (P = 3248: each product once);
- ``study_random_reachable``: the part of a random direction drawn in the study's basis that any gradient can reach.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import store
from .config import data_dir

SPREAD_KIND = "spread"
TARGET_KIND = "spread_target"
GRID_KIND = "trainer_grid"


@dataclass(frozen=True)
class Spread:
    """One target's sweeps over search seeds: cosine and ceiling (n_seeds, n_lengths) at ``lengths``."""

    label: str
    lengths: np.ndarray
    cosine: np.ndarray
    ceiling: np.ndarray
    seconds: np.ndarray
    seeds: tuple
    n_params: int
    act_dim: int
    settings: dict
    command: str = ""  # the command recorded with the sweeps (bench/spread.py …)

    @property
    def mean(self) -> np.ndarray:
        return self.cosine.mean(0)

    @property
    def low(self) -> np.ndarray:
        return self.cosine.min(0)

    @property
    def high(self) -> np.ndarray:
        return self.cosine.max(0)


def spread_dir(name: str = "ant_quad_sgd_recommended"):
    return data_dir() / "spread" / name


def load_spread(label: str, name: str = "ant_quad_sgd_recommended") -> Spread:
    """Every complete sweep data/spread/<name>/<label>_s<seed> (label "weight_change" or "random")."""
    if label not in ("weight_change", "random"):
        raise ValueError(f"label={label!r}: allowed: weight_change, random")
    paths = sorted(spread_dir(name).glob(f"{label}_s*"), key=lambda p: int(p.name.rsplit("_s", 1)[1]))
    arts = [store.load(p, SPREAD_KIND) for p in paths if (p / "meta.json").is_file()]
    arts = [a for a in arts if a.meta.get("complete", True)]
    if not arts:
        raise FileNotFoundError(f"no complete sweep {label}_s* in {spread_dir(name)}; run bench/spread.py")
    lengths = arts[0]["lengths"]
    if any(not np.array_equal(a["lengths"], lengths) for a in arts):
        raise ValueError(f"{spread_dir(name)}: the {label} sweeps were recorded at different lengths")
    meta = arts[0].meta
    return Spread(label, lengths, np.array([a["cosine"] for a in arts]), np.array([a["ceiling"] for a in arts]),
                  np.array([a["seconds"][-1] for a in arts]), tuple(a.meta["seed"] for a in arts),
                  int(meta["n_params"]), int(meta["act_dim"]), dict(meta["settings"]), str(meta.get("command", "")))


def not_a_compression_length(n_params: int, act_dim: int) -> float:
    """P/k: with k free action coordinates per step, L ≥ P/k steps span k·L ≥ P directions at the visited states."""
    return n_params / act_dim


def compression_ratio(length, n_params: int, act_dim: int):
    """(k+1)·L/P: numbers the trajectory carries (k actions and one α per step) per policy parameter."""
    return (act_dim + 1) * np.asarray(length, dtype=np.float64) / n_params


def study_vs_band(spread: Spread, study_lengths, study_cosines) -> list[tuple[int, float, float, float, str]]:
    """(L, study cosine, band low, band high, "inside" | "above" | "below") at each length both record."""
    x, y = np.asarray(study_lengths), np.asarray(study_cosines)
    rows = []
    for j, L in enumerate(spread.lengths):
        if L in x:
            c = float(y[x == L][0])
            lo, hi = float(spread.low[j]), float(spread.high[j])
            rows.append((int(L), c, lo, hi, "inside" if lo <= c <= hi else ("above" if c > hi else "below")))
    return rows


def spread_figure(ax, spreads, study=None, study_series=(), names=None, colors=None):
    """The cosine-vs-length figure with its controls on ``ax`` (see the module doc); returns the ratio axis.
    ``names``/``colors``: one per spread (default: by label, "weight change" in C0, the random direction in C2)."""
    by_label = {"weight_change": ("weight change", "C0"), "random": ("searched random direction", "C2")}
    names = names or [by_label.get(s.label, (s.label, ""))[0] for s in spreads]
    colors = colors or [by_label.get(s.label, ("", "C1"))[1] for s in spreads]
    first = spreads[0]
    P, k, L = first.n_params, first.act_dim, first.lengths
    for s, name, c in zip(spreads, names, colors):
        ax.fill_between(s.lengths, s.low, s.high, color=c, alpha=0.25)
        ax.plot(s.lengths, s.mean, "o-", ms=3, color=c,
                label=f"{name}: mean, min–max over {len(s.seeds)} search seeds")
        ax.plot(s.lengths, s.ceiling.mean(0), ls=(0, (1, 1)), color=c, lw=1.5, label=f"fixed-state ceiling ({name})")
    grid = np.arange(1, int(L.max()) + 1)
    ax.plot(grid, np.sqrt(np.minimum(grid / P, 1)), "k--", lw=1, label=f"null √(L/P), P = {P}")
    for name in study_series:
        x, y = study[name]
        ax.plot(x, y, "x", ms=4, color="C3" if "alpha" in name else "C4", label=f"study: {name} (P = 6056)")
    edge = not_a_compression_length(P, k)
    ax.axvspan(edge, max(edge, float(L.max())) + 10, color="gray", alpha=0.15,
               label=f"L ≥ P/k = {edge:.0f}: not a compression")
    ax.set(xlim=(0, float(L.max()) + 10), ylim=(0, 1.02), xlabel="trajectory length L", ylabel="cosine with the target")
    ax.grid(alpha=0.3)
    top = ax.secondary_xaxis("top", functions=(lambda x: compression_ratio(x, P, k),
                                               lambda r: np.asarray(r) * P / (k + 1)))
    top.set_xlabel(f"compression ratio (k+1)·L/P  (k = {k}, P = {P}): numbers in the trajectory per parameter")
    return top


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


def study_tests(spread: Spread, study_lengths, study_cosines) -> list:
    """[(L, Comparison)]: at each length both record, our search seeds' cosines against the study's single
    digitised value (``stats.compare_to_value``, one-sample t), Holm-corrected over the lengths. The study's side
    has no spread and is measured with P = 6056 features (both x_i x_j and x_j x_i kept) against our P = 3248, so
    its cosine is in another metric: a verdict says how our seeds sit around that number, not that the methods
    differ (notebook 04 §4)."""
    from . import stats

    x, y = np.asarray(study_lengths), np.asarray(study_cosines)
    found = [(int(L), stats.compare_to_value(spread.cosine[:, j], float(y[x == L][0]), f"ours ({spread.label})",
                                              "study"))
             for j, L in enumerate(spread.lengths) if L in x]
    done = stats.holm_verdicts([c for _, c in found])
    return [(L, c) for (L, _), c in zip(found, done)]


def spread_sequences(label: str, name: str) -> dict:
    """{seed: (obs (L, d), actions (L, k))} of the complete sweeps data/spread/<name>/<label>_s<seed> that store their
    searched sequence (bench/spread.py --target-iteration writes it)."""
    out = {}
    for p in sorted(spread_dir(name).glob(f"{label}_s*"), key=lambda p: int(p.name.rsplit("_s", 1)[1])):
        if (p / "meta.json").is_file():
            a = store.load(p, SPREAD_KIND)
            if a.meta.get("complete", True) and "obs" in a.arrays:
                out[int(a.meta["seed"])] = (a["obs"], a["actions"])
    return out


def load_target(name: str):
    """data/spread/<name>/target (bench/spread.py --evaluate-target): the scanned checkpoints' σ = 0 returns, the
    one closest to the study's return, and w_K's evaluation on 20 fresh episodes (meta["evaluation"]). Notebook 04
    §4, "On a target trained the study's way"."""
    path = spread_dir(name) / "target"
    if not (path / "meta.json").is_file():
        raise FileNotFoundError(f"{path}: no target evaluation; run bench/spread.py --target-iteration K "
                                "--evaluate-target")
    return store.load(path, TARGET_KIND)


def offdiagonal_features(obs_dim: int) -> np.ndarray:
    """Boolean mask over the quadratic features [1, x, x_i x_j (i ≤ j)]: True where i < j, the products the study's
    basis holds twice (x_i x_j and x_j x_i)."""
    if isinstance(obs_dim, bool) or not isinstance(obs_dim, int | np.integer) or obs_dim < 1:
        raise ValueError(f"obs_dim={obs_dim!r}: must be a positive integer")
    i, j = np.triu_indices(int(obs_dim))
    return np.concatenate([np.zeros(1 + int(obs_dim), dtype=bool), i != j])


# How a vector of our basis is written in the study's (both copies of an off-diagonal coordinate c):
# "kept" (c, c) — what a gradient is there, and so a weight change made of gradients; "split" (c/2, c/2) — the same
# function. A norm over the two copies scales c by √2 (kept) or 1/√2 (split). (target scale, gradient scale):
METRICS = {"our basis": (1.0, 1.0),
           "study's basis, kept": (np.sqrt(2.0), np.sqrt(2.0)),
           "study's basis, target split": (np.sqrt(0.5), np.sqrt(2.0))}


def basis_cosines(phi, actions, target, lengths, offdiag, target_scale: float = 1.0, gradient_scale: float = 1.0):
    """Best-α cosine of target with span{a_t ⊗ φ(s_t) : t < L} (the gradients at W = 0 up to σ⁻²) at each L of
    ``lengths``, after scaling the off-diagonal coordinates of the target by ``target_scale`` and of the gradients by
    ``gradient_scale`` (``METRICS``; 1, 1 is our basis). phi (T, F), actions (T, k), target (k·F,) in W's row-major
    order. Uses the Gram matrix K_st = (a_s·a_t)(φ_s D φ_t) and its Cholesky factor, whose leading blocks serve every
    prefix: cos²(L) = ‖y_{<L}‖² / ‖w‖², y = C⁻¹ b, b_t = a_tᵀ W D' φ_t."""
    phi, A = np.asarray(phi, dtype=np.float64), np.asarray(actions, dtype=np.float64)
    k, F = A.shape[1], phi.shape[1]
    W = np.asarray(target, dtype=np.float64).reshape(k, F)
    mask = np.asarray(offdiag, dtype=bool)
    if mask.shape != (F,):
        raise ValueError(f"offdiag has shape {mask.shape}; expected ({F},), one flag per feature")
    g = np.where(mask, float(gradient_scale), 1.0)
    t = np.where(mask, float(target_scale), 1.0)
    L = np.asarray(lengths, dtype=int)
    if L.size == 0 or L.min() < 1 or L.max() > len(A):
        raise ValueError(f"lengths must lie in [1, {len(A)}] (the sequence's length); got {L.tolist()}")
    n = int(L.max())
    K = (A[:n] @ A[:n].T) * ((phi[:n] * g**2) @ phi[:n].T)
    b = np.einsum("ti,if,tf->t", A[:n], W * (t * g), phi[:n])
    from scipy.linalg import solve_triangular

    y = solve_triangular(np.linalg.cholesky(K), b, lower=True)
    norm2 = float(np.sum((W * t) ** 2))
    return np.sqrt(np.cumsum(y**2)[L - 1] / norm2)


def study_random_reachable(obs_dim: int, act_dim: int, n: int = 200, seed: int = 0) -> np.ndarray:
    """For ``n`` directions drawn from N(0, I) in the study's basis (per action: a bias, x, and all obs_dim² products),
    the fraction of the squared norm in the part every gradient lies in (x_i x_j and x_j x_i equal): the rest, the
    antisymmetric part, no trajectory can reach. Expected value 3248/6056 for Ant; its square root bounds the study's
    random-direction cosine."""
    d = int(obs_dim)
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((int(n), int(act_dim), 1 + d + d * d))
    q = z[..., 1 + d:].reshape(int(n), int(act_dim), d, d)
    anti = (q - np.swapaxes(q, -1, -2)) / 2
    return 1 - np.sum(anti**2, axis=(1, 2, 3)) / np.sum(z**2, axis=(1, 2))
