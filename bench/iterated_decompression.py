"""Decompression, the earlier protocol: the artifact data/decompressed/<run> (notebook 05 §7 and the README's
"Earlier decompression" section read it).

    nice -n 5 .venv/bin/python bench/iterated_decompression.py        # writes out/decompressed/ant_quad_sgd
    make regenerate NAME=decompressed/ant_quad_sgd                      # replaces the shipped one (--out data/…)

On the run's weight change Δw = w_last − w_first (default ant_quad_sgd), 20 episodes × 1000 steps at σ = 0, all
on the same start states (seeds 10,000 +):

1. R(w_first) and R(w_last) with their standard errors.
2. Line searches θ = w_first + β ‖Δw‖ d̂ over β ∈ {0.05, 0.1, 0.2, 0.35, …, 1.4} along seven directions: the
   first L = 50, 100, 200, 490 steps of the shipped compressed trajectory data/compressed/<run>_weight_change with
   the exact α; the exact Δw; behaviour cloning on the trained agent's own 490-step trajectory (reset seed 42), and
   one REINFORCE step on one 490-step on-policy trajectory (``gc_research.reinforce_baseline``). Each direction's
   cosine with Δw and the BC fit's own return are recorded.
3. Five rounds of compress, step, re-compress (``gc_research.iterated_decompression``), each compressing
   w_last − θ_k with one chunk search (``gc_research.chunked.chunk_search``, RECOMMENDED, L = 490, gradients at
   θ_k, reset seed 42): once stepping by α alone, once with a line search over β ∈ {0.5, 0.75, 1, 1.25, 1.5, 2}
   keeping the best mean return.

β is picked on the same episodes that score it, so the returns are an upper estimate (the later protocol, with
fresh episodes and several search seeds, is bench/decompression.py). Not resumable: one artifact, written at the
end; about 9 minutes on 2 cores (7 to 9 measured). Not run in CI.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

torch.set_num_threads(1)  # one policy evaluation per env step: a thread pool per call only adds waiting

import numpy as np  # noqa: E402

from gc_helpers import behaviour_cloning as cloning  # noqa: E402
from gc_helpers import compression as C  # noqa: E402
from gc_helpers import line_search as lsearch  # noqa: E402
from gc_helpers import rollouts  # noqa: E402
from gc_helpers.config import out_dir  # noqa: E402
from gc_helpers.training import load_run  # noqa: E402
from gc_helpers.vectors import cosine  # noqa: E402
from gc_research import iterated_decompression as iterated  # noqa: E402
from gc_research.chunked import RECOMMENDED, chunk_search  # noqa: E402
from gc_research.reinforce_baseline import reinforce_direction  # noqa: E402

ROUNDS, EPISODES, HORIZON, EVAL_SEED, RESET_SEED = 5, 20, 1000, 10_000, 42
LENGTHS = (50, 100, 200, 490)
BETAS = np.round(np.r_[0.05, 0.1, np.arange(0.2, 1.41, 0.15)], 2)
ROUND_BETAS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)


def directions(run, first, trained, dw):
    """{label: direction} in the order they are walked, {label: cos with Δw}, and the extra metadata (the compressed
    trajectory they come from, the BC fit's own evaluation)."""
    shipped = C.load_compressed(f"{run}_weight_change")
    actions, obs = shipped["actions"][0], shipped["obs"][0]
    out, cosines = {}, {}
    for L in LENGTHS:
        fit = C.best_alpha_exact(C.step_grads(first, obs[:L], actions[:L]), dw)
        out[f"compressed L={L}"], cosines[f"compressed L={L}"] = fit.direction, fit.cosine
    L = max(LENGTHS)
    e_obs, e_actions, _ = cloning.expert_trajectory(trained, None, L, seed=RESET_SEED)
    theta_bc = cloning.behaviour_cloning(first, e_obs, e_actions)
    out["exact Δw"] = dw
    out[f"BC direction L={L}"] = theta_bc - first.flat()
    out[f"REINFORCE L={L}"] = reinforce_direction(first, None, L, seed=RESET_SEED)
    for label in ("exact Δw", f"BC direction L={L}", f"REINFORCE L={L}"):
        cosines[label] = cosine(out[label], dw)
    info = {"compressed": f"{run}_weight_change", "compressed_saved_at": shipped.meta["saved_at"]}
    return out, cosines, info, theta_bc


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", default="ant_quad_sgd", help="a trained run under data/runs/")
    ap.add_argument("--out", default=None, help="the artifact's folder (default out/decompressed/<run>)")
    args = ap.parse_args(argv)
    run = load_run(args.run)
    env = run.env_id
    first, trained = run.policy(0), run.policy(-1)
    dw = run.weight_change
    scale = float(np.linalg.norm(dw))
    t0 = time.perf_counter()

    def evaluate(p):
        return rollouts.evaluate(env, p.mean_fn(), EPISODES, HORIZON, seed=EVAL_SEED)

    def say(text):
        print(f"{text} ({time.perf_counter() - t0:.0f} s)", flush=True)

    e0, e1 = evaluate(first), evaluate(trained)
    say(f"R(w_first) {e0.mean_return:.0f} ± {e0.stderr:.0f}, R(w_last) {e1.mean_return:.0f} ± {e1.stderr:.0f}")
    found, cosines, info, theta_bc = directions(args.run, first, trained, dw)
    bc_fit = evaluate(first.with_flat(theta_bc))
    searches = []
    for label, d in found.items():
        s = lsearch.line_search(first, d, BETAS, scale, env, EPISODES, HORIZON, seed=EVAL_SEED, label=label)
        searches.append(s)
        say(f"{label}: cos {cosines[label]:.3f}, best β {s.best_beta:.2f}, return {max(s.returns):.0f}")

    def compress(policy, target):
        return chunk_search(policy, target, max_length=max(LENGTHS), **RECOMMENDED).direction

    def progress(label):
        return lambda k, r: say(f"{label} round {k + 1}: cos {r.cosine:.3f}, residual {r.residual:.3f}, return "
                                f"{r.evaluation.mean_return:.0f}")

    alpha_rounds = iterated.iterated_decompression(first, run.checkpoints[-1], compress, ROUNDS, evaluate=evaluate,
                                                   progress=progress("α step"))
    rounds = iterated.iterated_decompression(first, run.checkpoints[-1], compress, ROUNDS, evaluate=evaluate,
                                             betas=list(ROUND_BETAS), progress=progress("line search"))
    meta = {"run": args.run, "env_id": env, "horizon": HORIZON, "r_first": e0.mean_return, "r_first_stderr": e0.stderr,
            "r_last": e1.mean_return, "r_last_stderr": e1.stderr, "round_length": max(LENGTHS),
            "round_step": "line search", "round_betas": list(ROUND_BETAS),
            "alpha_step_returns": [r.evaluation.mean_return for r in alpha_rounds],
            "alpha_step_residuals": [r.residual for r in alpha_rounds], "cosines": cosines,
            "bc_fit": bc_fit.mean_return, "bc_fit_stderr": bc_fit.stderr, **info,
            "command": "bench/iterated_decompression.py", "wall_time": time.perf_counter() - t0}
    out = Path(args.out) if args.out else out_dir() / "decompressed" / args.run
    path = iterated.save_results(out, searches, rounds, meta)
    say(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
