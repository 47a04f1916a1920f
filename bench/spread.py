"""Compression with spread: many search seeds for the weight change and for a random direction (notebook 04).

    .venv/bin/python bench/spread.py                       # RECOMMENDED settings, 10 seeds, writes data/spread/
    .venv/bin/python bench/spread.py --seeds 0 1 2 --best  # the shipped BEST settings (minutes per search)
    .venv/bin/python bench/spread.py --target-iteration 60 --targets weight_change --study-lengths
        # the weight change of the first 60 iterations, w_60 − w_0, at the study's lengths 10, 20, …, 490
        # → data/spread/ant_quad_sgd_it60_recommended/
    .venv/bin/python bench/spread.py --target-iteration 47 --evaluate-target --scan 40 43 45 46 47 48 50 60
        # the checkpoints' σ = 0 returns on 5 episodes each (the pick), then w_47 on 20 fresh episodes
        # → data/spread/ant_quad_sgd_it47_recommended/target/

For each search seed s: the study-faithful run's weight change w_last − w_first (gradients at w_first, reset seed
42), and a random direction drawn with seed s, searched with the same settings, the same lengths and the same
budget. At every length L it records the exact best-α cosine, the fixed-state ceiling (the cosine reachable with
the visited states held fixed and every action free: the projection of the target's weight matrix on the span of
the features φ(s_1..s_L)), env steps and wall time. One artifact per (target, seed) under data/spread/<settings>/,
written as soon as that search ends, so a rerun skips what is done (resumable). Not run in CI.

``--target-iteration K`` compresses w_K − w_0 instead of w_last − w_0 (a target trained for fewer iterations, e.g.
one whose return is about the study's; notebook 04 §4), into its own folder data/spread/<run>_it<K>_<settings>/.
The gradients are still taken at w_0, so the random direction's search does not depend on K: it is the same
search as in the w_last folder (``--targets weight_change`` skips it). ``--study-lengths`` records the curve at
every length of the study's figure (10, 20, …, 490) as well as at the default lengths; the chunks are the same
(5 steps), so the search itself is unchanged, only recorded at more lengths. With ``--target-iteration`` the
artifact also holds the sequence (``obs``: the state where each action is taken, ``actions``), so its cosine can be
recomputed in another metric (the study's P = 6056 basis, notebook 04 §4).

``--evaluate-target`` (with ``--target-iteration K``) records how K was picked and what w_K does: the σ = 0 return,
episode length and forward velocity of each checkpoint in ``--scan`` on 5 episodes of 1000 steps (reset seeds from
SCAN_SEED), the scanned checkpoint whose return is closest to the study's trained policy (STUDY_RETURN, "about 1300
for trajectories of length 1000"), and w_K on 20 fresh episodes (reset seeds from EVAL_SEED, not used by the scan
or by the run's own evaluation), into <folder>/target/ (kind "spread_target"; skipped if there).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from gc_helpers import compression as C
from gc_helpers import store
from gc_helpers.config import data_dir
from gc_research.chunked import RECOMMENDED
from gc_research.seeds import seed_list
from gc_research.staged_search import BEST, search

LENGTHS = (25, 50, 100, 200, 300, 400, 490)
STUDY_LENGTHS = tuple(range(10, 491, 10))  # the lengths of the study's cosine-vs-length figure
KIND = "spread"
TARGET_KIND = "spread_target"
STUDY_RETURN = 1300.0  # the study's trained quadratic policy: "about 1300 for trajectories of length 1000"
SCAN_SEED, EVAL_SEED = 50_000, 60_000  # reset seeds of the scan and of the fresh evaluation (the run's own: 10_000)


def fixed_state_ceiling(policy, obs, target, lengths) -> np.ndarray:
    """cos(target, span{e_i ⊗ φ(s_t) : t < L, every action coordinate i}) for each L: the best any choice of
    actions could do at these states (linear/quadratic policies, gradients at W = 0 up to the σ⁻² scale)."""
    phi = policy.features(obs).numpy()  # (L_max, F)
    W = np.asarray(target, dtype=np.float64).reshape(policy.act_dim, -1)  # the flat order is W row-major
    out = []
    for L in lengths:
        q, _ = np.linalg.qr(phi[:L].T)  # (F, min(L, F)) orthonormal basis of the visited features
        rank = np.linalg.matrix_rank(phi[:L])
        q = q[:, :rank]
        out.append(np.linalg.norm(W @ q) / np.linalg.norm(W))
    return np.array(out)


def run_one(run: str, label: str, seed: int, settings: dict, folder: Path, lengths=LENGTHS,
            target_iteration: int | None = None, command: str | None = None) -> Path:
    path = folder / f"{label}_s{seed}"
    if (path / "meta.json").is_file():
        print(f"  {path.name}: done already, skipped", flush=True)
        return path
    policy = C.run_policy(run, 0)
    last = -1 if target_iteration is None else target_iteration
    target = (C.weight_change_target(run, last=last) if label == "weight_change"
              else C.random_target(policy.n_params, seed))
    t0 = time.perf_counter()
    res = search(policy, target, max_length=max(lengths), seed=seed, lengths=list(lengths), **settings)
    wall = time.perf_counter() - t0
    obs = res.obs[0, :max(lengths)]
    ceiling = fixed_state_ceiling(policy, obs, target.vector, res.lengths)
    arrays = {"lengths": res.lengths, "cosine": res.curve, "ceiling": ceiling, "seconds": res.seconds,
              "env_steps": res.env_steps, "null": C.null_cosine(res.lengths, policy.n_params)}
    if target_iteration is not None:  # the sequence itself, so its cosine can be recomputed in another metric
        arrays.update(obs=res.obs[0, :len(obs)], actions=res.actions[0, :len(obs)])
    meta = {"env_id": "Ant-v5", "run": run, "target_name": label, "seed": seed, "n_params": policy.n_params,
            "act_dim": policy.act_dim, "settings": {k: v for k, v in settings.items() if k != "staged"},
            "staged": settings.get("staged"), "wall_time": wall, "complete": bool(res.complete),
            "command": command or "bench/spread.py" + (" --best" if "staged" in settings else "")}
    if label == "weight_change":
        meta["target_iterations"] = [0, int(target_iteration) if target_iteration is not None
                                     else int(len(C.load_run_artifact(run)["checkpoints"]) - 1)]
    store.save(path, KIND, arrays, meta)
    print(f"  {path.name}: " + ", ".join(f"L={L} {c:.3f}" for L, c in zip(res.lengths, res.curve))
          + f"; ceiling at 490 {ceiling[-1]:.3f}; {wall:.1f} s", flush=True)
    return path


def evaluate_target(run: str, K: int, scan, folder: Path, command: str) -> Path:
    """How checkpoint K was picked (the scan) and its fresh σ = 0 evaluation, saved in <folder>/target/."""
    from gc_helpers import training

    path = folder / "target"
    if (path / "meta.json").is_file():
        print(f"  {path}: done already, skipped", flush=True)
        return path
    r = training.load_run(run)
    rows = []
    for it in scan:
        ev = training.evaluate_run(r, n_episodes=5, seed=SCAN_SEED, sigmas={"sigma_0": 0.0}, iteration=it)["sigma_0"]
        rows.append((it, ev.mean_return, ev.stderr, ev.mean_length, ev.mean_forward_velocity))
        print(f"  scan: w_{it}: return {ev.mean_return:.0f} ± {ev.stderr:.0f}, length {ev.mean_length:.0f}, "
              f"{ev.mean_forward_velocity:.2f} m/s (5 episodes)", flush=True)
    it_, ret, se, ln, vel = (np.array(x) for x in zip(*rows))
    closest = int(it_[np.argmin(np.abs(ret - STUDY_RETURN))])
    ev = training.evaluate_run(r, n_episodes=20, seed=EVAL_SEED, sigmas={"sigma_0": 0.0}, iteration=K)["sigma_0"]
    print(f"  w_{K} on 20 fresh episodes: return {ev.mean_return:.0f} ± {ev.stderr:.0f}, length "
          f"{ev.mean_length:.0f}, {ev.mean_forward_velocity:.2f} m/s; scan's closest to {STUDY_RETURN:.0f}: "
          f"w_{closest}", flush=True)
    arrays = {"scan_iterations": it_, "scan_return": ret, "scan_stderr": se, "scan_length": ln, "scan_velocity": vel,
              "returns": ev.returns, "lengths": ev.lengths}
    meta = {"env_id": "Ant-v5", "run": run, "target_iteration": int(K), "n_iterations": int(r.n_iterations),
            "study_return": STUDY_RETURN, "scan_closest": closest, "scan_episodes": 5, "scan_seed": SCAN_SEED,
            "evaluation": {"mean_return": ev.mean_return, "stderr": ev.stderr, "mean_length": ev.mean_length,
                           "mean_forward_velocity": ev.mean_forward_velocity, "n_episodes": 20, "horizon": 1000,
                           "noise_std": 0.0, "seed": EVAL_SEED},
            "command": command}
    store.save(path, TARGET_KIND, arrays, meta)
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", default="ant_quad_sgd")
    ap.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    ap.add_argument("--best", action="store_true", help="BEST settings (staged, worker processes) instead")
    ap.add_argument("--out", default=None, help="folder (default data/spread/<run>[_it<K>]_<recommended|best>)")
    ap.add_argument("--target-iteration", type=int, default=None, metavar="K",
                    help="compress w_K − w_0 (checkpoint K of the run) instead of w_last − w_0")
    ap.add_argument("--targets", nargs="+", choices=("weight_change", "random"), default=["weight_change", "random"],
                    help="which targets to search (default both)")
    ap.add_argument("--study-lengths", action="store_true",
                    help="also record the curve at the study's lengths 10, 20, …, 490")
    ap.add_argument("--evaluate-target", action="store_true",
                    help="with --target-iteration: scan checkpoints and evaluate w_K on fresh episodes (no search)")
    ap.add_argument("--scan", type=int, nargs="+", default=[40, 45, 50, 60], help="checkpoints --evaluate-target scans")
    args = ap.parse_args(argv)
    try:
        seed_list(args.seeds, "--seeds")
    except ValueError as err:
        ap.error(str(err))
    K = args.target_iteration
    if K is not None:
        n = len(C.load_run_artifact(args.run)["checkpoints"])
        if not 1 <= K < n:
            ap.error(f"--target-iteration {K}: must be a checkpoint of {args.run} in [1, {n - 1}]")
    name = "best" if args.best else "recommended"
    folder = Path(args.out) if args.out else data_dir() / "spread" / (
        f"{args.run}_{name}" if K is None else f"{args.run}_it{K}_{name}")
    settings = BEST if args.best else RECOMMENDED
    lengths = tuple(sorted(set(LENGTHS) | set(STUDY_LENGTHS))) if args.study_lengths else LENGTHS
    command = " ".join(["bench/spread.py", *(argv if argv is not None else sys.argv[1:])])
    if args.evaluate_target:
        if K is None:
            ap.error("--evaluate-target needs --target-iteration K")
        if any(not 0 <= it < n for it in args.scan):
            ap.error(f"--scan {args.scan}: checkpoints of {args.run} are 0 … {n - 1}")
        evaluate_target(args.run, K, args.scan, folder, command)
        return 0
    print(f"{args.run}: {name} settings {settings}; target w_{'last' if K is None else K} − w_0; seeds {args.seeds}; "
          f"targets {args.targets}; {len(lengths)} lengths; → {folder}", flush=True)
    for seed in args.seeds:
        for label in args.targets:
            run_one(args.run, label, seed, settings, folder, lengths, K, command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
