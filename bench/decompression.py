"""Decompression that measures learning: fresh-seed denominators, β picked on other episodes, several search seeds.

    nice -n 5 .venv/bin/python bench/decompression.py        # writes data/decompressed_seeds/ant_quad_sgd/
    # as shipped (two processes; the reference was run at 10 %, then topped up to 5 % with --precision 0.05):
    nice -n 5 .venv/bin/python bench/decompression.py --only reference --precision 0.1 &
    nice -n 5 .venv/bin/python bench/decompression.py --only directions

On the study-faithful run (default ant_quad_sgd), all episodes 1000 steps at σ = 0 (the mean action):

1. ``reference``: R(w_first) and R(w_last) on their own episode seeds. A pilot measures the per-episode standard
   deviations; then w_last gets enough episodes that the standard error of R(w_last) − R(w_first) is at most
   ``precision`` of it (the pilot's episodes are the first of those). Asking for fewer is a ValueError.
2. ``search_s<seed>``: the compressed trajectory (RECOMMENDED settings, gradients at w_first, reset seed 42; the
   same searches as bench/spread.py) for each search seed; its first L steps with the exact α give the direction at L.
3. One artifact per (direction, seed): compressed L = 50, 100, 200, 490 per search seed; behaviour cloning on the
   expert's first L steps at each L; the exact Δw (ceiling); random actions with best α at L = 490 (floor).
   β is picked by the mean return on ``--select-episodes`` episodes (seeds A), then θ(β*) is evaluated on
   ``--fresh-episodes`` fresh episodes (seeds B ≠ A): per-episode return, length, forward velocity and alive bonus.

With ``--refined`` (how the shipped table under data/decompressed_seeds/<run>/refined/ was made) every direction is
walked by ``gc_research.refined_line_search``: the grid REFINED_GRID (0.05 … 1.3 in units of ‖Δw‖), extended while
the pick sits at its edge, refined around the best, β picked on ``--select-episodes`` ≥ 10 episodes; the pick's
edge flag is stored. One procedure per method and seed: compressed s = search seed s (reset seed 42); BC s = behaviour
cloning on the expert's episode from reset seed 42 + s (``--bc-seeds``); random s = actions from rng s. The fresh
evaluation of a pick equal to the 4-point run's pick (same θ, same fresh seeds, σ = 0) is copied from it.

    nice -n 5 .venv/bin/python bench/decompression.py --only directions --refined --select-episodes 10 --seeds 0 1 2 3 4

Each artifact is written as soon as it is finished; a rerun skips finished ones (resumable). Not run in CI.
Recovered fractions and their bootstrap intervals are computed when loading (``recovery.bootstrap_recovered``).
"""

from __future__ import annotations

import argparse
import sys
import time
from functools import partial
from pathlib import Path

import torch

torch.set_num_threads(1)  # a torch thread pool per call makes each policy evaluation ~5× slower on a loaded machine

import numpy as np  # noqa: E402

from gc_helpers import behaviour_cloning as cloning  # noqa: E402
from gc_helpers import compression as C  # noqa: E402
from gc_helpers import envs, rollouts, store  # noqa: E402
from gc_helpers import line_search as lsearch  # noqa: E402
from gc_helpers.config import data_dir  # noqa: E402
from gc_helpers.vectors import cosine  # noqa: E402
from gc_research import refined_line_search as refined  # noqa: E402
from gc_research.chunked import RECOMMENDED  # noqa: E402
from gc_research.seeds import seed_list as check_seeds  # noqa: E402  (one seed-list check)
from gc_research.staged_search import search  # noqa: E402

KIND = "decompressed_seed"
LENGTHS = (50, 100, 200, 490)
BETAS = (0.2, 0.45, 0.7, 0.95)
REFINED_GRID = refined.REFINED_GRID
HORIZON = 1000
SELECT_SEED, FRESH_SEED, REFERENCE_SEED = 200_000, 300_000, 400_000  # episode seed blocks (env i: seed + i)
CHUNK = 40  # w_last episodes per rollout in the reference top-up
RESET_SEED = 42  # where the searches, the expert trajectory and the random actions start


def episodes_needed(std_last: float, std_first: float, n_first: int, gap: float, precision: float) -> int:
    """Episodes n of w_last so that √(std_last²/n + std_first²/n_first) ≤ precision · |gap|,
    gap = R(w_last) − R(w_first)."""
    if not 0 < precision < 1:
        raise ValueError(f"precision={precision!r}: a fraction in (0, 1), e.g. 0.05")
    if n_first < 1:
        raise ValueError(f"n_first={n_first!r}: at least one episode of w_first")
    budget = (precision * abs(gap)) ** 2 - std_first**2 / n_first
    if gap == 0 or budget <= 0:
        raise ValueError(f"n_first={n_first}: w_first's own standard error already exceeds precision={precision} of "
                         f"the gap {gap:.1f}; evaluate w_first on more episodes")
    return max(2, int(np.ceil(std_last**2 / budget)))


def check_enough_episodes(n: int, needed: int, name: str = "last_episodes") -> int:
    """``n`` if it is at least ``needed`` (the episodes the requested precision needs), else a ValueError naming it."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"{name}={n!r}: must be a positive integer")
    if n < needed:
        raise ValueError(f"{name}={n}: the requested precision needs at least {needed} fresh episodes of w_last "
                         "(measured per-episode spread); raise it or loosen --precision")
    return int(n)


def episode_stats(policy, n: int, seed: int, horizon: int = HORIZON) -> dict:
    """Per-episode return, length, forward velocity (m/s), alive bonus and return − alive bonus of ``policy``'s mean
    action on ``n`` episodes of ``horizon`` steps (env i starts from reset seed ``seed + i``)."""
    r = rollouts.rollout(rollouts.EnvPool(policy.env_id, n), policy.mean_fn(), horizon, seed, 0.0)
    healthy_reward = envs.reward_weights(policy.env_id).healthy
    alive = healthy_reward * (r.lengths - r.terminated)  # +1 per step that ends healthy (the last falls)
    return {"returns": r.returns, "lengths": r.lengths.astype(float), "alive": alive.astype(float),
            "velocity": r.forward_velocity.sum(axis=1) / np.maximum(r.lengths, 1),
            "net": r.returns - alive}


def _gap(f: dict, p: dict) -> tuple[float, float]:
    """R(w_last) − R(w_first) and its standard error from the per-episode returns."""
    gap = float(p["returns"].mean() - f["returns"].mean())
    se = float(np.sqrt(p["returns"].var(ddof=1) / len(p["returns"]) + f["returns"].var(ddof=1) / len(f["returns"])))
    return gap, se


def _save_reference(path: Path, f: dict, p: dict, meta: dict) -> None:
    gap, se = _gap(f, p)
    arrays = {**{f"first_{k}": v for k, v in f.items()}, **{f"last_{k}": v for k, v in p.items()}}
    store.save(path, KIND, arrays, {**meta, "gap": gap, "gap_stderr": se})


def reference(run: str, folder: Path, precision: float, pilot: int, n_first: int, n_last: int | None,
              horizon: int = HORIZON) -> Path:
    """R(w_first) and R(w_last) on fresh episode seeds until the gap's standard error is ≤ ``precision`` of it.

    Resumable and extendable: a stored reference at a looser precision is topped up with more w_last episodes
    (seeds continue where it stopped), saved after every chunk of CHUNK episodes."""
    path = folder / "reference"
    t0 = time.perf_counter()
    last = C.run_policy(run, -1)
    if (path / "meta.json").is_file():
        old = store.load(path, KIND)
        f = {k[len("first_"):]: old[k] for k in old.arrays if k.startswith("first_")}
        p = {k[len("last_"):]: old[k] for k in old.arrays if k.startswith("last_")}
        meta = {k: v for k, v in old.meta.items() if k not in ("kind", "format_version", "saved_at", "versions")}
        spent = float(old.meta.get("wall_time", 0.0))
        gap, se = _gap(f, p)
        if se <= precision * abs(gap):
            print(f"  reference: done already ({se / gap:.1%} ≤ {precision:.0%}), skipped", flush=True)
            return path
        print(f"  reference: stored {len(p['returns'])} w_last episodes give {se / gap:.1%}; topping up to "
              f"{precision:.0%}", flush=True)
    else:
        first = C.run_policy(run, 0)
        f = episode_stats(first, n_first, REFERENCE_SEED, horizon)
        p = episode_stats(last, pilot, REFERENCE_SEED + 10_000, horizon)
        spent = 0.0
        meta = {"env_id": first.env_id, "run": run, "horizon": horizon, "noise_std": 0.0, "pilot_episodes": pilot,
                "first_seed": REFERENCE_SEED, "last_seed": REFERENCE_SEED + 10_000, "command": "bench/decompression.py"}
    while True:
        gap, se = _gap(f, p)
        needed = episodes_needed(p["returns"].std(ddof=1), f["returns"].std(ddof=1), len(f["returns"]), gap,
                                 precision)
        n = max(len(p["returns"]), check_enough_episodes(needed if n_last is None else n_last, needed,
                                                         "last_episodes"))
        meta.update(precision=precision, episodes_needed=needed,
                    wall_time=spent + time.perf_counter() - t0)
        _save_reference(path, f, p, meta)  # every chunk is kept: an interrupted top-up resumes from here
        if len(p["returns"]) >= n:
            break
        more = episode_stats(last, min(CHUNK, n - len(p["returns"])), REFERENCE_SEED + 10_000 + len(p["returns"]),
                             horizon)
        p = {k: np.concatenate([p[k], more[k]]) for k in p}
        print(f"    w_last: {len(p['returns'])}/{n} episodes (needed now {needed}), R = {p['returns'].mean():.0f}, "
              f"{(time.perf_counter() - t0) / 60:.1f} min", flush=True)
    print(f"  reference: R(w_last) − R(w_first) = {gap:.0f} ± {se:.0f} ({se / gap:.1%}) with {len(p['returns'])} + "
          f"{len(f['returns'])} episodes; {meta['wall_time']:.0f} s in all", flush=True)
    return path


def compressed_search(run: str, seed: int, folder: Path, search_lengths=LENGTHS) -> dict:
    """The RECOMMENDED search of the run's weight change with search seed ``seed``, its curve recorded at
    ``search_lengths`` and run to the longest (stored: actions and states)."""
    path = folder / f"search_s{seed}"
    if not (path / "meta.json").is_file():
        first = C.run_policy(run, 0)
        t0 = time.perf_counter()
        res = search(first, C.weight_change_target(run), max_length=max(search_lengths), seed=seed,
                       lengths=list(search_lengths), **RECOMMENDED)
        meta = {"env_id": first.env_id, "run": run, "seed": seed, "reset_seed": RESET_SEED,
                "settings": dict(RECOMMENDED), "wall_time": time.perf_counter() - t0,
                "command": "bench/decompression.py"}
        L = max(search_lengths)
        store.save(path, KIND, {"actions": res.actions[0, :L], "obs": res.obs[0, :L + 1], "lengths": res.lengths,
                                "cosine": res.curve, "env_steps": np.asarray(res.env_steps)}, meta)
        print(f"  search_s{seed}: " + ", ".join(f"L={a} {c:.3f}" for a, c in zip(res.lengths, res.curve))
              + f"; {meta['wall_time']:.0f} s", flush=True)
    return store.load(path, KIND)


def directions(run: str, seeds: list[int], folder: Path, bc_seeds: list[int] | None = None, lengths=LENGTHS,
               search_lengths=LENGTHS):
    """(name, info, direction builder) in the order they are run: the longest of ``lengths`` first, then shorter
    L; with ``bc_seeds`` (the refined table) BC on each expert episode 42 + s, named bc_L<L>_s<s>, after the rest.
    The compressed directions are prefixes of searches run to max(``search_lengths``)."""
    first, last = C.run_policy(run, 0), C.run_policy(run, -1)
    dw = C.weight_change_target(run).vector

    def prefix(obs, actions, L):
        fit = C.best_alpha_exact(C.step_grads(first, obs[:L], actions[:L]), dw)
        return fit.direction

    def compressed(L, s):
        art = compressed_search(run, s, folder, search_lengths)
        return prefix(art["obs"], art["actions"], L)

    def bc(L, s=0):
        obs, actions, _ = cloning.expert_trajectory(last, first.env_id, L, seed=RESET_SEED + s)
        return cloning.behaviour_cloning(first, obs, actions) - first.flat()

    def random_actions(L, s):
        acts = np.random.default_rng(s).uniform(-1.0, 1.0, (1, L, first.act_dim))
        rep = envs.replay(envs.reset_state(first.env_id, RESET_SEED), acts)
        n = int(np.argmax(rep.terminated[0])) + 1 if rep.terminated[0].any() else L
        return prefix(rep.obs[0], acts[0], n)

    yield "exact", {"direction": "exact", "L": 0, "search_seed": -1}, lambda: dw
    for L in sorted(lengths, reverse=True):
        yield f"bc_L{L}", {"direction": "bc", "L": L, "search_seed": -1}, lambda L=L: bc(L)
        for s in seeds:
            yield (f"compressed_L{L}_s{s}", {"direction": "compressed", "L": L, "search_seed": s},
                   lambda L=L, s=s: compressed(L, s))
        if L == max(lengths):
            yield (f"random_L{L}_s0", {"direction": "random", "L": L, "search_seed": 0},
                   lambda L=L: random_actions(L, 0))
    for s in bc_seeds or []:
        for L in sorted(lengths, reverse=True):
            if s == 0:
                continue
            yield (f"bc_L{L}_s{s}", {"direction": "bc", "L": L, "search_seed": s, "expert_reset_seed": RESET_SEED + s},
                   lambda L=L, s=s: bc(L, s))


def _old_fresh(folder: Path, name: str, beta: float, n_fresh: int, horizon: int) -> dict | None:
    """The 4-point run's fresh evaluation of ``name`` if it picked the same β (same θ, same fresh seeds)."""
    old = folder / (name[: -len("_s0")] if name.startswith("bc_L") and name.endswith("_s0") else name)
    if not (old / "meta.json").is_file():
        return None
    a = store.load(old, KIND)
    if (abs(a.meta["best_beta"] - beta) > 1e-9 or a.meta["fresh_seed"] != FRESH_SEED
            or a.meta["fresh_episodes"] != n_fresh or a.meta["horizon"] != horizon):
        return None
    return {k[len("fresh_"):]: a[k] for k in a.arrays if k.startswith("fresh_")}


def decompress_refined(run: str, name: str, info: dict, build, folder: Path, n_select: int, n_fresh: int,
                       horizon: int = HORIZON) -> Path:
    """One direction walked by ``gc_research.refined_line_search``, saved under ``folder/refined/name``."""
    path = folder / "refined" / name
    if (path / "meta.json").is_file():
        print(f"  refined/{name}: done already, skipped", flush=True)
        return path
    if n_select < refined.SELECT_EPISODES:
        raise ValueError(f"n_select={n_select}: the refined table picks β on at least {refined.SELECT_EPISODES} "
                         "episodes")
    first = C.run_policy(run, 0)
    dw = C.weight_change_target(run).vector
    scale = float(np.linalg.norm(dw))
    t0 = time.perf_counter()
    d = build()
    ls = refined.refined_line_search(first, d, scale, first.env_id, REFINED_GRID, n_select, horizon, SELECT_SEED, name)
    beta = ls.best_beta
    fresh = _old_fresh(folder, name, beta, n_fresh, horizon)
    reused = fresh is not None
    if not reused:
        fresh = episode_stats(first.with_flat(lsearch.theta_at(first.flat(), d, beta, scale)), n_fresh, FRESH_SEED,
                              horizon)
    select_steps = int(sum(int(np.sum(e.lengths)) for e in ls.evaluations))
    arrays = {"betas": ls.betas, "select_returns": ls.returns, "select_stderrs": ls.stderrs,
              "select_lengths": np.array([e.mean_length for e in ls.evaluations]),
              "select_velocities": np.array([e.mean_forward_velocity for e in ls.evaluations]),
              **{f"fresh_{k}": v for k, v in fresh.items()}}
    meta = {"env_id": first.env_id, "run": run, "horizon": horizon, "noise_std": 0.0, **info,
            "cosine": float(cosine(d, dw)), "norm": float(np.linalg.norm(d)), "scale": scale,
            "best_beta": beta, "edge": ls.edge, "line_search": "refined", "grid": list(REFINED_GRID),
            "select_seed": SELECT_SEED, "select_episodes": n_select, "select_env_steps": select_steps,
            "fresh_seed": FRESH_SEED, "fresh_episodes": n_fresh, "fresh_reused": reused,
            "wall_time": time.perf_counter() - t0, "command": "bench/decompression.py --refined"}
    store.save(path, KIND, arrays, meta)
    print(f"  refined/{name}: cos {meta['cosine']:.3f}, β* {beta:.3f}{' EDGE ' + ls.edge if ls.edge else ''} of "
          f"{len(ls.betas)} tried (select {ls.returns.max():.0f}), fresh {fresh['returns'].mean():.0f} ± "
          f"{fresh['returns'].std(ddof=1) / np.sqrt(n_fresh):.0f}{' (reused)' if reused else ''}, "
          f"{fresh['velocity'].mean():.2f} m/s; {meta['wall_time']:.0f} s", flush=True)
    return path


def decompress_one(run: str, name: str, info: dict, build, folder: Path, n_select: int, n_fresh: int,
                   horizon: int = HORIZON, betas=BETAS) -> Path:
    path = folder / name
    if (path / "meta.json").is_file():
        print(f"  {name}: done already, skipped", flush=True)
        return path
    first = C.run_policy(run, 0)
    dw = C.weight_change_target(run).vector
    scale = float(np.linalg.norm(dw))
    t0 = time.perf_counter()
    d = build()
    ls = lsearch.line_search(first, d, np.array(betas), scale, first.env_id, n_episodes=n_select, horizon=horizon,
                             seed=SELECT_SEED, label=name)
    beta = lsearch.best_beta(ls.betas, ls.returns)
    fresh = episode_stats(first.with_flat(lsearch.theta_at(first.flat(), d, beta, scale)), n_fresh, FRESH_SEED,
                          horizon)
    arrays = {"betas": ls.betas, "select_returns": ls.returns, "select_stderrs": ls.stderrs,
              "select_lengths": np.array([e.mean_length for e in ls.evaluations]),
              **{f"fresh_{k}": v for k, v in fresh.items()}}
    meta = {"env_id": first.env_id, "run": run, "horizon": horizon, "noise_std": 0.0, **info,
            "cosine": float(cosine(d, dw)), "norm": float(np.linalg.norm(d)), "scale": scale,
            "best_beta": beta, "select_seed": SELECT_SEED, "select_episodes": n_select, "fresh_seed": FRESH_SEED,
            "fresh_episodes": n_fresh, "wall_time": time.perf_counter() - t0, "command": "bench/decompression.py"}
    store.save(path, KIND, arrays, meta)
    print(f"  {name}: cos {meta['cosine']:.3f}, β* {beta:.2f} (select {ls.returns.max():.0f}), fresh "
          f"{fresh['returns'].mean():.0f} ± {fresh['returns'].std(ddof=1) / np.sqrt(n_fresh):.0f}, "
          f"{fresh['velocity'].mean():.2f} m/s; {meta['wall_time']:.0f} s", flush=True)
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", default="ant_quad_sgd")
    ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2], help="search seeds (as bench/spread.py)")
    ap.add_argument("--precision", type=float, default=0.05, help="s.e. of R(w_last) − R(w_first) / the gap")
    ap.add_argument("--pilot-episodes", type=int, default=40)
    ap.add_argument("--first-episodes", type=int, default=20)
    ap.add_argument("--last-episodes", type=int, default=None, help="default: as many as the precision needs")
    ap.add_argument("--select-episodes", type=int, default=None, help="default 4 (grid), 10 (--refined)")
    ap.add_argument("--refined", action="store_true", help="refined line search → <folder>/refined/")
    ap.add_argument("--bc-seeds", type=int, nargs="*", default=[0, 1, 2, 3, 4],
                    help="with --refined: BC on the expert episodes from reset seed 42 + s")
    ap.add_argument("--fresh-episodes", type=int, default=20)
    ap.add_argument("--horizon", type=int, default=HORIZON, help="episode length (shorter: a preview only)")
    ap.add_argument("--lengths", type=int, nargs="+", default=list(LENGTHS))
    ap.add_argument("--betas", type=float, nargs="+", default=list(BETAS))
    ap.add_argument("--reverse", action="store_true", help="directions in reverse order (a second process)")
    ap.add_argument("--only", choices=("reference", "directions"), default=None,
                    help="run one part (e.g. the two parts in two processes)")
    ap.add_argument("--out", default=None, help="folder (default data/decompressed_seeds/<run>)")
    args = ap.parse_args(argv)
    try:
        seeds = check_seeds(args.seeds, "seeds")
    except ValueError as e:
        ap.error(str(e))
    horizon, lengths, betas = args.horizon, tuple(sorted(set(args.lengths))), tuple(args.betas)
    # a full-horizon search runs to 490 whatever --lengths asks (a shorter run reuses its prefix); a preview (the
    # fast preset) searches only to the lengths asked
    search_lengths = lengths if horizon < 1000 else LENGTHS
    if args.select_episodes is None:
        args.select_episodes = refined.SELECT_EPISODES if args.refined else 4
    if args.fresh_episodes < 2 or args.select_episodes < 1:
        ap.error("--fresh-episodes must be ≥ 2 (≥ 20 for shipped results) and --select-episodes ≥ 1")
    folder = Path(args.out) if args.out else data_dir() / "decompressed_seeds" / args.run
    print(f"{args.run}: search seeds {seeds}, β grid {REFINED_GRID if args.refined else betas}"
          f"{' refined' if args.refined else ''}, {args.select_episodes} selection + "
          f"{args.fresh_episodes} fresh episodes × {horizon} steps per direction → {folder}", flush=True)
    t0 = time.perf_counter()
    if args.only != "directions":
        reference(args.run, folder, args.precision, args.pilot_episodes, args.first_episodes, args.last_episodes,
                  horizon)
    todo = list(directions(args.run, seeds, folder, args.bc_seeds if args.refined else None, lengths,
                           search_lengths)) if args.only != "reference" else []
    one = partial(decompress_refined, horizon=horizon) if args.refined else partial(decompress_one, horizon=horizon,
                                                                                      betas=betas)
    for i, (name, info, build) in (reversed if args.reverse else iter)(list(enumerate(todo, 1))):
        if args.refined and name.startswith("bc_L") and "_s" not in name:
            name, info = f"{name}_s0", {**info, "search_seed": 0, "expert_reset_seed": RESET_SEED}
        print(f"[{i}/{len(todo)}, {(time.perf_counter() - t0) / 60:.1f} min]", end="", flush=True)
        one(args.run, name, info, build, folder, args.select_episodes, args.fresh_episodes)
    print(f"done in {(time.perf_counter() - t0) / 60:.1f} min", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
