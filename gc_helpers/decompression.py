"""Decompression: walk from w_first along a compressed direction and measure what it taught.

Taught in notebooks/05_line_search_decompression.ipynb.

- ``theta_at``, ``best_beta``, ``scan_line``: the line search itself, pure (θ = w_first + β · scale · d̂ for each β on
  a grid, scored by any callable); ``line_search`` scores each candidate by many evaluation episodes in parallel
  (mean return ± standard error, episode length, forward velocity) on the policy's task.
- ``find_optimum`` (pure) and ``refined_line_search``: a line search that finds its optimum — a grid from small
  steps (0.05, 0.1) to past 1, extended outward while the best β sits at its edge, then refined around the best;
  ``edge`` flags a pick that is still the smallest or largest β tried.
- ``recovered_fraction``: (R(best β) − R(w_first)) / (R(w_last) − R(w_first)); ``bootstrap_recovered``: the same
  from per-episode returns, with a bootstrap interval.
- Baselines on the same budget of L state-action pairs: ``behaviour_cloning`` on the trained agent's own L-step
  trajectory, ``reinforce_direction`` (one REINFORCE step on one on-policy trajectory of length L); the exact
  weight change (cosine 1) is the ceiling.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from . import envs, rollouts
from .checks import check_seed, finite_array, int_at_least, positive_float
from .policies import GaussianPolicy, task_of
from .vectors import cosine


def check_direction(direction, n_params: int, name: str = "direction") -> np.ndarray:
    """A finite, non-zero float64 vector of length ``n_params``, or a ValueError naming ``name``.
    Taught in notebooks/05_line_search_decompression.ipynb, §2 The line search."""
    d = finite_array(direction, name)
    if d.shape != (n_params,):
        raise ValueError(f"{name} has shape {d.shape}; expected ({n_params},) for this policy")
    if not np.any(d):
        raise ValueError(f"{name} is the zero vector; a direction must be non-zero")
    return d


def check_betas(betas) -> np.ndarray:
    """The β grid as a finite, non-empty float64 vector (e.g. np.linspace(0.2, 1.2, 11)).
    Taught in notebooks/05_line_search_decompression.ipynb, §2 The line search."""
    return finite_array(betas, "betas").reshape(-1)


# ------------------------------------------------------------------------------------------------------------
# The line search, pure (reference functions: the notebook's exercises are checked against them)


def theta_at(w_first, direction, beta: float, scale: float) -> np.ndarray:
    """θ = w_first + β · scale · d̂ with d̂ = direction / ‖direction‖.
    Taught in notebooks/05_line_search_decompression.ipynb, §2 The line search."""
    w = finite_array(w_first, "w_first", ndim=1)
    d = check_direction(direction, w.size)
    return w + beta * scale * (d / np.linalg.norm(d))


def best_beta(betas, scores) -> float:
    """The β with the highest score (the first one if several tie).
    Taught in notebooks/05_line_search_decompression.ipynb, §2 The line search."""
    b, s = check_betas(betas), finite_array(scores, "scores").reshape(-1)
    if s.shape != b.shape:
        raise ValueError(f"scores has {s.size} entries; expected one per β ({b.size})")
    return float(b[int(np.argmax(s))])


def scan_line(w_first, direction, betas, scale: float, score: Callable[[np.ndarray], object]) -> list:
    """``score(theta_at(w_first, direction, β, scale))`` for every β in ``betas``, in order.
    Taught in notebooks/05_line_search_decompression.ipynb, §2 The line search."""
    positive_float(scale, "scale")
    return [score(theta_at(w_first, direction, beta, scale)) for beta in check_betas(betas)]


@dataclass(frozen=True)
class LineSearch:
    """Returns along w_first + β · scale · d̂ for each β (see ``line_search``); ``best_theta``: the best candidate's
    weights."""

    betas: np.ndarray
    evaluations: tuple  # rollouts.Evaluation per β
    scale: float
    label: str = ""
    w_first: np.ndarray | None = None
    direction: np.ndarray | None = None
    edge: str = ""  # "low"/"high": the best β is the smallest/largest β tried (the optimum may lie beyond)

    @property
    def returns(self) -> np.ndarray:
        return np.array([e.mean_return for e in self.evaluations])

    @property
    def stderrs(self) -> np.ndarray:
        return np.array([e.stderr for e in self.evaluations])

    @property
    def best_index(self) -> int:
        return int(np.argmax(self.returns))

    @property
    def best_beta(self) -> float:
        return best_beta(self.betas, self.returns)

    @property
    def best(self) -> rollouts.Evaluation:
        return self.evaluations[self.best_index]

    @property
    def best_theta(self) -> np.ndarray:
        if self.w_first is None or self.direction is None:
            raise ValueError("this LineSearch was built without w_first and direction; use line_search")
        return theta_at(self.w_first, self.direction, self.best_beta, self.scale)


def line_search(
    policy: GaussianPolicy,
    direction,
    betas,
    scale: float,
    env_id: str | None = None,
    n_episodes: int = 20,
    horizon: int = 1000,
    noise_std: float = 0.0,
    seed: int = 10_000,
    label: str = "",
    progress: Callable[[int, int, rollouts.Evaluation], None] | None = None,
) -> LineSearch:
    """Evaluate θ = θ_policy + β · scale · d̂ for every β in ``betas`` (``scan_line``) on the task ``env_id`` (the
    policy's own unless given; a mismatch is a ValueError).

    ``scale`` is usually ‖w_last − w_first‖, so that β = cos(d̂, Δw) is the projection step. Every candidate is
    scored on the same ``n_episodes`` start states (``seed``) so that differences between β are not noise in
    the starts. Taught in notebooks/05_line_search_decompression.ipynb, §2 The line search.
    """
    theta0 = policy.flat()
    d = check_direction(direction, theta0.size)
    b = check_betas(betas)
    positive_float(scale, "scale")
    env_id = task_of(policy, env_id)
    pool = rollouts.EnvPool(env_id, n_episodes)
    candidate = policy.with_flat(theta0)
    results = []

    def evaluate(theta):
        ev = rollouts.evaluate(env_id, candidate.set_flat(theta).mean_fn(), n_episodes, horizon, seed, noise_std,
                           pool=pool)
        results.append(ev)
        if progress is not None:
            progress(len(results) - 1, len(b), ev)
        return ev

    scan_line(theta0, d, b, scale, evaluate)
    return LineSearch(b, tuple(results), float(scale), label, theta0, d)


REFINED_GRID = (0.05, 0.1, 0.2, 0.45, 0.7, 0.95, 1.3)  # small steps, the old 4-point grid, and past 1
SELECT_EPISODES = 10  # episodes β is picked on (at least)


def edge_of(betas, best: float) -> str:
    """"low" if ``best`` is the smallest of ``betas``, "high" if the largest, "" if inside (a grid of one: "low").
    Taught in notebooks/05_line_search_decompression.ipynb, §2 The line search."""
    b = check_betas(betas)
    return "low" if best <= b.min() else "high" if best >= b.max() else ""


def find_optimum(score: Callable[[float], float], grid=REFINED_GRID, extend: int = 2, refine: int = 1,
                 low_factor: float = 0.5, high_factor: float = 1.5) -> tuple[dict, float, str]:
    """Maximise ``score(β)`` over a grid, then look further where the grid was too short or too coarse.

    1. every β in ``grid``; 2. up to ``extend`` times, while the best β is the smallest (largest) tried, try
    smallest × ``low_factor`` (largest × ``high_factor``); 3. ``refine`` times, the midpoints between the best β
    and its neighbours. Returns ({β: score} for every β tried, the best β (the smallest if several tie), its edge
    flag from ``edge_of``: "low"/"high" when the pick is still at the edge of everything tried, else "").
    Taught in notebooks/05_line_search_decompression.ipynb, §2 The line search."""
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
    ``edge`` set when the pick is still the smallest or largest β tried.
    Taught in notebooks/05_line_search_decompression.ipynb, §2 The line search."""
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


def recovered_fraction(r_best: float, r_first: float, r_last: float) -> float:
    """(R(best β) − R(w_first)) / (R(w_last) − R(w_first)): 0 = nothing learned, 1 = all of training.
    Taught in notebooks/05_line_search_decompression.ipynb, §3 Measuring it honestly."""
    if not all(np.isfinite(v) for v in (r_best, r_first, r_last)):
        raise ValueError(f"returns must be finite: r_best={r_best}, r_first={r_first}, r_last={r_last}")
    if r_last == r_first:
        raise ValueError(f"r_last == r_first == {r_last}: training did not change the return")
    return float((r_best - r_first) / (r_last - r_first))


def bootstrap_recovered(r_best, r_first, r_last, n_boot: int = 2000, seed: int = 0, level: float = 0.9):
    """The recovered fraction of the mean returns of three sets of per-episode returns, and a bootstrap interval:
    each set is resampled with replacement independently ``n_boot`` times. Returns (fraction, low, high), the
    interval holding ``level`` of the resampled fractions (percentiles).
    Taught in notebooks/05_line_search_decompression.ipynb, §3 Measuring it honestly."""
    sets = [finite_array(r, name, ndim=1) for r, name in ((r_best, "r_best"), (r_first, "r_first"),
                                                           (r_last, "r_last"))]
    n_boot = int_at_least(n_boot, "n_boot")
    if not 0 < level < 1:
        raise ValueError(f"level={level!r}: must be a number in (0, 1), e.g. 0.9")
    rng = np.random.default_rng(check_seed(seed))
    means = [r[rng.integers(0, r.size, (n_boot, r.size))].mean(axis=1) for r in sets]  # (n_boot,) per set
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = (means[0] - means[1]) / (means[2] - means[1])
    low, high = np.nanquantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return recovered_fraction(*(r.mean() for r in sets)), float(low), float(high)


def expert_trajectory(policy: GaussianPolicy, env_id: str | None = None, length: int | None = None, seed: int = 42,
                      noise_std: float = 0.0):
    """The trained agent's own trajectory of ``length`` steps on its task: (obs (L, d), actions (L, k), return).
    Taught in notebooks/05_line_search_decompression.ipynb, §4 The decompression table."""
    length = int_at_least(length, "length")
    r = rollouts.rollout(rollouts.EnvPool(task_of(policy, env_id), 1), policy.mean_fn(), length, seed, noise_std)
    n = int(r.lengths[0])
    return r.obs[0, :n], r.actions[0, :n], float(r.returns[0])


def behaviour_cloning(policy: GaussianPolicy, obs, actions, ridge: float = 1e-3, steps: int = 500,
                      lr: float = 1e-2) -> np.ndarray:
    """Parameters that imitate (obs, actions) by maximum likelihood, starting from ``policy``.

    Linear/quadratic means: ridge regression of the actions on φ(s) (closed form). MLP: ``steps`` of Adam on
    the mean squared error. Returns θ (the policy itself is not changed).
    Taught in notebooks/05_line_search_decompression.ipynb, §4 The decompression table.
    """
    obs = finite_array(obs, "obs")
    act = envs.check_actions(finite_array(actions, "actions"), policy.act_dim, ndim=2)
    if obs.shape != (act.shape[0], policy.obs_dim):
        raise ValueError(f"obs has shape {obs.shape}; expected ({act.shape[0]}, {policy.obs_dim})")
    if not np.isfinite(ridge) or ridge < 0:
        raise ValueError(f"ridge={ridge!r}: must be finite and >= 0")
    if policy.kind != "mlp":
        phi = policy.features(obs).numpy()
        lhs = phi.T @ phi + ridge * len(phi) * np.eye(phi.shape[1])
        W = np.linalg.solve(lhs, phi.T @ act).T
        return W.reshape(-1)
    student = policy.with_flat(policy.flat())
    opt = torch.optim.Adam(student.parameters(), lr=lr)
    o, a = torch.as_tensor(obs), torch.as_tensor(act)
    for _ in range(int(steps)):
        opt.zero_grad()
        loss = ((student.mean(o) - a) ** 2).mean()
        loss.backward()
        opt.step()
    return student.flat()


def reinforce_direction(policy: GaussianPolicy, env_id: str | None = None, length: int | None = None,
                        seed: int = 42, noise_std: float | None = None) -> np.ndarray:
    """One REINFORCE gradient from ONE on-policy trajectory of ``length`` steps on the policy's task:
    Σ_t ∇θ log π(a_t|s_t) (G_t − mean_t G_t), with reward-to-go G_t (see notebook 01).
    Taught in notebooks/05_line_search_decompression.ipynb, §4 The decompression table."""
    length = int_at_least(length, "length")
    sigma = policy.sigma if noise_std is None else noise_std
    r = rollouts.rollout(rollouts.EnvPool(task_of(policy, env_id), 1), policy.mean_fn(), length, seed, sigma)
    n = int(r.lengths[0])
    rewards = r.rewards[0, :n]
    to_go = np.cumsum(rewards[::-1])[::-1]
    adv = to_go - to_go.mean()
    scores = policy.score(r.obs[0, :n], r.actions[0, :n]).numpy()
    return adv @ scores


def summarise(searches: Sequence[LineSearch], r_first: float, r_last: float) -> list[dict]:
    """One row per line search: label, best β, best return ± s.e., length, velocity, recovered fraction.
    Taught in notebooks/05_line_search_decompression.ipynb, §7 Iterated decompression."""
    rows = []
    for s in searches:
        best = s.best
        rows.append({"label": s.label, "best_beta": s.best_beta, "return": best.mean_return, "stderr": best.stderr,
                     "length": best.mean_length, "velocity": best.mean_forward_velocity,
                     "recovered": recovered_fraction(best.mean_return, r_first, r_last)})
    return rows


@dataclass(frozen=True)
class DecompressionRound:
    """One round of ``iterated_decompression`` (notebooks/05_line_search_decompression.ipynb, §7)."""

    theta: np.ndarray  # weights after the round
    cosine: float  # cos(compressed direction, w_last − θ_before)
    residual: float  # ‖w_last − θ_after‖ / ‖w_last − w_first‖
    evaluation: rollouts.Evaluation | None


def iterated_decompression(
    policy: GaussianPolicy,
    w_last,
    compress: Callable[[GaussianPolicy, np.ndarray], np.ndarray],
    rounds: int,
    evaluate: Callable[[GaussianPolicy], rollouts.Evaluation] | None = None,
    progress: Callable[[int, DecompressionRound], None] | None = None,
    betas=None,
) -> list[DecompressionRound]:
    """Compress at the current weights, step, re-compress: ``rounds`` manufactured trajectories in all.

    ``compress(policy_k, target)`` returns the compressed update d_k = Σ_t α_t g_t for target = w_last − θ_k,
    with the per-step gradients g_t taken at θ_k and the exact α (so its length is the projection of the target
    on their span). Without ``betas`` each round steps θ_{k+1} = θ_k + d_k: the step length is carried by α and
    no return is measured inside the loop. With ``betas`` each round is a line search θ_k + β d_k over the grid,
    keeping the β with the best ``evaluate`` return (the study's line search, repeated).
    ``evaluate(policy)`` scores the policy after each round (required with ``betas``).
    Taught in notebooks/05_line_search_decompression.ipynb, §7 Iterated decompression.
    """
    theta = policy.flat()
    last = check_direction(finite_array(w_last, "w_last") - theta, theta.size, "w_last − w_first") + theta
    rounds = int_at_least(rounds, "rounds")
    grid = None if betas is None else check_betas(betas)
    if grid is not None and evaluate is None:
        raise ValueError("betas needs evaluate: the line search scores each β by its return")
    total = np.linalg.norm(last - theta)
    current = policy.with_flat(theta)
    out = []
    for k in range(rounds):
        target = last - theta
        step = check_direction(compress(current, target), theta.size, "compress(...) result")
        cos = cosine(step, target)
        if grid is None:
            theta = theta + step
            current.set_flat(theta)
            ev = evaluate(current) if evaluate is not None else None
        else:
            tried = []
            for beta in grid:
                current.set_flat(theta + beta * step)
                tried.append((evaluate(current), beta))
            ev, beta = max(tried, key=lambda pair: pair[0].mean_return)
            theta = theta + beta * step
            current.set_flat(theta)
        rnd = DecompressionRound(theta.copy(), cos, float(np.linalg.norm(last - theta) / total), ev)
        out.append(rnd)
        if progress is not None:
            progress(k, rnd)
    return out


def save_results(path, searches: Sequence[LineSearch], rounds: Sequence[DecompressionRound], meta: dict):
    """Save line searches (same β grid) and iterated-decompression rounds as a "decompressed" artifact.
    Taught in notebooks/05_line_search_decompression.ipynb, §7 Iterated decompression (shipped, earlier protocol)."""
    from . import store

    if not searches:
        raise ValueError("searches is empty: nothing to save")
    arrays = {
        "labels": np.array([s.label for s in searches]),
        "betas": np.stack([s.betas for s in searches]),
        "scales": np.array([s.scale for s in searches]),
        "returns": np.stack([s.returns for s in searches]),
        "stderrs": np.stack([s.stderrs for s in searches]),
        "episode_lengths": np.stack([[e.mean_length for e in s.evaluations] for s in searches]),
        "velocities": np.stack([[e.mean_forward_velocity for e in s.evaluations] for s in searches]),
        "n_episodes": np.array([len(s.evaluations[0].returns) for s in searches]),
        "round_cosines": np.array([r.cosine for r in rounds]),
        "round_residuals": np.array([r.residual for r in rounds]),
        "round_returns": np.array([r.evaluation.mean_return if r.evaluation else np.nan for r in rounds]),
        "round_stderrs": np.array([r.evaluation.stderr if r.evaluation else np.nan for r in rounds]),
        "round_velocities": np.array([r.evaluation.mean_forward_velocity if r.evaluation else np.nan for r in rounds]),
        "round_lengths": np.array([r.evaluation.mean_length if r.evaluation else np.nan for r in rounds]),
    }
    return store.save(path, "decompressed", arrays, meta)


# ------------------------------------------------------------------------------------------------------------
# Decompression over search seeds (bench/decompression.py writes data/decompressed_seeds/<run>/)

SEED_KIND = "decompressed_seed"
MEASURES = ("returns", "velocity", "net")  # return, forward velocity, return minus the alive bonus


def seed_rows(folder, bootstrap: Callable = bootstrap_recovered, sub: str | None = None) -> tuple:
    """(reference, rows) of a decompression-over-seeds folder: the fresh-seed denominators, and per direction its
    setting (direction, L, search_seed, cosine, best_beta, edge, select_episodes), fresh-episode means and the
    recovered fraction of each measure with its interval (``bootstrap(best, first, last)``). ``sub``: read the
    directions from folder/sub (e.g. "refined": the refined line search), the reference from folder. Taught in
    notebooks/05_line_search_decompression.ipynb, §4 The decompression table."""
    from pathlib import Path

    from . import store

    folder = Path(folder)
    ref = store.load(folder / "reference", SEED_KIND)
    where = folder / sub if sub else folder
    rows = []
    for path in sorted(p for p in where.iterdir() if (p / "meta.json").is_file()):
        if path.name == "reference" or path.name.startswith(("search_", ".")):
            continue
        a = store.load(path, SEED_KIND)
        ret = a["fresh_returns"]
        row = {k: a.meta[k] for k in ("direction", "L", "search_seed", "cosine", "best_beta")}
        row.update(name=path.name, ret=float(ret.mean()), se=float(ret.std(ddof=1) / np.sqrt(ret.size)), n=ret.size,
                   length=float(a["fresh_lengths"].mean()), velocity=float(a["fresh_velocity"].mean()),
                   net=float(a["fresh_net"].mean()), edge=a.meta.get("edge", edge_of(a["betas"], a.meta["best_beta"])),
                   select_episodes=int(a.meta["select_episodes"]), n_betas=int(a["betas"].size))
        for key in MEASURES:
            row[f"rho_{key}"] = bootstrap(a[f"fresh_{key}"], ref[f"first_{key}"], ref[f"last_{key}"])
        rows.append(row)
    return ref, rows


def refined_complete(folder) -> bool:
    """Whether folder/refined/ (``bench/decompression.py --refined``) holds every direction of the 4-point table in
    ``folder`` (BC's as bc_L<L>_s0): only then do notebook 05 and the README read it.
    Taught in notebooks/05_line_search_decompression.ipynb, §4 The decompression table."""
    from pathlib import Path

    folder = Path(folder)
    old = [p.parent.name for p in folder.glob("*/meta.json")
           if p.parent.name != "reference" and not p.parent.name.startswith("search_")]
    want = [n + "_s0" if n.startswith("bc_L") else n for n in old]
    return bool(want) and all((folder / "refined" / n / "meta.json").is_file() for n in want)


def seed_verdicts(rows, keys=("rho_returns", "rho_velocity", "rho_net")) -> list:
    """Behaviour cloning against the compressed direction at every L both have, for each measure: the per-seed
    recovered fractions (BC: one per expert episode; compressed: one per search seed) compared by Welch's t
    (``stats.compare``), Holm-corrected over every (L, measure) of the table; "n = 3: no verdict" below
    ``stats.MIN_SEEDS`` seeds a side. Returns [(L, key, Comparison or None, text)]: None (and "n = 1: no
    verdict", with the means) when a side has a single seed, no spread to compare.
    Taught in notebooks/05_line_search_decompression.ipynb, §4 The decompression table."""
    from . import stats

    found = []
    for L in sorted({r["L"] for r in rows if r["direction"] == "compressed"}):
        for key in keys:
            bc = [r[key][0] for r in rows if r["direction"] == "bc" and r["L"] == L]
            comp = [r[key][0] for r in rows if r["direction"] == "compressed" and r["L"] == L]
            if not bc or not comp:
                continue
            c = stats.compare(bc, comp, "BC", "compressed") if min(len(bc), len(comp)) >= 2 else None
            found.append((L, key, c, bc, comp))
    done = iter(stats.holm_verdicts([f[2] for f in found if f[2] is not None]))
    out = []
    for L, key, c, bc, comp in found:
        if c is None:
            text = (f"BC {np.mean(bc):.2f} (n = {len(bc)}) vs compressed {np.mean(comp):.2f} (n = {len(comp)}) — "
                    f"n = {min(len(bc), len(comp))}: no verdict")
        else:
            c = next(done)
            text = c.summary()
        out.append((L, key, c, text))
    return out
