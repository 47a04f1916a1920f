"""Algorithm 1 (no α) against Algorithm 2 (the best α) of the whole-sequence CEM at one (L, σ), as a figure and as
sliders for the horizon L and the search σ (taught in notebooks/03_cem_compression.ipynb, §4 Try it: the horizon L
and the search σ).

The pattern of the series: every widget calls a pure function that takes plain numbers and returns a result and
a matplotlib figure. The notebook calls the function once with default values (so it runs headless, in CI), then
displays the widget, which reruns it when a slider moves and the "run" button is pressed.

- ``compare_alpha``: the whole-sequence CEM (``compression.cem.cem_sequence``) without α and with the best α at
  the same (L, σ), same seeds, and a figure of best cosine vs CEM iteration with the √(L/P) null model: why
  Algorithm 1 fails.
- ``horizon_sigma_sliders``: the sliders for L and σ (the notebook's widget reruns ``compare_alpha`` with their
  values); ``summary``: one line of both cosines, the null and the cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .checks import int_at_least, positive_float
from .compression.cem import CEMResult, cem_sequence
from .policies import GaussianPolicy

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


def _compare_figure(cmp: Comparison):
    """Best cosine vs CEM iteration for both variants, and the √(L/P) null model; returns the figure.
    Taught in notebooks/03_cem_compression.ipynb, §4 Try it: the horizon L and the search σ."""
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
    (Comparison, figure). Keywords go to ``cem_sequence``.
    Taught in notebooks/03_cem_compression.ipynb, §4 Try it: the horizon L and the search σ."""
    if "alpha" in kw:
        raise ValueError("alpha: compare_alpha runs both variants; do not pass alpha")
    L, sigma = int_at_least(L, "L"), positive_float(sigma, "sigma")
    cmp = Comparison(cem_sequence(policy, target, L, sigma, alpha="none", **kw),
                     cem_sequence(policy, target, L, sigma, alpha="exact", **kw))
    return cmp, _compare_figure(cmp)


# ------------------------------------------------------------------------------------------------------------
# Widgets


def horizon_sigma_sliders(L: int = 20, sigma: float = 0.5, L_max: int = 200, sigma_max: float = 2.0):
    """An IntSlider for the horizon L (1 … L_max) and a FloatLogSlider for the search σ (0.01 … sigma_max).
    Taught in notebooks/03_cem_compression.ipynb, §4 Try it: the horizon L and the search σ."""
    import ipywidgets as W

    L, sigma = int_at_least(L, "L"), positive_float(sigma, "sigma")
    L_max, sigma_max = int_at_least(L_max, "L_max"), positive_float(sigma_max, "sigma_max")
    if L > L_max:
        raise ValueError(f"L={L}: must be <= L_max={L_max}")
    if not 0.01 <= sigma <= sigma_max:
        raise ValueError(f"sigma={sigma}: must be in [0.01, sigma_max={sigma_max}]")
    s_L = W.IntSlider(value=L, min=1, max=L_max, step=1, description="horizon L", continuous_update=False)
    s_sigma = W.FloatLogSlider(value=sigma, base=10, min=-2, max=math.log10(sigma_max), step=0.05,
                               description="search σ", continuous_update=False)
    return s_L, s_sigma


def summary(cmp: Comparison) -> str:
    """One line: both cosines, L/P, the null, and the cost.
    Taught in notebooks/03_cem_compression.ipynb, §4 Try it: the horizon L and the search σ."""
    P = cmp.none.n_params
    return (f"L = {cmp.L} (L/P = {cmp.L / P:.4f}), search σ = {cmp.sigma:g}: "
            f"with α {cmp.exact.cosine:.3f}, no α {cmp.none.cosine:.3f} "
            f"(its sequence with the best α: {cmp.none.cosine_exact:.3f}), null √(L/P) = {cmp.null:.3f}; "
            f"{cmp.none.env_steps + cmp.exact.env_steps} env steps, {cmp.none.seconds + cmp.exact.seconds:.1f} s")
