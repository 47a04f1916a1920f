"""Figures shared by the notebooks; every saved figure goes to figures/<name>.png (see README).

Taught alongside notebooks/03_cem_compression.ipynb and notebooks/04_alpha_optimisation.ipynb (the compression
figures); ``savefig`` is used by every notebook.
"""

from __future__ import annotations

import re

import numpy as np

from .checks import finite_array, int_at_least
from .compression.span import null_cosine
from .config import figure_dir


def savefig(fig, name: str, dpi: int = 110):
    """Save ``fig`` as figures/<name>.png and return the path (name: letters, digits, '_', '-').
    Taught in notebooks/00_setup.ipynb."""
    if not re.fullmatch(r"[A-Za-z0-9_\-]+", name or ""):
        raise ValueError(f"name={name!r}: use letters, digits, '_' or '-' only")
    out = figure_dir()
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.png"
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


# ----------------------------------------------------------------------------------------------------------------
# Compression figures (notebooks/03_cem_compression.ipynb, notebooks/04_alpha_optimisation.ipynb)

STUDY_P = {"quad": 6056, "net": 4616}  # the study's parameter counts (full d² quad features; MLP 27-128-8)
STUDY_COLORS = {"no alpha-optim": "C1", "alpha-optim": "C0", "random direction": "C2"}  # the first match wins


def study_curves(path=None) -> dict:
    """The study's cosine-vs-length curves (data/reference/paper_cos_vs_len.csv) as {series: (lengths, cosines)};
    series are e.g. "quad model, alpha-optim", "net model, no alpha-optim", "quad model, random direction".
    Taught in notebooks/04_alpha_optimisation.ipynb, §3 Cosine vs length."""
    import csv

    from .config import data_dir

    path = data_dir() / "reference" / "paper_cos_vs_len.csv" if path is None else path
    rows: dict = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            rows.setdefault(r["series"], []).append((int(r["length"]), float(r["cosine"])))
    if not rows:
        raise ValueError(f"{path}: no rows with columns series, length, cosine")
    return {k: (np.array([x for x, _ in sorted(v)]), np.array([y for _, y in sorted(v)])) for k, v in rows.items()}


def alpha_profile(alpha, title: str = "α of the compressed trajectory"):
    """Two panels: α_t against the step t (red > 0, blue < 0), and |α_t| sorted, on a log scale: how unequal the
    steps' weights are (the plain sum of Algorithm 1 forces them all to 1). Returns the figure.
    Taught in notebooks/03_cem_compression.ipynb, §6 Watch it: the compressed trajectory and its α."""
    import matplotlib.pyplot as plt

    a = finite_array(alpha, "alpha", ndim=1)
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9, 3), gridspec_kw={"width_ratios": [2, 1]})
    t = np.arange(a.size)
    ax0.bar(t, a, width=1.0, color=np.where(a >= 0, "C3", "C0"))
    ax0.axhline(0, color="k", lw=0.5)
    ax0.set_xlabel("step t")
    ax0.set_ylabel("α_t")
    ax0.set_title(title)
    mag = np.sort(np.abs(a))[::-1]
    ax1.semilogy(np.arange(1, a.size + 1), np.maximum(mag, 1e-300), ".-")
    ax1.set_xlabel("rank")
    ax1.set_ylabel("|α_t| (sorted)")
    ax1.set_title(f"max/median |α| = {mag[0] / max(np.median(mag), 1e-300):.1f}")
    for ax in (ax0, ax1):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def cosine_vs_length(ax, curves, n_params: int, study=None, study_series=(), null: bool = True,
                     max_length: int = 490, act_dim: int | None = None):
    """Cosine vs trajectory length on ``ax``: ``curves`` is a list of (label, lengths, cosines, style dict);
    ``study`` (``study_curves()``) and ``study_series`` add the study's curves as dotted lines; ``null`` draws
    √(L/P) for ``n_params``, and with ``act_dim`` = k also √(kL/P), the null of a search that picks each action
    (one direction out of k per step). A top axis shows L/P.
    Taught in notebooks/04_alpha_optimisation.ipynb, §3 Cosine vs length (and §Which null?)."""
    n_params = int_at_least(n_params, "n_params")
    for label, lengths, cos, style in curves:
        lengths = finite_array(lengths, f"lengths of {label!r}", ndim=1)
        cos = finite_array(cos, f"cosines of {label!r}", ndim=1)
        ax.plot(lengths, cos, label=label, **({"marker": "o", "ms": 3} | dict(style)))
    for s in study_series:
        x, y = study[s]
        color = next((c for key, c in STUDY_COLORS.items() if s.endswith(key)), None)
        ax.plot(x, y, ls=":", lw=1.8, color=color, label=f"study: {s}")
    L = np.arange(1, max_length + 1)
    if null:
        ax.plot(L, null_cosine(L, n_params), color="k", ls="--", lw=1,
                label=f"null √(L/P), P = {n_params}")
        if act_dim:
            ax.plot(L, null_cosine(act_dim * L, n_params), color="gray", ls="-.", lw=1,
                    label=f"search null √({act_dim}L/P)")
    ax.set_xlim(0, max_length)
    ax.set_ylim(0, 1)
    ax.set_xlabel("trajectory length L")
    ax.set_ylabel("cosine with the target")
    ax.grid(alpha=0.3)
    top = ax.secondary_xaxis("top", functions=(lambda x: x / n_params, lambda r: r * n_params))
    top.set_xlabel(f"L / P  (P = {n_params})")
    return ax


def smooth(y, window: int = 10) -> np.ndarray:
    """Moving average ignoring NaNs (for plotting noisy per-update curves). Taught in notebooks/06_ppo.ipynb, §5."""
    int_at_least(window, "window", 1)
    y = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(y)
    k = np.ones(window)
    num = np.convolve(np.where(ok, y, 0.0), k, mode="full")[: len(y)]
    den = np.convolve(ok.astype(float), k, mode="full")[: len(y)]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.maximum(den, 1), np.nan)
