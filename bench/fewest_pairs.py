"""The table of notebooks/07_fewest_pairs.ipynb: forward velocity vs the number L of state-action pairs, per method.

Run outside CI, on one worker thread, resumable (a finished (method, L, seed) cell is skipped; the outer search
continues from its checkpoint):

    nice -n 10 .venv/bin/python bench/fewest_pairs.py --run ant_quad_sgd

Every cell is saved as it finishes to data/fewest_pairs/<run>/cells/<method>_L<L>_s<seed>/ (gc_helpers.store), and
the table data/fewest_pairs/<run>/table/ is rebuilt from the cells after each one
(gc_research.fewest_pairs_build.build_table).
Methods: cosine (the compressed trajectory's first L steps, exact α), outer (CEM on forward progress, warm-started
from cosine, scored on 200-step episodes), outer_long (the same on 1000-step episodes, more candidates), bc_first
(behaviour cloning on the expert's first L pairs), bc_subset (the greedy best L of a 1000-step expert trajectory),
multi (4 short trajectories from different start states, one α-span), random.

``--refined`` (the line search of data/fewest_pairs/<run>/refined/, notebook 07's table): every direction is walked
by ``gc_research.refined_line_search`` instead of the 4-point grid — REFINED_BETAS in multiples of the direction's
own length (small steps 0.05, 0.1 up to 2), extended while the pick sits at an edge, refined around the best, β picked
on ``--pick-episodes`` ≥ 10 episodes, the edge flag stored. The pairs (direction, costs) of a shipped cell are reused
(the outer searches are not re-run); cells that do not exist yet (e.g. ``--seeds 3 4`` for the cheap methods) are
made first. cosine seed 0 is re-made by the same unstaged chunk search as seeds 1–2 (one procedure per seed) for
L ≤ 64. An outer / outer_long cell whose direction is its warm start's says so (``left_warm_start``: False).

    nice -n 5 .venv/bin/python bench/fewest_pairs.py --refined --run ant_quad_best --lengths 64 16 --later-lengths
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gc_helpers import behaviour_cloning as cloning  # noqa: E402
from gc_helpers import compression as C  # noqa: E402
from gc_helpers import envs, store  # noqa: E402
from gc_helpers import fewest_pairs as F  # noqa: E402
from gc_helpers import fewest_pairs_table as T  # noqa: E402
from gc_helpers import outer_search as O  # noqa: E402
from gc_helpers.config import data_dir  # noqa: E402
from gc_research import fewest_pairs_build as build  # noqa: E402
from gc_research import refined_line_search as refined  # noqa: E402
from gc_research.seeds import seed_list  # noqa: E402
from gc_research.staged_search import BEST, search  # noqa: E402

REFINED_BETAS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)  # multiples of ‖d‖; includes the old 4-point grid
METHODS = ("cosine", "bc_first", "bc_subset", "random", "multi", "outer", "outer_long")
RESET_SEED = C.STUDY_RESET_SEED  # seed s uses reset seed 42 + s (seed 0: the shipped sweep's start)
SEARCH = {k: v for k, v in BEST.items() if k != "staged"}  # the shipped sweep's chunk search, one run
EXPERT_LENGTH = 1000
# sized for a shared 2-core machine: 10 × 5 candidates of 2 short episodes (≈ 20k env steps per cell)
OUTER = O.OuterConfig(population=10, elites=3, iterations=5, action_std=0.05, alpha_std=0.3, log_beta_std=0.3,
                      n_episodes=2, horizon=200)
# the same search scored on whole 1000-step episodes (the fresh evaluation's length), with more candidates: a gait
# that carries 200 steps but falls later no longer scores well (≈ 260k env steps per cell)
OUTER_LONG = O.OuterConfig(population=16, elites=4, iterations=8, action_std=0.1, alpha_std=0.3, log_beta_std=0.3,
                           n_episodes=2, horizon=1000)


def cosine_source(root: Path, run: str, first, dw, seed: int, length: int, unstaged: bool = False) -> store.Artifact:
    """The cosine-compressed trajectory for seed s: the shipped sweep (s = 0, if long enough, unless ``unstaged``),
    else one BEST chunk search from reset seed 42 + s, saved once under <root>/sources/."""
    path = root / "sources" / (f"cosine_s{seed}_L{length}" + ("_unstaged" if unstaged and seed == 0 else ""))
    if (path / "meta.json").is_file():
        return store.load(path, "fewest_pairs_source")
    shipped = C.load_compressed(f"{run}_weight_change")
    if seed == 0 and not unstaged and shipped["actions"].shape[1] >= length:
        acts, lengths, steps = shipped["actions"][0, :length], shipped["lengths"], shipped["env_steps"]
        secs, how = shipped["seconds"], f"shipped data/compressed/{run}_weight_change"
    else:
        r = search(first, dw, max_length=length, reset_seeds=(RESET_SEED + seed,), seed=seed, n_threads=1, **SEARCH)
        acts, lengths, steps, secs = r.actions[0], r.lengths, r.env_steps, r.seconds
        how = "staged_search.BEST (no staging)"
    store.save(path, "fewest_pairs_source", {"actions": acts, "lengths": lengths, "env_steps": steps, "seconds": secs},
               {"seed": seed, "how": how, "run": run})
    return store.load(path, "fewest_pairs_source")


def _cost_at(src: store.Artifact, L: int) -> tuple[int, float]:
    """Env steps and seconds the chunk search had used when it first reached ≥ L steps."""
    i = min(int(np.searchsorted(src["lengths"], L)), len(src["lengths"]) - 1)
    return int(src["env_steps"][i]), float(src["seconds"][i])


def make_pairs(method, L, seed, ctx) -> F.Pairs:
    first, trained, dw, root = ctx["first"], ctx["trained"], ctx["dw"], ctx["root"]
    start = envs.reset_state("Ant-v5", RESET_SEED + seed)
    if method in ("cosine", "outer", "outer_long"):
        src = cosine_source(root, ctx["run"], first, dw, seed, max(L, 64))
        p = F.replayed_pairs(first, dw, [start], [src["actions"][:L]], {"source": src.meta["how"]})
        steps, secs = _cost_at(src, L)
        if method == "cosine":
            return F.Pairs(p.obs, p.actions, p.direction, p.alpha, p.cosine, p.healthy, steps, secs, p.info)
        cfg = ctx["outer_long"] if method == "outer_long" else ctx["outer"]
        ck = root / "_checkpoints" / f"{method}_L{L}_s{seed}"
        res = O.outer_search(first, dw, start, p.actions, cfg, seed=seed, checkpoint=ck,
                             progress=lambda i, s: print(f"    {method} L={L} s={seed} it {i}: {s:.3f} m", flush=True))
        q = res.pairs
        return F.Pairs(q.obs, q.actions, q.direction, q.alpha, q.cosine, q.healthy, res.env_steps + steps,
                       res.seconds + secs, {**q.info, "warm_start_cosine": p.cosine, "history": res.history.tolist(),
                                            "outer_config": dataclasses.asdict(cfg)})
    if method == "random":
        return F.replayed_pairs(first, dw, [start], [F.random_actions(L, seed)], {"actions": "uniform"})
    if method == "multi":
        K = 4 if L >= 16 else 2
        t0 = time.perf_counter()
        r = search(first, dw, max_length=L, reset_seeds=tuple(RESET_SEED + seed + 100 * k for k in range(K)),
                     seed=seed, n_threads=1, **{**SEARCH, "chunk": min(4, L // K)})
        starts = [envs.reset_state("Ant-v5", RESET_SEED + seed + 100 * k) for k in range(K)]
        seqs = [a[~np.isnan(a).any(axis=1)] for a in r.actions]
        p = F.replayed_pairs(first, dw, starts, seqs, {"trajectories": K})
        return F.Pairs(p.obs, p.actions, p.direction, p.alpha, p.cosine, p.healthy, int(r.env_steps[-1]),
                       time.perf_counter() - t0, p.info)
    obs, acts, _ = cloning.expert_trajectory(trained, "Ant-v5", EXPERT_LENGTH if method == "bc_subset" else L,
                                       seed=RESET_SEED + seed)
    steps = len(acts)
    if method == "bc_subset":
        idx = F.greedy_subset(first, obs, acts, L)
        obs, acts = obs[idx], acts[idx]
    p = F.cloned_pairs(first, obs, acts, dw, info={"expert_steps": steps})
    return F.Pairs(p.obs, p.actions, p.direction, None, p.cosine, True, steps, p.seconds, p.info)


def run_cell(method, L, seed, ctx) -> Path:
    path = ctx["root"] / "cells" / f"{method}_L{L}_s{seed}"
    if (path / "meta.json").is_file():
        return path
    t0 = time.perf_counter()
    pairs = make_pairs(method, L, seed, ctx)
    t1 = time.perf_counter()
    row = F.walk(ctx["first"], pairs.direction, ctx["protocol"])
    arrays = {"obs": pairs.obs, "actions": pairs.actions, "direction": pairs.direction.astype(np.float32),
              "alpha": pairs.alpha if pairs.alpha is not None else np.full(len(pairs.actions), np.nan),
              "fresh_returns": row["returns"], "fresh_lengths": row["lengths"], "pick_returns": row["pick_returns"],
              "pick_velocities": row["pick_velocities"], "betas": np.array(ctx["protocol"].betas)}
    meta = {"run": ctx["run"], "env_id": "Ant-v5", "method": method, "L": L, "seed": seed, "cosine": pairs.cosine,
            "healthy": pairs.healthy, "beta": row["beta"], "velocity": row["velocity"], "return": row["return"],
            "stderr": row["stderr"], "return_minus_alive": row["return_minus_alive"], "length": row["length"],
            "search_env_steps": pairs.env_steps, "search_seconds": pairs.seconds,
            "eval_env_steps": row["eval_env_steps"], "eval_seconds": time.perf_counter() - t1,
            "bench_seconds": time.perf_counter() - t0, "info": pairs.info,
            "protocol": build.protocol_dict(ctx["protocol"])}
    store.save(path, T.CELL_KIND, arrays, meta)
    shutil.rmtree(ctx["root"] / "_checkpoints" / f"{method}_L{L}_s{seed}", ignore_errors=True)
    print(f"{method:9s} L={L:3d} s={seed}: {row['velocity']:+.2f} m/s, return {row['return']:.0f}, "
          f"cos {pairs.cosine:.2f}, β {row['beta']}, {pairs.env_steps} + {row['eval_env_steps']} steps, "
          f"{time.perf_counter() - t0:.0f} s", flush=True)
    return path


def refined_walk(first, direction, protocol, n_pick: int) -> tuple[dict, object]:
    """``refined_line_search`` along w_first + β · d (β in multiples of ‖d‖) on ``n_pick`` pick episodes, the pick
    reported on the protocol's fresh episodes: (row as ``fewest_pairs.walk`` returns it, the LineSearch)."""
    d = np.asarray(direction, dtype=np.float64)
    norm = float(np.linalg.norm(d))
    ls = refined.refined_line_search(first, d, norm, protocol.env_id, REFINED_BETAS, n_pick, protocol.horizon,
                               seed=protocol.pick_seed)
    row = F.fresh_evaluation(first.with_flat(first.flat() + ls.best_beta * d), protocol)
    pick_steps = int(sum(int(np.sum(e.lengths)) for e in ls.evaluations))
    return ({**row, "beta": ls.best_beta, "pick_returns": ls.returns,
             "pick_velocities": np.array([e.mean_forward_velocity for e in ls.evaluations]),
             "eval_env_steps": row["env_steps"] + pick_steps}, ls)


def refined_cell(method, L, seed, ctx, n_pick: int) -> Path:
    """One cell of the refined table (data/fewest_pairs/<run>/refined/cells/...): the shipped cell's pairs (or new
    pairs, for a cell not shipped; cosine seed 0 at L ≤ 64 from the unstaged search) walked by ``refined_walk``."""
    name = f"{method}_L{L}_s{seed}"
    path = ctx["root"] / "refined" / "cells" / name
    if (path / "meta.json").is_file():
        return path
    t0 = time.perf_counter()
    old = ctx["root"] / "cells" / name
    remake = method == "cosine" and seed == 0 and L <= 64
    if (old / "meta.json").is_file() and not remake:
        a = store.load(old, T.CELL_KIND)
        m = a.meta
        arrays = {k: a[k] for k in ("obs", "actions", "direction", "alpha")}
        base = {k: m[k] for k in ("run", "env_id", "method", "L", "seed", "cosine", "healthy", "search_env_steps",
                                  "search_seconds", "info")}
        origin = f"pairs of cells/{name}"
    else:
        if remake:
            src = cosine_source(ctx["root"], ctx["run"], ctx["first"], ctx["dw"], 0, max(L, 64), unstaged=True)
            start = envs.reset_state("Ant-v5", RESET_SEED)
            p = F.replayed_pairs(ctx["first"], ctx["dw"], [start], [src["actions"][:L]], {"source": src.meta["how"]})
            steps, secs = _cost_at(src, L)
            pairs = F.Pairs(p.obs, p.actions, p.direction, p.alpha, p.cosine, p.healthy, steps, secs, p.info)
            origin = "unstaged chunk search (as seeds 1, 2)"
        else:
            pairs = make_pairs(method, L, seed, ctx)
            origin = "made for the refined table"
        arrays = {"obs": pairs.obs, "actions": pairs.actions, "direction": pairs.direction.astype(np.float32),
                  "alpha": pairs.alpha if pairs.alpha is not None else np.full(len(pairs.actions), np.nan)}
        base = {"run": ctx["run"], "env_id": "Ant-v5", "method": method, "L": L, "seed": seed,
                "cosine": pairs.cosine, "healthy": pairs.healthy, "search_env_steps": pairs.env_steps,
                "search_seconds": pairs.seconds, "info": pairs.info}
    if method in ("outer", "outer_long"):
        warm = ctx["root"] / "cells" / f"cosine_L{L}_s{seed}"
        if (warm / "meta.json").is_file():
            base["left_warm_start"] = not np.array_equal(store.load(warm, T.CELL_KIND)["direction"],
                                                         arrays["direction"])
    t1 = time.perf_counter()
    row, ls = refined_walk(ctx["first"], arrays["direction"], ctx["protocol"], n_pick)
    arrays.update({"fresh_returns": row["returns"], "fresh_lengths": row["lengths"], "betas": ls.betas,
                   "pick_returns": row["pick_returns"], "pick_velocities": row["pick_velocities"]})
    protocol = {**build.protocol_dict(ctx["protocol"]), "betas": list(REFINED_BETAS), "pick_episodes": n_pick,
                "line_search": "refined"}
    meta = {**base, "beta": row["beta"], "edge": ls.edge, "velocity": row["velocity"], "return": row["return"],
            "stderr": row["stderr"], "return_minus_alive": row["return_minus_alive"], "length": row["length"],
            "eval_env_steps": row["eval_env_steps"], "eval_seconds": time.perf_counter() - t1,
            "bench_seconds": time.perf_counter() - t0, "pairs_from": origin, "protocol": protocol}
    store.save(path, T.CELL_KIND, arrays, meta)
    print(f"refined {method:9s} L={L:3d} s={seed}: {row['velocity']:+.2f} m/s, return {row['return']:.0f}, "
          f"β {row['beta']:.3f}{' EDGE ' + ls.edge if ls.edge else ''} ({len(ls.betas)} tried), "
          f"{row['eval_env_steps']} eval steps, {time.perf_counter() - t0:.0f} s", flush=True)
    return path


def reference(ctx):
    """w_first and w_last on ``--reference-episodes`` fresh episodes (saved once)."""
    for name, policy in (("trained", ctx["trained"]), ("first", ctx["first"])):
        path = ctx["root"] / name
        if (path / "meta.json").is_file():
            continue
        t0 = time.perf_counter()
        row = F.fresh_evaluation(policy, ctx["protocol"], ctx["reference_episodes"])
        store.save(path, T.REFERENCE_KIND, {"fresh_returns": row["returns"], "fresh_lengths": row["lengths"]},
                   {"run": ctx["run"], "env_id": "Ant-v5", "policy": name, "velocity": row["velocity"],
                    "return": row["return"], "stderr": row["stderr"], "return_minus_alive": row["return_minus_alive"],
                    "length": row["length"], "env_steps": row["env_steps"], "seconds": time.perf_counter() - t0,
                    "n_episodes": ctx["reference_episodes"],
                    "protocol": build.protocol_dict(ctx["protocol"])})
        print(f"{name}: {row['velocity']:.2f} m/s, return {row['return']:.0f} ± {row['stderr']:.0f}", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", default="ant_quad_sgd")
    ap.add_argument("--lengths", type=int, nargs="+", default=[16, 64], help="run first, for every seed")
    ap.add_argument("--later-lengths", type=int, nargs="*", default=[4, 8, 32], help="then these")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    ap.add_argument("--reference-lengths", type=int, nargs="*", default=[490], help="cosine and bc_first, seed 0")
    ap.add_argument("--reference-episodes", type=int, default=50)
    ap.add_argument("--out", default=None, help="default: data/fewest_pairs/<run>")
    ap.add_argument("--refined", action="store_true", help="the refined line search → <run>/refined/")
    ap.add_argument("--pick-episodes", type=int, default=10, help="with --refined: episodes β is picked on (≥ 10)")
    ap.add_argument("--horizon", type=int, default=1000, help="episode length (shorter: a preview only)")
    args = ap.parse_args(argv)
    if args.refined and args.pick_episodes < refined.SELECT_EPISODES:
        ap.error(f"--pick-episodes must be ≥ {refined.SELECT_EPISODES} with --refined")
    seed_list(args.seeds, "--seeds")
    for L in args.lengths + args.later_lengths + args.reference_lengths:
        F.check_length(L, "--lengths")
    torch.set_num_threads(1)
    os.environ["GC_THREADS"] = "1"  # ONE worker thread: line_search and evaluate build their pools with it
    root = Path(args.out) if args.out else data_dir() / "fewest_pairs" / args.run
    ctx = {"run": args.run, "root": root, "first": C.run_policy(args.run, 0), "trained": C.run_policy(args.run, -1),
           "dw": C.weight_change_target(args.run).vector, "protocol": F.Protocol(horizon=args.horizon), "outer": OUTER,
           "outer_long": OUTER_LONG, "reference_episodes": args.reference_episodes}
    reference(ctx)
    cells = [(m, L, s) for group in (args.lengths, args.later_lengths) for s in args.seeds for L in group
             for m in args.methods]
    cells += [(m, L, 0) for L in args.reference_lengths for m in ("cosine", "bc_first")]
    if args.refined:
        for m, L, s in cells:
            if m in ("outer", "outer_long") and not (root / "cells" / f"{m}_L{L}_s{s}" / "meta.json").is_file():
                continue  # the outer searches are not re-run for the refined table
            refined_cell(m, L, s, ctx, args.pick_episodes)
            build.build_table(root / "refined", reference_root=root)
        return
    for m, L, s in cells:
        run_cell(m, L, s, ctx)
        build.build_table(root)


if __name__ == "__main__":
    main()
