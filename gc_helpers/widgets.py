"""Sliders for the horizon L and the search σ, wired to PURE functions (taught in notebooks/03_cem_compression.ipynb).

The pattern of the series: every widget calls a pure function that takes plain numbers and returns a result and
a matplotlib figure. The notebook calls the function once with default values (so it runs headless, in CI), then
displays the widget, which reruns it when a slider moves and the "run" button is pressed.

- ``cem_sequence``: the report's whole-sequence cross-entropy method. A population of action sequences of length
  L is drawn from N(μ, std²) (μ = 0 and std = σ at the start), replayed open loop from one reset state, and
  each candidate is scored by the cosine of its per-step gradients with the target, either **without α**
  (``alpha="none"``: the plain sum Σ_t g_t, the study's Algorithm 1) or **with the best α** (``alpha="exact"``:
  ‖P_G w‖/‖w‖, Algorithm 2 with the exact projection instead of L-BFGS). The elites refit μ and std.
- ``compare_alpha``: both variants at the same (L, σ), same seeds, and a figure of best cosine vs CEM iteration
  with the √(L/P) null model: why Algorithm 1 fails.
- ``compare_widget``: sliders for L and σ (plus a button) around ``compare_alpha``.

Actions stay in the action box [-1, 1] (candidates are clipped before replay and scoring), as in
gc_helpers.compression.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from . import envs
from .checks import int_at_least
from .policies import GaussianPolicy

ALPHA_MODES = ("none", "exact")


# ------------------------------------------------------------------------------------------------------------
# Input checks (ValueErrors name the argument, the value and what is allowed)


def check_horizon(L, name: str = "L") -> int:
    if isinstance(L, bool) or not isinstance(L, int | np.integer) or L < 1:
        raise ValueError(f"{name}={L!r}: the horizon must be an integer >= 1")
    return int(L)


def check_search_sigma(sigma, name: str = "sigma") -> float:
    if isinstance(sigma, bool) or not isinstance(sigma, int | float | np.integer | np.floating) \
            or not math.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"{name}={sigma!r}: the search σ must be a finite number > 0")
    return float(sigma)


def _target_vector(target, n_params: int) -> np.ndarray:
    w = getattr(target, "vector", target)
    w = np.asarray(w, dtype=np.float64)
    if w.shape != (n_params,):
        raise ValueError(f"target has shape {w.shape}; expected ({n_params},), one entry per policy parameter")
    if not np.all(np.isfinite(w)) or not np.any(w):
        raise ValueError("target must be finite and non-zero")
    return w


# ------------------------------------------------------------------------------------------------------------
# Scoring a batch of candidate sequences


def batch_cosines(G: torch.Tensor, w: torch.Tensor, alpha: str, tol: float = 1e-10) -> torch.Tensor:
    """Cosine of each candidate's gradients G (B, L, P) with the unit target w (P,).

    alpha="none": cos(Σ_t g_t, w). alpha="exact": max_α cos(Σ_t α_t g_t, w) = ‖P_G w‖ (the projection on the span
    of the L gradients), from the eigen-decomposition of the L × L Gram matrix of the normalised gradients;
    directions with eigenvalue below ``tol`` × the largest count as dependent.
    """
    if alpha == "none":
        s = G.sum(1)
        return (s @ w) / torch.linalg.norm(s, dim=-1).clamp_min(1e-300)
    if alpha != "exact":
        raise ValueError(f"alpha={alpha!r}: allowed: {', '.join(ALPHA_MODES)}")
    Gn = G / torch.linalg.norm(G, dim=-1, keepdim=True).clamp_min(1e-300)
    gram = Gn @ Gn.transpose(-1, -2)
    evals, evecs = torch.linalg.eigh(gram)
    b = (evecs.transpose(-1, -2) @ (Gn @ w)[..., None])[..., 0]
    keep = evals > tol * evals[..., -1:].clamp_min(1e-300)
    cos2 = torch.where(keep, b**2 / evals.clamp_min(1e-300), torch.zeros_like(evals)).sum(-1)
    return torch.sqrt(cos2.clamp(0.0, 1.0))


# ------------------------------------------------------------------------------------------------------------
# The whole-sequence CEM (the report's Algorithms 1 and 2)


@dataclass(frozen=True)
class CEMResult:
    """The best sequence a whole-sequence CEM found.

    actions (L, k), obs (L + 1, d): obs[t] is the state where actions[t] is taken; cosine: its score under
    ``alpha``; cosine_exact / cosine_none: the same sequence scored with the best α / with no α;
    alpha_coef (L,): the best α of the sequence (least squares, scaled to reproduce the target's length);
    history (iterations,): the best score so far after each iteration; env_steps, seconds: the cost.
    """

    L: int
    sigma: float
    alpha: str
    actions: np.ndarray
    obs: np.ndarray
    cosine: float
    cosine_exact: float
    cosine_none: float
    alpha_coef: np.ndarray
    history: np.ndarray
    null: float
    n_params: int
    env_steps: int
    seconds: float
    reset_seed: int


def cem_sequence(policy: GaussianPolicy, target, L: int, sigma: float, alpha: str = "exact", population: int = 32,
                 elites: int = 6, iterations: int = 5, reset_seed: int = 42, seed: int = 0,
                 env_id: str = "Ant-v5", n_threads: int | None = None) -> CEMResult:
    """The cross-entropy method over a whole action sequence of length ``L`` (Algorithm 1 with
    ``alpha="none"``, Algorithm 2 with ``alpha="exact"``).

    Start: μ = 0, std = ``sigma`` per coordinate (the search σ). Each of ``iterations`` iterations draws
    ``population`` sequences from N(μ, std²) (the first is μ itself), clips them to the action box, replays them
    from ``envs.reset_state(env_id, reset_seed)``, computes the per-step gradients at the policy's weights and
    keeps the ``elites`` best cosines to refit μ and std. Pure: the same arguments give the same result.
    """
    L = check_horizon(L)
    sigma = check_search_sigma(sigma)
    if alpha not in ALPHA_MODES:
        raise ValueError(f"alpha={alpha!r}: allowed: {', '.join(ALPHA_MODES)}")
    population = int_at_least(population, "population", 2)
    elites = int_at_least(elites, "elites", 1)
    if elites > population:
        raise ValueError(f"elites={elites!r}: must be <= population={population}")
    iterations = int_at_least(iterations, "iterations", 1)
    if not isinstance(policy, GaussianPolicy):
        raise ValueError(f"policy={type(policy).__name__}: must be a gc_helpers.policies.GaussianPolicy")
    w_np = _target_vector(target, policy.n_params)
    w = torch.as_tensor(w_np / np.linalg.norm(w_np))
    spec = envs.env_spec(env_id)
    start = envs.reset_state(env_id, reset_seed)
    rng = np.random.default_rng(envs.check_seed(seed))
    t0 = time.perf_counter()
    mu = np.zeros((L, spec.act_dim))
    std = np.full((L, spec.act_dim), sigma)
    best_a, best_obs, best_c = None, None, -np.inf
    history, steps = [], 0
    for _ in range(iterations):
        X = mu + std * rng.standard_normal((population, L, spec.act_dim))
        X[0] = mu
        X = np.clip(X, spec.act_low, spec.act_high)
        rep = envs.replay(start, X, n_threads=n_threads)
        steps += population * L
        with torch.no_grad():
            G = policy.score(rep.obs[:, :-1], X)
            c = batch_cosines(G, w, alpha).numpy()
        order = np.argsort(-c)
        if c[order[0]] > best_c:
            best_c, best_a, best_obs = float(c[order[0]]), X[order[0]].copy(), rep.obs[order[0]].copy()
        history.append(best_c)
        el = X[order[:elites]]
        mu, std = el.mean(0), el.std(0) + 1e-6
    with torch.no_grad():
        G = policy.score(best_obs[:-1], best_a).numpy()
    coef = np.linalg.lstsq(G.T, w_np, rcond=None)[0]
    d = G.T @ coef
    exact = float(d @ w_np / (np.linalg.norm(d) * np.linalg.norm(w_np))) if np.any(d) else 0.0
    s = G.sum(0)
    none = float(s @ w_np / (np.linalg.norm(s) * np.linalg.norm(w_np))) if np.any(s) else 0.0
    return CEMResult(L, sigma, alpha, best_a, best_obs, best_c, exact, none, coef, np.asarray(history),
                     float(math.sqrt(min(L / policy.n_params, 1.0))), int(policy.n_params), steps,
                     time.perf_counter() - t0, int(reset_seed))


# ------------------------------------------------------------------------------------------------------------
# Algorithm 1 vs Algorithm 2 at one (L, σ): the function behind the sliders


@dataclass(frozen=True)
class Comparison:
    """``none``: CEM scored without α (Algorithm 1); ``exact``: CEM scored with the best α (Algorithm 2)."""

    none: CEMResult
    exact: CEMResult

    @property
    def L(self) -> int:
        return self.none.L

    @property
    def sigma(self) -> float:
        return self.none.sigma

    @property
    def null(self) -> float:
        return self.none.null


def compare_figure(cmp: Comparison):
    """Best cosine vs CEM iteration for both variants, and the √(L/P) null model; returns the figure."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    it = np.arange(1, len(cmp.none.history) + 1)
    ax.plot(it, cmp.exact.history, "o-", color="C0", label=f"with best α (Alg. 2): {cmp.exact.cosine:.3f}")
    ax.plot(it, cmp.none.history, "s-", color="C3", label=f"plain sum, no α (Alg. 1): {cmp.none.cosine:.3f}")
    ax.axhline(cmp.null, color="gray", ls="--", label=f"null √(L/P) = {cmp.null:.3f}")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("CEM iteration")
    ax.set_ylabel("best cosine with the target")
    ax.set_title(f"whole-sequence CEM, L = {cmp.L} (L/P = {cmp.L / cmp.none.n_params:.3f}), search σ = {cmp.sigma:g}")
    ax.set_ylim(min(0.0, float(np.min(cmp.none.history)) - 0.05), 1.0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def compare_alpha(policy: GaussianPolicy, target, L: int, sigma: float, **kw) -> tuple[Comparison, object]:
    """Run ``cem_sequence`` without α and with the best α at the same (L, σ) and seeds; returns
    (Comparison, figure). Keywords go to ``cem_sequence``."""
    if "alpha" in kw:
        raise ValueError("alpha: compare_alpha runs both variants; do not pass alpha")
    L = check_horizon(L)
    sigma = check_search_sigma(sigma)
    cmp = Comparison(cem_sequence(policy, target, L, sigma, alpha="none", **kw),
                     cem_sequence(policy, target, L, sigma, alpha="exact", **kw))
    return cmp, compare_figure(cmp)


# ------------------------------------------------------------------------------------------------------------
# Widgets


def horizon_sigma_sliders(L: int = 20, sigma: float = 0.5, L_max: int = 200, sigma_max: float = 2.0):
    """An IntSlider for the horizon L (1 … L_max) and a FloatLogSlider for the search σ (0.01 … sigma_max)."""
    import ipywidgets as W

    L = check_horizon(L)
    sigma = check_search_sigma(sigma)
    L_max = check_horizon(L_max, "L_max")
    sigma_max = check_search_sigma(sigma_max, "sigma_max")
    if L > L_max:
        raise ValueError(f"L={L}: must be <= L_max={L_max}")
    if not 0.01 <= sigma <= sigma_max:
        raise ValueError(f"sigma={sigma}: must be in [0.01, sigma_max={sigma_max}]")
    s_L = W.IntSlider(value=L, min=1, max=L_max, step=1, description="horizon L", continuous_update=False)
    s_sigma = W.FloatLogSlider(value=sigma, base=10, min=-2, max=math.log10(sigma_max), step=0.05,
                               description="search σ", continuous_update=False)
    return s_L, s_sigma


def compare_widget(policy: GaussianPolicy, target, L: int = 20, sigma: float = 0.5, L_max: int = 200,
                   sigma_max: float = 2.0, **kw):
    """Sliders for L and σ and a "run" button around ``compare_alpha``; the figure and a one-line summary go to
    an Output area. Returns the ipywidgets.VBox (display it). Nothing runs until the button is pressed."""
    import ipywidgets as W
    import matplotlib.pyplot as plt
    from IPython.display import display

    s_L, s_sigma = horizon_sigma_sliders(L, sigma, L_max, sigma_max)
    button = W.Button(description="run CEM", button_style="primary")
    out = W.Output()

    def run(_=None):
        with out:
            out.clear_output(wait=True)
            cmp, fig = compare_alpha(policy, target, s_L.value, s_sigma.value, **kw)
            display(fig)
            plt.close(fig)
            print(summary(cmp))

    button.on_click(run)
    box = W.VBox([W.HBox([s_L, s_sigma, button]), out])
    box.run = run  # so that a notebook (or a test) can trigger one run without clicking
    return box


def summary(cmp: Comparison) -> str:
    """One line: both cosines, L/P, the null, and the cost."""
    P = cmp.none.n_params
    return (f"L = {cmp.L} (L/P = {cmp.L / P:.4f}), search σ = {cmp.sigma:g}: "
            f"with α {cmp.exact.cosine:.3f}, no α {cmp.none.cosine:.3f} "
            f"(its sequence with the best α: {cmp.none.cosine_exact:.3f}), null √(L/P) = {cmp.null:.3f}; "
            f"{cmp.none.env_steps + cmp.exact.env_steps} env steps, {cmp.none.seconds + cmp.exact.seconds:.1f} s")
