"""Outer search: manufacture L state-action pairs for what the decompressed policy DOES, not for a cosine.

Taught in notebooks/07_fewest_pairs.ipynb (§4 the outer search).

A candidate is L open-loop actions (in the box), a correction to their α and a step size β. Its pairs are the
replayed states and actions (``fewest_pairs.replayed_pairs``) with α = the exact best α towards Δw (the projection of
the weight change on the span of the candidate's per-step gradients) plus rms(α) times the searched correction; its
direction is d = Σ_t α_t g_t = Σ_t c_t ⊗ φ(s_t) (the kernel view, so linear and quadratic policies only). Its score is
the forward progress (metres, averaged over a few SHORT episodes from fixed start states, σ = 0) of the policy
w_first + β · d. A candidate whose open-loop replay leaves the healthy range is not a valid episode and scores −inf.
The search is the cross-entropy method (``compression.cem.cem_iteration``, the package's one CEM iteration),
started from a given sequence (the cosine-compressed trajectory's first L steps) with the exact α and β = 1; the
start itself is scored first, so the result is never worse than the warm start on the search's own objective (it
can be worse on other episodes: the objective sees only a few).

RESUMABLE: with ``checkpoint`` (a folder) the search state — mean, spread, best-so-far, iteration, env steps and
seconds — is saved with ``store.save`` after every iteration, and a rerun with the same arguments continues from
it. Iteration i draws its population from ``default_rng([seed, i])``, so an interrupted and resumed search ends
with the same best as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import envs, rollouts, store
from .checks import check_seed, int_at_least, positive_float
from .compression.cem import cem_iteration
from .fewest_pairs import Pairs, check_length, compressed_coefficients, kernel_direction, replayed_pairs
from .policies import GaussianPolicy
from .vectors import cosine

CHECKPOINT_KIND = "outer_search_checkpoint"


@dataclass(frozen=True)
class OuterConfig:
    """Sizes of the outer search (notebook 07 §4): CEM over the L × k actions, the L coefficients α and log β.

    The actions start at the warm start with spread ``action_std`` (the box is [-1, 1]); α = α_exact(actions) +
    rms(α_exact) · z with z starting at 0 with spread ``alpha_std`` (0 searches no α: the exact projection); log β
    starts at 0 with spread ``log_beta_std``."""

    population: int = 12  # candidates per CEM iteration
    action_std: float = 0.1  # initial spread of the actions around the warm start
    elites: int = 3  # best candidates the search distribution is refitted to
    alpha_std: float = 0.3  # initial spread of the α correction z (0: α is the exact projection)
    iterations: int = 6  # CEM iterations (each checkpointed: an interrupted search resumes)
    log_beta_std: float = 0.3  # initial spread of log β
    min_std: float = 0.02  # floor of every spread
    n_episodes: int = 3  # short evaluation episodes per candidate (the objective: their forward progress)
    horizon: int = 200  # steps of each short evaluation episode
    eval_seed: int = 50_000  # seed of the short episodes (the fresh 1000-step ones use others)

    def __post_init__(self):
        int_at_least(self.population, "population", 2)
        int_at_least(self.elites, "elites")
        if self.elites > self.population:
            raise ValueError(f"elites={self.elites}: must be at most population={self.population}")
        int_at_least(self.iterations, "iterations")
        for name in ("log_beta_std", "min_std"):
            positive_float(getattr(self, name), name)
        for name in ("action_std", "alpha_std"):
            if not np.isfinite(getattr(self, name)) or getattr(self, name) < 0:
                raise ValueError(f"{name}={getattr(self, name)!r}: must be a finite number >= 0 (0: not searched)")
        int_at_least(self.n_episodes, "n_episodes")
        int_at_least(self.horizon, "horizon")
        check_seed(self.eval_seed)


@dataclass(frozen=True)
class OuterResult:
    """The best candidate: its pairs (α and direction scaled by its β), β, score (m of forward progress per short
    episode), the best score after each iteration, env steps and seconds in all (resumed runs included)."""

    pairs: Pairs
    beta: float
    score: float
    history: np.ndarray
    env_steps: int
    seconds: float
    iterations_done: int


def forward_progress(policy: GaussianPolicy, theta, n_episodes: int, horizon: int, seed: int,
                     env_id: str = "Ant-v5", pool: rollouts.EnvPool | None = None) -> tuple[float, int]:
    """Mean forward progress (m) of the policy with weights ``theta`` over ``n_episodes`` episodes of at most
    ``horizon`` steps from ``env.reset(seed + i)``, σ = 0; and the env steps it took. Falling ends an episode
    early, so a policy that falls loses the progress it would have made."""
    int_at_least(n_episodes, "n_episodes")
    int_at_least(horizon, "horizon")
    pool = pool or rollouts.EnvPool(env_id, n_episodes, n_threads=1)
    r = rollouts.rollout(pool, policy.with_flat(theta).mean_fn(), horizon, seed, 0.0)
    dt = envs.env_spec(env_id).dt
    return float(r.forward_velocity.sum(axis=1).mean() * dt), r.env_steps


def _fingerprint(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(np.asarray(a, dtype=np.float64)).tobytes())
    return h.hexdigest()[:16]


class _Problem:
    """One outer search's fixed inputs; ``decode`` turns a search vector into pairs, ``score`` evaluates it."""

    def __init__(self, policy, target, start, a0, cfg):
        self.policy, self.target, self.start, self.a0, self.cfg = policy, target, start, a0, cfg
        self.spec = envs.env_spec(start.env_id)
        self.L, self.n_act = a0.shape[0], a0.size
        self.pool = rollouts.EnvPool(start.env_id, cfg.n_episodes, n_threads=1)

    def initial(self) -> tuple[np.ndarray, np.ndarray]:
        c = self.cfg
        mean = np.concatenate([self.a0.ravel(), np.zeros(self.L), [0.0]])
        std = np.concatenate([np.full(self.n_act, c.action_std), np.full(self.L, c.alpha_std), [c.log_beta_std]])
        return mean, std

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-coordinate bounds of a candidate: the action box for the actions; α and log β are free."""
        free = np.full(self.L + 1, np.inf)
        return (np.r_[np.full(self.n_act, self.spec.act_low), -free],
                np.r_[np.full(self.n_act, self.spec.act_high), free])

    def decode(self, x) -> tuple[Pairs, float]:
        """Pairs with the searched α (direction Σ α_t g_t) and β."""
        p = replayed_pairs(self.policy, self.target, [self.start], [x[: self.n_act].reshape(self.L, -1)])
        alpha = p.alpha + np.sqrt(np.mean(p.alpha**2)) * x[self.n_act: -1]
        d = kernel_direction(self.policy, p.obs, compressed_coefficients(alpha, p.actions, self.policy.sigma))
        return Pairs(p.obs, p.actions, d, alpha, cosine(d, self.target), p.healthy, p.env_steps), float(np.exp(x[-1]))

    def score(self, x) -> tuple[float, int]:
        """(forward progress, env steps); −inf if the replay is not a valid episode."""
        pairs, beta = self.decode(x)
        if not pairs.healthy:
            return -np.inf, pairs.env_steps
        theta = self.policy.flat() + beta * pairs.direction
        c = self.cfg
        score, steps = forward_progress(self.policy, theta, c.n_episodes, c.horizon, c.eval_seed, self.start.env_id,
                                        self.pool)
        return score, steps + pairs.env_steps


def _load_state(checkpoint, fingerprint):
    if checkpoint is None or not (Path(checkpoint) / "meta.json").is_file():
        return None
    art = store.load(checkpoint, CHECKPOINT_KIND)
    if art.meta.get("fingerprint") != fingerprint:
        raise ValueError(f"checkpoint={str(checkpoint)!r} belongs to another search (other policy, target, start, "
                         "warm start, config or seed); delete it or pass another folder")
    return art


def outer_search(policy: GaussianPolicy, target, start: envs.StartState, init_actions,
                 config: OuterConfig = OuterConfig(), seed: int = 0, checkpoint=None, progress=None) -> OuterResult:
    """CEM over L open-loop actions from ``start``, their α and log β, scored by ``forward_progress`` of
    w_first + β · d (notebook 07 §4). ``init_actions`` (L, k) is the warm start (scored first, with the exact α
    and β = 1); ``checkpoint`` a folder to save the search state to after every iteration and resume from;
    ``progress(iteration, best_score)`` after each iteration."""
    if not isinstance(config, OuterConfig):
        raise ValueError(f"config={config!r}: must be an OuterConfig")
    spec = envs.env_spec(start.env_id)
    a0 = np.clip(envs.check_actions(init_actions, spec.act_dim, "init_actions", ndim=2), spec.act_low, spec.act_high)
    check_length(len(a0), "len(init_actions)")
    seed = check_seed(seed)
    target = np.asarray(target, dtype=np.float64)
    prob = _Problem(policy, target, start, a0, config)
    fp = _fingerprint(policy.flat(), target, start.physics, a0, [seed], list(asdict(config).values()))
    t0, saved = time.perf_counter(), _load_state(checkpoint, fp)
    if saved is None:
        mean, std = prob.initial()
        best_x = mean.copy()
        best_score, steps = prob.score(best_x)
        history, done, seconds0 = [], 0, 0.0
    else:
        mean, std, best_x, history = saved["mean"], saved["std"], saved["best_x"], list(saved["history"])
        best_score, done = float(saved.meta["best_score"]), int(saved.meta["done"])
        steps, seconds0 = int(saved.meta["env_steps"]), float(saved.meta["seconds"])
    low, high = prob.bounds()

    def score(xs):  # forward progress of each candidate; env steps counted
        nonlocal steps
        scored = [prob.score(x) for x in xs]
        steps += sum(s[1] for s in scored)
        return np.array([s[0] for s in scored])

    for it in range(done, config.iterations):
        # ALGO: one CEM iteration (compression.cem.cem_iteration): invalid candidates are never elites
        mean, std, x, s = cem_iteration(mean, std, score, config.population, config.elites,
                                        np.random.default_rng([seed, it]), low, high, include_mean=False,
                                        min_std=config.min_std, drop_invalid=True, min_elites=2)
        if s > best_score:
            best_score, best_x = s, x.copy()
        history.append(best_score)
        done = it + 1
        if checkpoint is not None:
            store.save(checkpoint, CHECKPOINT_KIND, {"mean": mean, "std": std, "best_x": best_x,
                                                     "history": np.array(history)},
                       {"fingerprint": fp, "best_score": best_score, "done": done, "env_steps": steps,
                        "seconds": seconds0 + time.perf_counter() - t0, "L": prob.L, "seed": seed})
        if progress is not None:
            progress(it, best_score)
    if not np.isfinite(best_score):
        raise RuntimeError("no candidate, the warm start included, was a valid episode; start from another "
                           "sequence (init_actions) or lower action_std")
    pairs, beta = prob.decode(best_x)
    seconds = seconds0 + time.perf_counter() - t0
    scaled = Pairs(pairs.obs, pairs.actions, beta * pairs.direction, beta * pairs.alpha, pairs.cosine, True, steps,
                   seconds, {"method": "outer", "beta": beta, "score": best_score})
    return OuterResult(scaled, beta, float(best_score), np.array(history), int(steps), seconds, done)
