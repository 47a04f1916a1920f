"""Compression over many search seeds, against the right controls (taught in notebooks/04_alpha_optimisation.ipynb,
§4 Over search seeds, with the right controls; notebooks/03_cem_compression.ipynb, §5 Longer sequences).

- ``load_spread(label)``: the multi-seed sweeps written by bench/spread.py (kind "spread") as arrays over seeds;
- ``study_vs_band(spread, study)``: at the lengths both have, is the study's point inside our min–max band?
  ``study_tests``: our seeds against the study's value at each length (one-sample t, Holm);
- ``not_a_compression_length(P, k)``: P/k, from where a search could match any direction at the visited states;
- ``compression_ratio(L, P, k)``: (k+1)·L/P, the numbers a trajectory carries (k actions and one α per step) per
  policy parameter;
- ``spread_figure(...)``: mean and min–max band over seeds for the weight change and the searched random
  direction, √(L/P), the fixed-state ceiling, the study's points, the ratio on a second axis, L ≥ P/k shaded;
- ``load_target(name)``, ``spread_sequences``: how a shorter-trained target w_K − w_0 was picked and what w_K does
  on fresh episodes; the searched sequences the sweeps stored.

The trainer grid's runs are read by ``gc_helpers.trainer_grid``; the study's basis by ``gc_helpers.study_basis``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import store
from .config import data_dir

SPREAD_KIND = "spread"
TARGET_KIND = "spread_target"


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
