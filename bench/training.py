"""Benchmark and reproduce the shipped training runs: prints return vs env steps and wall time.

    .venv/bin/python bench/training.py study            # print the curve of the study-faithful run
    .venv/bin/python bench/training.py study --save     # ... and save it to data/runs/ant_quad_sgd/
    .venv/bin/python bench/training.py tiny             # a 30-second smoke benchmark

Every preset is a TrainConfig; the shipped runs in data/runs/ were made with ``--save``. After training, the final
weights are evaluated on 20 episodes of 1000 Ant-v5 steps at σ as trained and at σ = 0.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time

from gc_helpers.training import TrainConfig, evaluate_run, save_run, train_reinforce
from gc_research.config_overrides import with_overrides
from gc_research.run_evaluations import with_evaluation

PRESETS = {
    # the study-faithful run that notebooks 03–05 compress (SGD + momentum, zero init, fixed σ, raw actions
    # sent to the env while training, as the study did; made before rollouts.rollout clipped by default)
    "study": ("ant_quad_sgd", TrainConfig(clip_actions=False)),
    # the MLP on the same budget and optimiser, for the comparison and MLP compression
    "mlp": ("ant_mlp_sgd", TrainConfig(policy_kind="mlp")),
    "linear": ("ant_linear_sgd", TrainConfig(policy_kind="linear")),
    # the study's budget with Adam instead of SGD: its weight change is what notebook 04 compares with SGD's
    "adam": ("ant_quad_adam", TrainConfig(optimizer="adam", lr=3e-4)),
    # our best trainer (see the notebook for what each choice buys)
    "best": ("ant_quad_best", TrainConfig(lr=3e-3, estimator="reward_to_go", gamma=0.99, normalize_advantages=True,
                                          n_envs=32, horizon=500, n_iterations=84)),
    "tiny": ("tiny", TrainConfig(n_envs=8, horizon=50, n_iterations=10, norm_episodes=8, norm_horizon=20)),
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("preset", choices=sorted(PRESETS))
    ap.add_argument("--save", action="store_true", help="save to data/runs/<name>/")
    ap.add_argument("--name", default=None, help="override the run name")
    ap.add_argument("--episodes", type=int, default=20, help="evaluation episodes (1000 steps each)")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="override TrainConfig fields")
    args = ap.parse_args(argv)
    name, config = PRESETS[args.preset]
    config = with_overrides(config, args.set)
    name = args.name or name
    print(f"preset {args.preset} -> {name}: {config}", flush=True)
    # Ctrl-C / kill -INT stops training and still evaluates and saves what was done (also under nohup ... &)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    t0 = time.perf_counter()
    run = train_reinforce(config, verbose=True)
    train_time = time.perf_counter() - t0
    h = run.history
    print(f"trained {run.n_iterations} iterations: {int(h['env_steps'][-1])} env steps, "
          f"{h['wall_time'][-1]:.1f} s wall time", flush=True)
    evals = evaluate_run(run, n_episodes=args.episodes, horizon=1000)
    for label, ev in evals.items():
        print(f"{name} [{label}] {ev}", flush=True)
    run = with_evaluation(run, evals)
    if args.save:
        path = save_run(run, name)
        print(f"saved {path}", flush=True)
    print(f"total {time.perf_counter() - t0:.1f} s (training {train_time:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
