"""What a search returns: the action sequence(s), their states, α, and the cosine-vs-length curve.

Taught in notebooks/03_cem_compression.ipynb, §6 Watch it: the compressed trajectory and its α.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gc_helpers import envs
from gc_helpers.compression.span import best_alpha_exact
from gc_helpers.policies import GaussianPolicy


@dataclass(frozen=True)
class SearchResult:
    """Action sequence(s) found by a search and the cosine of their best combination with the target.

    actions (K, L_k, k): one row per trajectory (K = 1 for a single sequence; NaN-padded if lengths differ);
    obs (K, L_k + 1, d) and physics (K, L_k + 1, state_dim): obs[:, t] is the state where actions[:, t] is taken;
    order (L, 2): (trajectory, step) of each gradient in the order the steps were added, which is alpha's order;
    alpha (L,) and direction = Σ α_t g_t (P,) from the exact projection; cosine: its cosine with the target.
    lengths (n,): total lengths on the grid; curve (n,): exact best-α cosine at each; curve_lbfgs (n,): the study's
    L-BFGS cosine where the search used it (else NaN); seconds, env_steps (n,): wall time and env steps used
    until each length was reached. complete: False if the search was interrupted. settings["env_id"]: the task.
    """

    actions: np.ndarray
    obs: np.ndarray
    physics: np.ndarray
    order: np.ndarray
    alpha: np.ndarray
    direction: np.ndarray
    cosine: float
    lengths: np.ndarray
    curve: np.ndarray
    curve_lbfgs: np.ndarray
    seconds: np.ndarray
    env_steps: np.ndarray
    reset_seeds: tuple
    method: str
    settings: dict
    complete: bool = True

    @property
    def length(self) -> int:
        return int(self.order.shape[0])

    def grads(self, policy: GaussianPolicy) -> np.ndarray:
        """The per-step gradients (L, P) in alpha's order (recomputed from the stored obs and actions)."""
        K = self.actions.shape[0]
        out = []
        for i in range(K):
            n = int(np.sum(self.order[:, 0] == i))
            out.append(policy.score(self.obs[i, :n], self.actions[i, :n]).numpy())
        return np.stack([out[i][t] for i, t in self.order]) if len(self.order) else np.zeros((0, policy.n_params))


class Trajectory:
    """One trajectory under construction: its saved end state and its actions, observations, physics."""

    def __init__(self, start: envs.StartState):
        self.state = start
        self.actions: list[np.ndarray] = []
        self.obs: list[np.ndarray] = [start.obs[None]]
        self.physics: list[np.ndarray] = [start.physics[None]]

    @property
    def length(self) -> int:
        return sum(len(a) for a in self.actions)

    def extend(self, actions: np.ndarray, obs: np.ndarray, physics: np.ndarray):
        """Append a chunk (its actions and the states after each) and move the saved state past it."""
        self.actions.append(actions)
        self.obs.append(obs)
        self.physics.append(physics)
        self.state = envs.advance(self.state, actions)  # the saved state after the chunk, warm start included


def check_grid(lengths, max_length) -> np.ndarray:
    """The sorted lengths ≤ ``max_length`` at which a curve is recorded, ending at ``max_length``.
    Taught in notebooks/03_cem_compression.ipynb, §5 Longer sequences: grow them chunk by chunk."""
    try:
        g = np.asarray(sorted({int(x) for x in lengths}), dtype=int)
    except (TypeError, ValueError):
        raise ValueError(f"lengths={lengths!r}: must be an iterable of integers >= 1") from None
    if g.size == 0 or g[0] < 1:
        raise ValueError(f"lengths={lengths!r}: needs lengths >= 1")
    g = g[g <= max_length]
    return g if g.size and g[-1] == max_length else np.append(g, max_length)


def search_result(trajs, cols, w, order, rec, seeds, method, settings, complete) -> SearchResult:
    """Assemble a SearchResult from the trajectories, the gradient columns in order, and the recorded curve.
    Taught in notebooks/03_cem_compression.ipynb, §5 Longer sequences: grow them chunk by chunk."""
    K = len(trajs)
    Lmax = max(t.length for t in trajs)
    k = next((t.actions[0].shape[1] for t in trajs if t.actions), 0)
    acts = np.full((K, Lmax, k), np.nan)
    obs = np.full((K, Lmax + 1, trajs[0].obs[0].shape[1]), np.nan)
    phys = np.full((K, Lmax + 1, trajs[0].physics[0].shape[1]), np.nan)
    for i, t in enumerate(trajs):
        if t.actions:
            acts[i, : t.length] = np.concatenate(t.actions)
        obs[i, : t.length + 1] = np.concatenate(t.obs)
        phys[i, : t.length + 1] = np.concatenate(t.physics)
    if cols:
        fit = best_alpha_exact(np.concatenate(cols), w)
        alpha, direction, cos = fit.alpha, fit.direction, fit.cosine
    else:
        alpha, direction, cos = np.zeros(0), np.zeros_like(w), 0.0
    arr = {key: np.asarray(v) for key, v in rec.items()}
    return SearchResult(acts, obs, phys, np.asarray(order, dtype=int).reshape(-1, 2), alpha, direction, cos,
                        arr["lengths"].astype(int), arr["curve"].astype(float), arr["curve_lbfgs"].astype(float),
                        arr["seconds"].astype(float), arr["env_steps"].astype(np.int64), seeds, method,
                        dict(settings), complete)
