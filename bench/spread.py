"""Compression with spread: many search seeds for the weight change and for a random direction (notebook 04).

    .venv/bin/python bench/spread.py                       # RECOMMENDED settings, 10 seeds, writes data/spread/
    .venv/bin/python bench/spread.py --seeds 0 1 2 --best  # the shipped BEST settings (minutes per search)

For each search seed s: the study-faithful run's weight change w_last − w_first (gradients at w_first, reset seed
42), and a random direction drawn with seed s, searched with the same settings, the same lengths and the same
budget. At every length L it records the exact best-α cosine, the fixed-state ceiling (the cosine reachable with
the visited states held fixed and every action free: the projection of the target's weight matrix on the span of
the features φ(s_1..s_L)), env steps and wall time. One artifact per (target, seed) under data/spread/<settings>/,
written as soon as that search ends, so a rerun skips what is done (resumable). Not run in CI.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from gc_helpers import compression as C
from gc_helpers import store
from gc_helpers.checks import seed_list
from gc_helpers.config import data_dir

LENGTHS = (25, 50, 100, 200, 300, 400, 490)
KIND = "spread"


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


def run_one(run: str, label: str, seed: int, settings: dict, folder: Path) -> Path:
    path = folder / f"{label}_s{seed}"
    if (path / "meta.json").is_file():
        print(f"  {path.name}: done already, skipped", flush=True)
        return path
    policy = C.run_policy(run, 0)
    target = C.weight_change_target(run) if label == "weight_change" else C.random_target(policy.n_params, seed)
    t0 = time.perf_counter()
    res = C.search(policy, target, max_length=max(LENGTHS), seed=seed, lengths=list(LENGTHS), **settings)
    wall = time.perf_counter() - t0
    obs = res.obs[0, :max(LENGTHS)]
    ceiling = fixed_state_ceiling(policy, obs, target.vector, LENGTHS)
    arrays = {"lengths": res.lengths, "cosine": res.curve, "ceiling": ceiling, "seconds": res.seconds,
              "env_steps": res.env_steps, "null": C.null_cosine(res.lengths, policy.n_params)}
    meta = {"env_id": "Ant-v5", "run": run, "target_name": label, "seed": seed, "n_params": policy.n_params,
            "act_dim": policy.act_dim, "settings": {k: v for k, v in settings.items() if k != "staged"},
            "staged": settings.get("staged"), "wall_time": wall, "complete": bool(res.complete),
            "command": "bench/spread.py" + (" --best" if "staged" in settings else "")}
    store.save(path, KIND, arrays, meta)
    print(f"  {path.name}: " + ", ".join(f"L={L} {c:.3f}" for L, c in zip(res.lengths, res.curve))
          + f"; ceiling at 490 {ceiling[-1]:.3f}; {wall:.1f} s", flush=True)
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", default="ant_quad_sgd")
    ap.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    ap.add_argument("--best", action="store_true", help="BEST settings (staged, worker processes) instead")
    ap.add_argument("--out", default=None, help="folder (default data/spread/<run>_<recommended|best>)")
    args = ap.parse_args(argv)
    try:
        seed_list(args.seeds, "--seeds")
    except ValueError as err:
        ap.error(str(err))
    name = "best" if args.best else "recommended"
    folder = Path(args.out) if args.out else data_dir() / "spread" / f"{args.run}_{name}"
    settings = C.BEST if args.best else C.RECOMMENDED
    print(f"{args.run}: {name} settings {settings}; seeds {args.seeds}; → {folder}", flush=True)
    for seed in args.seeds:
        for label in ("weight_change", "random"):
            run_one(args.run, label, seed, settings, folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
