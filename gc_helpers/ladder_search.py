"""The outer search of the ladder: CMA-ES (the ``cma`` package) on what the cloned policy DOES, and the fresh test.

Taught in notebooks/08_which_constraint.ipynb (§3 the search and its budget).

A candidate is a search vector u ∈ [-1, 1]^n of one rung (``free_pairs.Rung``); its fitness is the forward
velocity of the policy its dataset teaches (σ = 0) with the alive bonus left out: metres walked divided by the
episode's horizon, so time after a fall counts as standing still. Every generation draws NEW start seeds and a new
horizon (uniform in [horizon_low, horizon_high]), shared by the whole population (common random numbers): the
search cannot fit a fixed set of episodes. A trajectory that leaves the healthy range is not a valid episode and
scores ``invalid_score``. The search stops at the first generation that brings its env steps to ``budget`` or
more (replays included); the result is the distribution's mean at the end (not the luckiest single evaluation).

RESUMABLE: with ``checkpoint`` (a folder) the evolution strategy, numpy's global random state (which ``cma``
samples from) and the bookkeeping are pickled after every generation; a rerun with the same arguments continues,
and ends where an uninterrupted search would.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import mujoco
import numpy as np

from . import envs, rollouts, sim
from .checks import check_seed, int_at_least, positive_float
from .fewest_pairs import alive_bonus
from .free_pairs import Dataset, Rung

FRESH_SEED = 3_000_000  # the fresh 1000-step evaluation episodes start from env.reset(FRESH_SEED + i)
TRAIN_SEED_BASE = 1_000_000  # searches draw their start seeds from [TRAIN_SEED_BASE, TRAIN_SEED_BASE + 10**6)


@dataclass(frozen=True)
class SearchConfig:
    """The search's sizes (notebook 08 §3): ``budget`` env steps; CMA-ES with ``popsize`` candidates per generation,
    initial step ``sigma0`` in the [-1, 1] box, a diagonal covariance (sep-CMA, affordable at thousands of
    coordinates); each candidate scored on ``n_episodes`` episodes of a horizon drawn per generation."""

    budget: int = 200_000
    popsize: int = 12
    sigma0: float = 0.3
    n_episodes: int = 1
    horizon_low: int = 200
    horizon_high: int = 1000
    invalid_score: float = -1.0
    diagonal: bool = True

    def __post_init__(self):
        int_at_least(self.budget, "budget")
        int_at_least(self.popsize, "popsize", 4)
        positive_float(self.sigma0, "sigma0")
        int_at_least(self.n_episodes, "n_episodes")
        int_at_least(self.horizon_low, "horizon_low")
        int_at_least(self.horizon_high, "horizon_high", self.horizon_low)
        if not np.isfinite(self.invalid_score):
            raise ValueError(f"invalid_score={self.invalid_score!r}: must be finite")

    def generation_cost(self, rung: Rung) -> int:
        """The most env steps one generation can take (every episode lasting its longest horizon)."""
        return self.popsize * (self.n_episodes * self.horizon_high + rung.replay_steps())


def _check_budget(config: SearchConfig, rung: Rung) -> None:
    """A ValueError naming ``budget`` if it cannot pay for one whole generation."""
    need = config.generation_cost(rung)
    if config.budget < need:
        raise ValueError(f"budget={config.budget}: cannot evaluate one generation of rung {rung.rung} at L = {rung.L} "
                         f"({config.popsize} candidates × ({config.n_episodes} × {config.horizon_high} + "
                         f"{rung.replay_steps()}) = {need} env steps); raise it to at least {need}")


def episode_plan(seed: int, generation: int, config: SearchConfig) -> tuple[int, int]:
    """(first start seed, horizon) of one generation, from ``numpy.random.default_rng([seed, generation])``."""
    rng = np.random.default_rng([check_seed(seed), int(generation)])
    first = TRAIN_SEED_BASE + int(rng.integers(0, 10**6 - config.n_episodes))
    return first, int(rng.integers(config.horizon_low, config.horizon_high + 1))


def population_velocity(policy, directions, horizon: int, seed: int, n_episodes: int = 1,
                        datas=None) -> tuple[np.ndarray, int]:
    """The forward velocity (σ = 0) of many policies at once: metres walked per second of the horizon, averaged over
    episodes, a fall ending an episode and the rest of the horizon counting as 0 m/s. Row i of ``directions``
    (N, P) is the weights w_first + d_i of candidate i, each run on the same ``n_episodes`` episodes from
    ``env.reset(seed + e)`` (common random numbers). One loop steps every candidate's episodes together, so the
    Python cost of a step is paid once per generation instead of once per candidate (the same physics, start
    states, clipping and healthy rule as ``rollouts.rollout``). Returns (N,) velocities and the env steps taken."""
    env_id = policy.env_id or "Ant-v5"
    spec = envs.env_spec(env_id)
    D = np.asarray(directions, dtype=np.float64)
    N, E, T = len(D), int_at_least(n_episodes, "n_episodes"), int_at_least(horizon, "horizon")
    W = (policy.flat()[None] + D).reshape(N, spec.act_dim, -1)
    model = sim.model_env(env_id).unwrapped.model
    datas = datas if datas is not None and len(datas) >= N * E else [mujoco.MjData(model) for _ in range(N * E)]
    starts = [envs.reset_state(env_id, check_seed(seed) + e) for e in range(E)]
    who = np.repeat(np.arange(N), E)  # env j runs candidate who[j] on episode j % E
    physics = np.stack([starts[j % E].physics for j in range(N * E)])
    x = np.array([sim.load_state(env_id, datas[j], starts[j % E]) for j in range(N * E)])
    current = sim.observations(env_id, physics)
    alive = np.ones(N * E, dtype=bool)
    after, x_after, contact = np.empty_like(physics), np.empty(N * E), np.zeros(N * E)
    progress, steps = np.zeros(N * E), 0
    for _ in range(T):
        idx = np.flatnonzero(alive)
        if idx.size == 0:
            break
        phi = policy.features(current[idx]).numpy()
        act = np.clip(np.einsum("nkf,nf->nk", W[who[idx]], phi), spec.act_low, spec.act_high)
        for j, a in zip(idx, act):
            x_after[j], contact[j] = sim.step(env_id, datas[j], a, after[j])
        res = sim.step_result(env_id, act[:, None], np.stack([physics[idx], after[idx]], axis=1),
                              np.stack([x[idx], x_after[idx]], axis=1), contact[idx, None])
        progress[idx] += res.forward_velocity[:, 0]
        steps += idx.size
        physics[idx], x[idx], current[idx] = after[idx], x_after[idx], res.obs[:, 1]
        alive[idx[res.terminated[:, 0]]] = False
    return progress.reshape(N, E).mean(axis=1) / T, steps


@dataclass(frozen=True)
class SearchResult:
    """The final dataset (from the distribution's mean ``u``), and per generation: best and mean fitness of the
    population, fitness of the mean's dataset is not measured (fresh episodes do that); env steps and seconds."""

    dataset: Dataset
    u: np.ndarray
    best: np.ndarray
    mean: np.ndarray
    steps: np.ndarray
    env_steps: int
    seconds: float
    generations: int
    config: dict = field(default_factory=dict)


def _fingerprint(rung: Rung, config: SearchConfig, seed: int) -> str:
    h = hashlib.sha256(np.ascontiguousarray(rung.policy.normalizer().mean).tobytes())
    h.update(repr((rung.rung, rung.L, rung.ridge, asdict(config), seed)).encode())
    if rung.reset_start is not None:
        h.update(rung.reset_start.physics.tobytes())
    return h.hexdigest()[:16]


def _save(path: Path, state: dict) -> None:
    path.mkdir(parents=True, exist_ok=True)
    tmp = path / f".state.{os.getpid()}.tmp"
    tmp.write_bytes(pickle.dumps(state))
    os.replace(tmp, path / "state.pkl")


def search(rung: Rung, config: SearchConfig = SearchConfig(), seed: int = 0, checkpoint=None,
           progress=None) -> SearchResult:
    """CMA-ES over ``rung``'s search vector for the forward velocity of the policy its dataset teaches (notebook
    08 §3). ``checkpoint``: a folder to save the state to after every generation and resume from;
    ``progress(generation, best, mean, env_steps)`` after each generation."""
    import cma

    if not isinstance(rung, Rung):
        raise ValueError(f"rung={rung!r}: must be a free_pairs.Rung")
    if not isinstance(config, SearchConfig):
        raise ValueError(f"config={config!r}: must be a SearchConfig")
    _check_budget(config, rung)
    seed = check_seed(seed)
    fp, t0 = _fingerprint(rung, config, seed), time.perf_counter()
    state_file = None if checkpoint is None else Path(checkpoint) / "state.pkl"
    if state_file is not None and state_file.is_file():
        state = pickle.loads(state_file.read_bytes())
        if state["fingerprint"] != fp:
            raise ValueError(f"checkpoint={str(checkpoint)!r} belongs to another search (rung, L, config or seed); "
                             "delete it or pass another folder")
        np.random.set_state(state["np_random"])
    else:
        opts = {"seed": seed + 1, "popsize": config.popsize, "bounds": [-1.0, 1.0], "CMA_diagonal": config.diagonal,
                "verbose": -9, "maxiter": 10**9, "tolfun": 0, "tolx": 0, "tolfunhist": 0, "tolstagnation": 10**9,
                "tolflatfitness": 10**9}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            es = cma.CMAEvolutionStrategy(rung.initial(seed), config.sigma0, opts)
        state = {"fingerprint": fp, "es": es, "best": [], "mean": [], "steps": [], "env_steps": 0, "seconds": 0.0,
                 "generation": 0}
    es = state["es"]
    model = sim.model_env(rung.policy.env_id or "Ant-v5").unwrapped.model
    datas = [mujoco.MjData(model) for _ in range(config.popsize * config.n_episodes)]
    while state["env_steps"] < config.budget:
        g = state["generation"]
        first_seed, horizon = episode_plan(seed, g, config)
        xs = es.ask()
        sets = [rung.decode(x) for x in xs]
        steps = sum(ds.env_steps for ds in sets)
        valid = [i for i, ds in enumerate(sets) if ds.healthy]
        scores = np.full(len(xs), config.invalid_score)
        if valid:
            v, n = population_velocity(rung.policy, np.stack([sets[i].direction for i in valid]), horizon,
                                       first_seed, config.n_episodes, datas)
            scores[valid] = v
            steps += n
        scores = scores.tolist()
        es.tell(xs, [-s for s in scores])  # cma minimises
        state["env_steps"] += steps
        state["best"].append(max(scores))
        state["mean"].append(float(np.mean(scores)))
        state["steps"].append(state["env_steps"])
        state["generation"] = g + 1
        state["seconds"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        if state_file is not None:
            _save(state_file.parent, {**state, "np_random": np.random.get_state()})
        if progress is not None:
            progress(g, state["best"][-1], state["mean"][-1], state["env_steps"])
    u = np.clip(np.asarray(es.result.xfavorite, dtype=np.float64), -1.0, 1.0)
    state["seconds"] += time.perf_counter() - t0
    return SearchResult(rung.decode(u), u, np.array(state["best"]), np.array(state["mean"]), np.array(state["steps"]),
                        int(state["env_steps"]), float(state["seconds"]), int(state["generation"]), asdict(config))


def fresh_evaluation(policy, n_episodes: int = 50, horizon: int = 1000, seed: int = FRESH_SEED) -> dict:
    """σ = 0 on ``n_episodes`` fresh episodes from ``env.reset(seed + i)`` (notebook 08 §4): per episode the
    return, length, forward velocity (metres per second of the steps taken) and return without the alive bonus,
    and their means; ``env_steps``."""
    n = int_at_least(n_episodes, "n_episodes")
    env_id = policy.env_id or "Ant-v5"
    r = rollouts.rollout(rollouts.EnvPool(env_id, n, n_threads=1), policy.mean_fn(), int_at_least(horizon, "horizon"),
                     check_seed(seed), 0.0)
    lengths = r.lengths.astype(np.int64)
    vel = r.forward_velocity.sum(axis=1) / np.maximum(lengths, 1)
    rma = r.returns - alive_bonus(env_id) * lengths
    return {"returns": r.returns, "lengths": lengths, "velocities": vel, "returns_minus_alive": rma,
            "velocity": float(r.forward_velocity.sum() / max(r.env_steps, 1)), "return": float(r.returns.mean()),
            "return_minus_alive": float(rma.mean()), "length": float(lengths.mean()), "env_steps": r.env_steps,
            "n_episodes": n, "horizon": int(horizon), "seed": int(seed)}
