"""Train and benchmark PPO (gc_helpers.training.ppo.train_ppo): prints return vs env steps, wall time and env steps/s.

    .venv/bin/python bench/ppo.py throughput                 # steps/s of sampling, of the update, and overall
    .venv/bin/python bench/ppo.py hopper --seed 0 --save     # 1M Hopper-v5 steps -> data/runs/ppo_hopper_batch_s0/
    .venv/bin/python bench/ppo.py halfcheetah --seed 0 --save
    .venv/bin/python bench/ppo.py hopper --adv-norm minibatch --save   # the seed's comparison
    .venv/bin/python bench/ppo.py tiny                       # a few-second smoke run

After training, the last checkpoint and the checkpoint nearest the best training return are evaluated
deterministically (a = squash(μ(s))) on 10 episodes of 1000 steps; the evaluation is stored in the run's meta.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

import numpy as np
import torch

from gc_helpers.training import save_run
from gc_helpers.training.configs import PPOConfig
from gc_helpers.training.ppo import train_ppo
from gc_helpers.training.ppo_core import Actor, ParallelEnvs, TanhGaussianPolicy, collect
from gc_helpers.training.runs import evaluate_run
from gc_research.config_overrides import with_overrides
from gc_research.run_evaluations import with_evaluation

FULL = dict(total_steps=1_000_000, checkpoint_every=2)
PRESETS = {
    "hopper": PPOConfig(env_id="Hopper-v5", **FULL),
    "halfcheetah": PPOConfig(env_id="HalfCheetah-v5", **FULL),
    "tiny": PPOConfig(env_id="Hopper-v5", total_steps=8192),
}
SHORT = {"Hopper-v5": "hopper", "HalfCheetah-v5": "halfcheetah"}


def throughput(env_id: str = "Hopper-v5", updates: int = 3) -> dict:
    """Env steps/s of sampling alone (``collect`` with an untrained policy), of training overall (``train_ppo``
    for ``updates`` updates), and of the update alone (the overall time minus the sampling time)."""
    c = PPOConfig(env_id=env_id, total_steps=2048 * updates)
    torch.set_num_threads(c.n_threads)
    from gc_helpers.envs import env_spec

    spec = env_spec(env_id)
    pol = TanhGaussianPolicy(Actor(spec.obs_dim, spec.act_dim), np.zeros(spec.obs_dim), np.ones(spec.obs_dim),
                             spec.act_low, spec.act_high)
    gen = torch.Generator().manual_seed(0)
    with ParallelEnvs(env_id, c.n_envs, c.horizon, seed=0) as venv:
        collect(venv, pol, 8, gen, 0)  # the first call pays one-off costs
        t = time.perf_counter()
        for _ in range(updates):
            collect(venv, pol, c.n_steps, gen, 0)
        t_collect = time.perf_counter() - t
    train_ppo(dataclasses.replace(c, total_steps=64, n_envs=1, n_steps=64, epochs=1))  # warm-up
    t = time.perf_counter()
    train_ppo(c)
    t_total = time.perf_counter() - t
    steps = updates * c.batch_size
    return {"env_id": env_id, "sampling_steps_per_s": steps / t_collect,
            "update_steps_per_s": steps / max(t_total - t_collect, 1e-9), "overall_steps_per_s": steps / t_total,
            "batch": c.batch_size, "epochs": c.epochs, "minibatch": c.minibatch_size, "torch_threads": c.n_threads}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("preset", choices=sorted(PRESETS) + ["throughput"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--adv-norm", default="batch", choices=["batch", "minibatch", "none"])
    ap.add_argument("--save", action="store_true", help="save to data/runs/ppo_<env>_<adv-norm>_s<seed>/")
    ap.add_argument("--name", default=None, help="override the run name")
    ap.add_argument("--episodes", type=int, default=10, help="evaluation episodes (1000 steps each)")
    ap.add_argument("--every", type=int, default=10, help="print every k updates")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="override PPOConfig fields")
    args = ap.parse_args(argv)
    print(f"cores: {os.cpu_count()}, torch {torch.__version__}", flush=True)
    if args.preset == "throughput":
        for env_id in ("Hopper-v5", "HalfCheetah-v5"):
            r = throughput(env_id)
            print(f"{env_id}: sampling {r['sampling_steps_per_s']:.0f} steps/s, update {r['update_steps_per_s']:.0f} "
                  f"steps/s, overall {r['overall_steps_per_s']:.0f} env steps/s (batch {r['batch']}, {r['epochs']} "
                  f"epochs of minibatch {r['minibatch']}, {r['torch_threads']} torch thread)", flush=True)
        return 0
    config = with_overrides(PRESETS[args.preset], args.set, seed=args.seed, adv_norm=args.adv_norm)
    name = args.name or f"ppo_{SHORT.get(config.env_id, config.env_id)}_{config.adv_norm}_s{config.seed}"
    if args.preset == "tiny" and args.name is None:
        name = None
    print(f"{name or '(not saved)'}: {config}", flush=True)

    def progress(p):
        if p.update % args.every == 0 or p.update == p.n_updates:
            print(f"update {p.update:4d}/{p.n_updates}  steps {p.env_steps:8d}  return {p.mean_return:7.1f}  "
                  f"best {p.best_return:7.1f}  pi {p.policy_loss:+.4f}  v {p.value_loss:.3f}  H {p.entropy:+.2f}  "
                  f"kl {p.approx_kl:.4f}  clip {p.clip_fraction:.3f}  {p.wall_time:6.0f} s  "
                  f"{p.steps_per_s:5.0f} steps/s",
                  flush=True)

    run = train_ppo(config, progress=progress, path=name if args.save and name else None)
    best_update = int(np.nanargmax(run.history["mean_return"])) + 1
    j_best = int(np.argmin(np.abs(run.checkpoint_updates - best_update)))
    evals = {}
    for label, j in (("last", -1), ("best", j_best)):
        ev = evaluate_run(run, args.episodes, sigmas={"eval": 0.0}, iteration=j)["eval"]
        evals[label] = {"checkpoint": int(j if j >= 0 else len(run.checkpoint_updates) - 1),
                        "update": int(run.checkpoint_updates[j]), "mean_return": ev.mean_return, "stderr": ev.stderr,
                        "mean_length": ev.mean_length, "mean_forward_velocity": ev.mean_forward_velocity,
                        "n_episodes": args.episodes}
        print(f"deterministic evaluation, {label} checkpoint (update {run.checkpoint_updates[j]}): {ev}", flush=True)
    m = run.stats
    print(f"SUMMARY {run.env_id} seed {config.seed} adv_norm {config.adv_norm}: best training return "
          f"{run.best_return:.0f} (update {best_update}), env steps {m['env_steps']}, "
          f"wall time {m['wall_time_s']:.0f} s "
          f"on {os.cpu_count()} cores ({config.n_threads} torch thread), throughput {m['steps_per_s']:.0f} env steps/s",
          flush=True)
    if args.save and name:
        print("saved", save_run(with_evaluation(run, evals), name), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
