"""Trainer and architecture comparisons that can conclude (notebooks 02, 04 and 06).

    .venv/bin/python bench/trainer_grid.py                 # every group, writes data/trainer_grid/
    .venv/bin/python bench/trainer_grid.py --groups quad_sgd quad_adam
    .venv/bin/python bench/trainer_grid.py --tiny --out /tmp/grid   # a one-minute smoke run

Groups: quadratic policy with SGD (momentum 0.9) and with Adam, and linear and MLP policies with SGD. Every run has
the same env-step budget (ITERATIONS × 64 episodes × 200 steps), the same action clipping (actions clipped to the
box before the env), zero (linear/quadratic) or the study's (MLP) initialisation. Each group's learning rate is
picked from its grid on training seed 0 by the mean training return of the last 5 iterations; seeds 1 and 2 then
train at the picked rate. Every run is evaluated on 20 fresh 1000-step episodes at σ = 0 (seeds 20_000+), and its
weight change w_last − w_first is compressed at L = 50, 100, 200 (RECOMMENDED search, search seed 0) and with
random actions and exact α (the same lengths). One small artifact per run (w_first, w_last, history, results),
written as soon as the run ends; a rerun skips finished runs. Not run in CI.
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
from gc_helpers.training import TrainConfig, evaluate_run, train_reinforce
from gc_research.chunked import RECOMMENDED
from gc_research.run_evaluations import evaluation_dict
from gc_research.seeds import seed_list
from gc_research.staged_search import search

ITERATIONS = 40
GROUPS = {  # name: (TrainConfig fields, learning-rate grid)
    "quad_sgd": (dict(policy_kind="quadratic", optimizer="sgd"), (1e-3, 2e-3, 4e-3)),
    "quad_adam": (dict(policy_kind="quadratic", optimizer="adam"), (1e-4, 3e-4, 1e-3)),
    "linear_sgd": (dict(policy_kind="linear", optimizer="sgd"), (2e-3, 4e-3, 8e-3)),
    "mlp_sgd": (dict(policy_kind="mlp", optimizer="sgd"), (2e-3, 4e-3, 8e-3, 1.6e-2)),
}  # each grid started with two rates and was extended past the rate picked at its edge until the pick was inside
# (the MLP's twice); notebook 02 prints the seed-0 returns per rate and flags a pick at an edge
LENGTHS = (50, 100, 200)
KIND = "trainer_grid"


def final_training_return(history) -> float:
    return float(np.mean(np.asarray(history["returns"])[-5:]))


def train_one(group, lr, seed, folder: Path, tiny: bool) -> Path:
    path = folder / f"{group}_lr{lr:g}_s{seed}"
    if (path / "meta.json").is_file():
        return path
    fields, _ = GROUPS[group]
    sizes = dict(n_envs=8, horizon=50, n_iterations=3, norm_episodes=8, norm_horizon=20) if tiny else dict(
        n_iterations=ITERATIONS)
    config = TrainConfig(**fields, **sizes, lr=lr, seed=seed, clip_actions=True)
    t0 = time.perf_counter()
    run = train_reinforce(config)
    train_time = time.perf_counter() - t0
    n_eval = 2 if tiny else 20
    ev = evaluate_run(run, n_episodes=n_eval, horizon=100 if tiny else 1000, seed=20_000,
                      sigmas={"sigma_0": 0.0})["sigma_0"]
    policy0 = run.policy(0)
    target = run.weight_change
    lengths = [L for L in LENGTHS if not tiny or L <= 50]
    searched = search(policy0, target, max_length=max(lengths), seed=0, lengths=lengths, **RECOMMENDED)
    random = search(policy0, target, max_length=max(lengths), seed=0, lengths=lengths, method="random",
                      chunk=RECOMMENDED["chunk"], safety=RECOMMENDED["safety"])
    h = run.history
    arrays = {"w_first": run.checkpoints[0], "w_last": run.checkpoints[-1], "returns": np.asarray(h["returns"]),
              "env_steps": np.asarray(h["env_steps"]), "lengths": np.asarray(lengths),
              "cos_searched": searched.curve, "cos_random": random.curve,
              "null": C.null_cosine(np.asarray(lengths), policy0.n_params)}
    meta = {"env_id": run.env_id, "group": group, "lr": lr, "seed": seed, "n_params": int(policy0.n_params),
            "config": run.config.to_dict(), "train_time": train_time, "final_training_return": final_training_return(h),
            "evaluation": evaluation_dict(ev), "command": "bench/trainer_grid.py"}
    store.save(path, KIND, arrays, meta)
    print(f"  {path.name}: train {train_time:.0f} s, last-5 training return {meta['final_training_return']:.0f}; "
          f"σ=0 {ev}; cos searched {np.round(searched.curve, 3)}, random {np.round(random.curve, 3)}", flush=True)
    return path


def picked_lr(group, folder: Path) -> float:
    """The grid rate with the highest final training return on seed 0."""
    _, grid = GROUPS[group]
    scores = {lr: store.load(folder / f"{group}_lr{lr:g}_s0", KIND).meta["final_training_return"] for lr in grid}
    return max(scores, key=scores.get)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--groups", nargs="+", default=list(GROUPS), choices=list(GROUPS))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--tiny", action="store_true", help="seconds-long smoke run (use with --out)")
    ap.add_argument("--out", default=None, help="folder (default data/trainer_grid)")
    args = ap.parse_args(argv)
    try:
        seed_list(args.seeds, "--seeds")
    except ValueError as err:
        ap.error(str(err))
    if 0 not in args.seeds:
        ap.error(f"--seeds {args.seeds}: must include 0 (the learning rate is picked on it)")
    folder = Path(args.out) if args.out else data_dir() / "trainer_grid"
    for group in args.groups:
        print(f"{group}: grid {GROUPS[group][1]}", flush=True)
        for lr in GROUPS[group][1]:
            train_one(group, lr, 0, folder, args.tiny)
        lr = picked_lr(group, folder)
        print(f"{group}: picked lr {lr:g}", flush=True)
        for seed in args.seeds[1:] if args.seeds[0] == 0 else [s for s in args.seeds if s != 0]:
            train_one(group, lr, seed, folder, args.tiny)
    return 0


if __name__ == "__main__":
    sys.exit(main())
