"""A line search that finds its optimum (bench/decompression.py --refined, bench/fewest_pairs.py --refined): a grid
from small steps (0.05, 0.1) to past 1, extended outward while the best β sits at its edge, then refined around the
best; ``edge`` flags a pick that is still the smallest or largest β tried. Notebook 05 §2 teaches the line search
(``gc_helpers.line_search``) and reads the table this one made.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gc_helpers import rollouts
from gc_helpers.checks import int_at_least, positive_float
from gc_helpers.line_search import LineSearch, check_betas, check_direction, edge_of, theta_at
from gc_helpers.policies import GaussianPolicy, task_of

REFINED_GRID = (0.05, 0.1, 0.2, 0.45, 0.7, 0.95, 1.3)  # small steps, the old 4-point grid, and past 1
SELECT_EPISODES = 10  # episodes β is picked on (at least)


def find_optimum(score: Callable[[float], float], grid=REFINED_GRID, extend: int = 2, refine: int = 1,
                 low_factor: float = 0.5, high_factor: float = 1.5) -> tuple[dict, float, str]:
    """Maximise ``score(β)`` over a grid, then look further where the grid was too short or too coarse.

    1. every β in ``grid``; 2. up to ``extend`` times, while the best β is the smallest (largest) tried, try
    smallest × ``low_factor`` (largest × ``high_factor``); 3. ``refine`` times, the midpoints between the best β
    and its neighbours. Returns ({β: score} for every β tried, the best β (the smallest if several tie), its edge
    flag from ``edge_of``: "low"/"high" when the pick is still at the edge of everything tried, else "")."""
    b = np.sort(check_betas(grid))
    if np.any(b <= 0):
        raise ValueError(f"grid={b.tolist()}: β must be > 0 (β = 0 is w_first itself)")
    extend, refine = int_at_least(extend, "extend", 0), int_at_least(refine, "refine", 0)
    positive_float(low_factor, "low_factor")
    if not low_factor < 1 < high_factor:
        raise ValueError(f"low_factor={low_factor}, high_factor={high_factor}: need low_factor < 1 < high_factor")
    scores: dict[float, float] = {}

    def run(betas):
        for beta in betas:
            beta = float(np.round(beta, 6))
            if beta not in scores:
                value = float(score(beta))
                if not np.isfinite(value):
                    raise ValueError(f"score({beta}) = {value}: scores must be finite")
                scores[beta] = value

    def best():
        return max(sorted(scores), key=lambda k: scores[k])

    run(b)
    for _ in range(extend):
        lo, hi, top = min(scores), max(scores), best()
        if top == lo:
            run([lo * low_factor])
        elif top == hi:
            run([hi * high_factor])
        else:
            break
    for _ in range(refine):
        tried, top = sorted(scores), best()
        i = tried.index(top)
        run([(tried[j] + top) / 2 for j in (i - 1, i + 1) if 0 <= j < len(tried)])
    top = best()
    return dict(sorted(scores.items())), top, edge_of(list(scores), top)



def refined_line_search(policy: GaussianPolicy, direction, scale: float, env_id: str | None = None,
                        grid=REFINED_GRID, n_episodes: int = SELECT_EPISODES, horizon: int = 1000, seed: int = 10_000,
                        label: str = "", extend: int = 2, refine: int = 1) -> LineSearch:
    """``find_optimum`` along θ = θ_policy + β · scale · d̂, each β scored by its mean return on the same
    ``n_episodes`` start states (``seed``; σ = 0). Returns a ``LineSearch`` over every β tried (sorted), with
    ``edge`` set when the pick is still the smallest or largest β tried."""
    theta0 = policy.flat()
    d = check_direction(direction, theta0.size)
    positive_float(scale, "scale")
    n_episodes = int_at_least(n_episodes, "n_episodes")
    env_id = task_of(policy, env_id)
    pool = rollouts.EnvPool(env_id, n_episodes)
    candidate = policy.with_flat(theta0)
    evaluations = {}

    def score(beta):
        ev = rollouts.evaluate(env_id, candidate.set_flat(theta_at(theta0, d, beta, scale)).mean_fn(), n_episodes,
                           horizon, seed, 0.0, pool=pool)
        evaluations[beta] = ev
        return ev.mean_return

    scores, _, edge = find_optimum(score, grid, extend, refine)
    betas = np.array(list(scores))
    return LineSearch(betas, tuple(evaluations[b] for b in scores), float(scale), label, theta0, d, edge)
