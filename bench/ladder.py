"""The ladder of notebooks/08_which_constraint.ipynb: which constraint stops a few manufactured pairs from walking.

Run outside CI, one process on one worker thread, resumable (a finished cell is skipped, a search continues from
its checkpoint under data/ladder/<run>/_checkpoints/):

    GC_THREADS=1 nohup nice -n 5 .venv/bin/python bench/ladder.py > bench/results/ladder.log 2>&1 &

Cells, in the order they run (the most informative first; every cell is saved as it finishes to
data/ladder/<run>/cells/<method>_L<L>_s<seed>/):
  A. ant_quad_best, L = 4 and 16: rung 1 (notebook 07's shipped outer search from the reset state, re-evaluated)
     and rungs 2, 3, 4 (CMA-ES, ``--budget`` env steps each), search seeds 0–4 (rung 1: the shipped 0–2);
  D. one cell with ``--larger`` times the budget: the rung with the fastest mean at L = 16 on ant_quad_best
     after A (seed 0), saved as <method>_L16_s0_b<budget>;
  B. ant_quad_sgd, L = 16, the same;  C. ant_quad_best, L = 64, the same;
  F. HaDES's generalisation test: a linear and an MLP policy cloned on the pairs of D's rung at L = 16 (seeds 0–4),
     saved to data/ladder/ant_quad_best/generalisation/<kind>_<cell>/;
  E. rung 1 searched by the same CMA-ES from the reset state (``reset_traj``) at the same budget, A's and B's L;
  G. is a walking dataset inside rung 3? notebook 07's greedy expert pairs (bc_subset, L = 16, seeds 0–2, both
     runs) written as a rung-3 search vector (states moved into the limits, actions into [-1, 1]) and decoded and
     evaluated like any cell, saved to data/ladder/<run>/expert_points/bc_subset_L16_s<seed>/ (no search).
Each finished dataset is evaluated at σ = 0 on ``--episodes`` fresh 1000-step episodes (seeds 3,000,000 + i, the
same for every cell, so rungs are compared on the same episodes); the trained policy w_last too
(data/ladder/<run>/trained/). A cell stores its search vector, its pairs and weights, the per-generation fitness,
the search's env steps and the per-episode fresh numbers: tests/test_free_pairs.py rebuilds a cell from its seed.

Budget: measured on this machine, one process on one thread steps Ant at about 1,500–2,100 env steps per second
of CPU (1–2 episodes at a time; a third of that when the 2 cores are shared by several jobs), so 100,000 env steps
per search plus the ≤ 50,000 of its fresh evaluation is about 1.5–2 minutes of one core: A–C (60 searches and
the re-evaluated shipped cells) fit in about 2 hours of one core.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gc_helpers import compression as C  # noqa: E402
from gc_helpers import envs, store  # noqa: E402
from gc_helpers import fewest_pairs_table as T  # noqa: E402
from gc_helpers import free_pairs as FP  # noqa: E402
from gc_helpers import ladder_search as S  # noqa: E402
from gc_helpers.config import data_dir  # noqa: E402

CELL_KIND = "ladder_cell"
REFERENCE_KIND = "ladder_reference"
RESET_SEED = 42  # rung 1 from the reset state env.reset(42 + seed), as notebook 07's cells
SEARCHED = {2: "start_traj", 3: "free_states", 4: "free_obs"}


def ladder_root() -> Path:
    return data_dir() / "ladder"


def cell_name(method: str, L: int, seed: int, budget: int | None = None) -> str:
    return f"{method}_L{L}_s{seed}" + (f"_b{budget}" if budget else "")


def _save_cell(path: Path, arrays: dict, meta: dict, ev: dict) -> None:
    arrays = {**arrays, "fresh_returns": ev["returns"], "fresh_lengths": ev["lengths"],
              "fresh_velocities": ev["velocities"], "fresh_returns_minus_alive": ev["returns_minus_alive"]}
    meta = {**meta, **{k: ev[k] for k in ("velocity", "return", "return_minus_alive", "length")},
            "eval_env_steps": ev["env_steps"], "fresh": {k: ev[k] for k in ("n_episodes", "horizon", "seed")}}
    store.save(path, CELL_KIND, arrays, meta)


def shipped_rung1(ctx, L: int, seed: int) -> Path | None:
    """Rung 1: notebook 07's outer search from the reset state (outer_long, scored on whole episodes, where shipped;
    else outer), its weights θ = β · direction re-evaluated on this ladder's fresh episodes."""
    path = ctx["root"] / "cells" / cell_name("shipped_traj", L, seed)
    if (path / "meta.json").is_file():
        return path
    src_root = data_dir() / "fewest_pairs" / ctx["run"] / "cells"
    src = next((src_root / f"{m}_L{L}_s{seed}" for m in ("outer_long", "outer")
                if (src_root / f"{m}_L{L}_s{seed}" / "meta.json").is_file()), None)
    if src is None:
        print(f"shipped_traj L={L} s={seed}: no shipped outer cell, skipped", flush=True)
        return None
    art = store.load(src, T.CELL_KIND)
    theta = ctx["first"].flat() + float(art.meta["beta"]) * art["direction"].astype(np.float64)
    t0 = time.perf_counter()
    ev = S.fresh_evaluation(ctx["first"].with_flat(theta), ctx["episodes"])
    meta = {"run": ctx["run"], "env_id": "Ant-v5", "rung": 1, "method": "shipped_traj", "L": L, "seed": seed,
            "source": f"fewest_pairs/{ctx['run']}/cells/{src.name}", "beta": float(art.meta["beta"]),
            "search_env_steps": int(art.meta["search_env_steps"]), "search_seconds": float(art.meta["search_seconds"]),
            "budget": None, "eval_seconds": time.perf_counter() - t0, "healthy": bool(art.meta["healthy"])}
    _save_cell(path, {"obs": art["obs"], "actions": art["actions"], "theta": theta}, meta, ev)
    print(f"shipped_traj L={L:3d} s={seed}: {ev['velocity']:+.2f} m/s, return {ev['return']:.0f}, length "
          f"{ev['length']:.0f} (from {src.name})", flush=True)
    return path


def searched(ctx, rung: int, L: int, seed: int, budget: int, tag_budget: bool = False) -> Path:
    """One CMA-ES search of ``rung`` at L pairs, then its dataset on the fresh episodes."""
    method = FP.RUNGS[rung]
    name = cell_name(method, L, seed, budget if tag_budget else None)
    path = ctx["root"] / "cells" / name
    if (path / "meta.json").is_file():
        return path
    first = ctx["first"]
    r = FP.Rung(rung, L, first, envs.reset_state("Ant-v5", RESET_SEED + seed) if rung == 1 else None)
    cfg = S.SearchConfig(**{**ctx["config"], "budget": budget})
    ck = ctx["root"] / "_checkpoints" / name
    t0 = time.perf_counter()
    res = S.search(r, cfg, seed=seed, checkpoint=ck, progress=lambda g, b, m, s: print(
        f"    {name} gen {g}: best {b:+.3f} mean {m:+.3f} m/s, {s} steps, {time.perf_counter() - t0:.0f} s",
        flush=True) if g % 5 == 4 else None)
    ds = res.dataset
    t1 = time.perf_counter()
    ev = S.fresh_evaluation(FP.policy_of(first, ds), ctx["episodes"])
    lim = r.limits
    meta = {"run": ctx["run"], "env_id": "Ant-v5", "rung": rung, "method": method, "L": L, "seed": seed,
            "budget": budget, "config": res.config, "search_env_steps": res.env_steps, "search_seconds": res.seconds,
            "generations": res.generations, "healthy": ds.healthy,
            "reset_seed": RESET_SEED + seed if rung == 1 else None, "eval_seconds": time.perf_counter() - t1,
            "ridge": r.ridge, "alpha_scale": FP.ALPHA_SCALE, "obs_scale": FP.OBS_SCALE,
            "limits": {"z": [lim.z_low, lim.z_high], "joint_low": lim.joint_low.tolist(),
                       "joint_high": lim.joint_high.tolist(), "max_velocity": lim.max_velocity}}
    arrays = {"u": res.u, "obs": ds.obs, "actions": ds.actions, "coeffs": ds.coeffs,
              "theta": first.flat() + ds.direction,
              "start": ds.start if ds.start is not None else np.full(FP.STATE_DIM, np.nan),
              "history_best": res.best, "history_mean": res.mean, "history_steps": res.steps}
    _save_cell(path, arrays, meta, ev)
    shutil.rmtree(ck, ignore_errors=True)
    print(f"{name}: {ev['velocity']:+.2f} m/s, return {ev['return']:.0f}, length {ev['length']:.0f}; search "
          f"{res.env_steps} steps / {res.generations} generations / {res.seconds:.0f} s, fresh {ev['env_steps']} steps",
          flush=True)
    return path


def reference(ctx) -> None:
    """w_last of the run on the same fresh episodes (saved once)."""
    path = ctx["root"] / "trained"
    if (path / "meta.json").is_file():
        return
    t0 = time.perf_counter()
    ev = S.fresh_evaluation(C.run_policy(ctx["run"], -1), ctx["episodes"])
    store.save(path, REFERENCE_KIND, {"fresh_returns": ev["returns"], "fresh_lengths": ev["lengths"],
                                      "fresh_velocities": ev["velocities"],
                                      "fresh_returns_minus_alive": ev["returns_minus_alive"]},
               {"run": ctx["run"], "env_id": "Ant-v5", "policy": "trained",
                **{k: ev[k] for k in ("velocity", "return", "return_minus_alive", "length")},
                "eval_env_steps": ev["env_steps"], "eval_seconds": time.perf_counter() - t0,
                "fresh": {k: ev[k] for k in ("n_episodes", "horizon", "seed")}})
    print(f"{ctx['run']} trained: {ev['velocity']:.2f} m/s, return {ev['return']:.0f}, length {ev['length']:.0f}",
          flush=True)


def generalisation(ctx, method: str, L: int, seed: int, kind: str) -> Path | None:
    """HaDES's generalisation test: clone a ``kind`` ("linear" or "mlp") policy on a finished cell's pairs
    (``behaviour_cloning.behaviour_cloning``: ridge regression, or 500 Adam steps from the MLP's seeded initialisation,
    same normaliser as the run) and evaluate it on the same fresh episodes."""
    from gc_helpers import behaviour_cloning as cloning
    from gc_helpers.policies import make_policy

    src = ctx["root"] / "cells" / cell_name(method, L, seed)
    path = ctx["root"] / "generalisation" / f"{kind}_{cell_name(method, L, seed)}"
    if (path / "meta.json").is_file() or not (src / "meta.json").is_file():
        return None
    cell = store.load(src, CELL_KIND)
    first = ctx["first"]
    student = make_policy(kind, first.obs_dim, first.act_dim, first.sigma, first.normalizer(), seed=seed,
                          env_id="Ant-v5")
    t0 = time.perf_counter()
    theta = cloning.behaviour_cloning(student, cell["obs"], np.clip(cell["actions"], -1, 1))
    ev = S.fresh_evaluation(student.with_flat(theta), ctx["episodes"])
    meta = {"run": ctx["run"], "env_id": "Ant-v5", "rung": int(cell.meta["rung"]), "method": method, "L": L,
            "seed": seed, "architecture": kind, "source": f"ladder/{ctx['run']}/cells/{src.name}",
            "source_velocity": cell.meta["velocity"], "search_env_steps": cell.meta["search_env_steps"],
            "budget": cell.meta["budget"], "eval_seconds": time.perf_counter() - t0}
    _save_cell(path, {"theta": theta}, meta, ev)
    print(f"generalisation {kind} on {src.name}: {ev['velocity']:+.2f} m/s (the quadratic policy: "
          f"{cell.meta['velocity']:+.2f})", flush=True)
    return path


def expert_point(ctx, L: int, seed: int) -> Path | None:
    """Group G: notebook 07's bc_subset pairs (L greedy expert states of a 1000-step episode, their actions) as a
    point u of rung 3 — states clipped into the limits (``FP.clip_states``), actions into [-1, 1] — decoded by
    ``Rung(3).decode(u)`` and evaluated on the same fresh episodes as every cell."""
    name = f"bc_subset_L{L}_s{seed}"
    src = T.results_dir(ctx["run"]) / "cells" / name
    path = ctx["root"] / "expert_points" / name
    if (path / "meta.json").is_file() or not (src / "meta.json").is_file():
        return None
    cell, first = store.load(src, T.CELL_KIND), ctx["first"]
    rung = FP.Rung(3, L, first)
    states = FP.clip_states(cell["obs"], rung.limits)
    u = np.concatenate([FP.encode_states(states, rung.limits).ravel(), np.clip(cell["actions"], -1, 1).ravel()])
    ds = rung.decode(u)
    t0 = time.perf_counter()
    ev = S.fresh_evaluation(FP.policy_of(first, ds), ctx["episodes"])
    moved = np.abs(states - cell["obs"]).max(axis=0)
    meta = {"run": ctx["run"], "env_id": "Ant-v5", "rung": 3, "method": "expert_point", "L": L, "seed": seed,
            "source": f"fewest_pairs/{ctx['run']}/cells/{name}", "source_velocity": float(cell.meta["velocity"]),
            "source_beta": float(cell.meta["beta"]), "expert_steps": int(cell.meta["search_env_steps"]),
            "max_joint_moved": float(moved[5:13].max()), "max_velocity_moved": float(moved[13:].max()),
            "max_height_moved": float(moved[0]), "max_action": float(np.abs(cell["actions"]).max()),
            "ridge": rung.ridge, "eval_seconds": time.perf_counter() - t0}
    _save_cell(path, {"u": u, "obs": ds.obs, "actions": ds.actions, "coeffs": ds.coeffs,
                      "theta": first.flat() + ds.direction}, meta, ev)
    print(f"expert point {ctx['run']} {name}: {ev['velocity']:+.2f} m/s, return {ev['return']:.0f}, length "
          f"{ev['length']:.0f} (notebook 07's cell: {cell.meta['velocity']:+.2f} at β = {cell.meta['beta']})",
          flush=True)
    return path


def fastest_rung(root: Path, L: int) -> int:
    """The searched rung with the fastest mean fresh velocity at L (group D's choice)."""
    means = {}
    for rung, method in SEARCHED.items():
        v = [store.load(p, CELL_KIND).meta["velocity"] for p in sorted((root / "cells").glob(f"{method}_L{L}_s?"))]
        if v:
            means[rung] = float(np.mean(v))
    return max(means, key=means.get)


def only(c, name: str, budget: int) -> None:
    """Recompute one entry by its name (``make regenerate`` runs this for a single cell); a searched cell takes the
    budget its (L) row's other cells used, else ``budget``."""
    import re

    if name == "trained":
        return reference(c)
    m = re.fullmatch(r"bc_subset_L(\d+)_s(\d+)", name)
    if m:
        expert_point(c, int(m[1]), int(m[2]))
        return None
    m = re.fullmatch(r"(linear|mlp)_(\w+?)_L(\d+)_s(\d+)", name)
    if m:
        generalisation(c, m[2], int(m[3]), int(m[4]), m[1])
        return None
    m = re.fullmatch(r"(\w+?)_L(\d+)_s(\d+)(?:_b(\d+))?", name)
    if not m or m[1] not in (*FP.RUNGS.values(), "shipped_traj"):
        raise ValueError(f"--only={name!r}: a cell name such as free_obs_L16_s3, 'trained' or mlp_<cell>")
    L, seed = int(m[2]), int(m[3])
    if m[1] == "shipped_traj":
        shipped_rung1(c, L, seed)
        return None
    rung = {v: k for k, v in FP.RUNGS.items()}[m[1]]
    if m[4]:
        searched(c, rung, L, seed, int(m[4]), tag_budget=True)
        return None
    budgets = {a.meta["budget"] for p in (c["root"] / "cells").glob(f"*_L{L}_s*") if (p / "meta.json").is_file()
               and not p.name.count("_b") for a in [store.load(p, CELL_KIND)] if a.meta["budget"]}
    searched(c, rung, L, seed, budgets.pop() if len(budgets) == 1 else budget)
    return None


def entry_command(entry: str) -> str:
    """The command that recomputes one data/ladder entry (recorded in data/MANIFEST.json)."""
    parts = entry.split("/")  # ladder/<run>/trained | ladder/<run>/{cells,generalisation,expert_points}/<name>
    name = "trained" if parts[2] == "trained" else parts[3]
    return f".venv/bin/python bench/ladder.py --run {parts[1]} --only {name}"


def record_manifest() -> None:
    """Record data/ladder/ (finished entries only) in data/MANIFEST.json with each entry's command, leaving every
    other entry as it is. Hold the lock on MANIFEST.json while this runs."""
    from tools import manifest as M

    root = M.data_root()
    man = M.read(root)
    files = [n for n in M.shipped_files(root) if n.startswith("ladder/")]
    man["files"] = {k: v for k, v in man["files"].items() if not k.startswith("ladder/")}
    man["files"].update({n: M.file_entry(root / n) for n in files})
    man["commands"] = {k: v for k, v in man["commands"].items() if not k.startswith("ladder/")}
    man["commands"].update({e: entry_command(e) for e in sorted({M.artifact_of(n) for n in files})})
    (root / M.NAME).write_text(json.dumps(man, indent=1, sort_keys=True) + "\n")
    print(f"recorded {len(files)} files of data/ladder in {root / M.NAME}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", type=int, default=100_000, help="env steps per search (equal across rungs)")
    ap.add_argument("--larger", type=int, default=10, help="group D's budget is this many times --budget")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--episodes", type=int, default=50, help="fresh 1000-step evaluation episodes per dataset")
    ap.add_argument("--groups", nargs="+", default=list("ADBCFE"), choices=list("ABCDEFG"),
                    help="G (expert points, no search) runs only when named")
    ap.add_argument("--out", default=None, help="default: data/ladder (a smoke test writes elsewhere)")
    ap.add_argument("--run", default="ant_quad_best", help="with --only: the run the entry belongs to")
    ap.add_argument("--only", default=None, help="recompute one entry of --run and stop: a cell name such as "
                    "free_obs_L16_s3 or free_obs_L16_s0_b1000000, 'trained', linear_/mlp_<cell> (generalisation) or "
                    "bc_subset_L16_s0 (an expert point)")
    ap.add_argument("--record-manifest", action="store_true", help="record data/ladder's finished entries in "
                    "data/MANIFEST.json (hold its lock) and stop")
    args = ap.parse_args(argv)
    if args.record_manifest:
        return record_manifest()
    torch.set_num_threads(1)
    os.environ["GC_THREADS"] = "1"
    base = {"popsize": 8}
    ctxs = {}

    def ctx(run):
        if run not in ctxs:
            root = (Path(args.out) if args.out else ladder_root()) / run
            ctxs[run] = {"run": run, "root": root, "first": C.run_policy(run, 0),
                         "episodes": args.episodes, "config": base}
            reference(ctxs[run])
        return ctxs[run]

    def group(run, L):
        c = ctx(run)
        for s in args.seeds:
            if s <= 2:
                shipped_rung1(c, L, s)
        for s in args.seeds:
            for rung in SEARCHED:
                searched(c, rung, L, s, args.budget)

    if args.only:
        return only(ctx(args.run), args.only, args.budget)
    t0 = time.perf_counter()
    for g in args.groups:
        print(f"== group {g} ({time.perf_counter() - t0:.0f} s)", flush=True)
        if g == "A":
            for s in args.seeds:  # seed-major: every rung gets its seeds at the same pace
                c = ctx("ant_quad_best")
                for L in (4, 16):
                    if s <= 2:
                        shipped_rung1(c, L, s)
                    for rung in SEARCHED:
                        searched(c, rung, L, s, args.budget)
        elif g == "B":
            group("ant_quad_sgd", 16)
        elif g == "C":
            group("ant_quad_best", 64)
        elif g == "D":
            c = ctx("ant_quad_best")
            choice = ctx("ant_quad_best")["root"] / "_checkpoints" / "larger_budget.json"
            if choice.is_file():
                rung = json.loads(choice.read_text())["rung"]
            else:
                rung = fastest_rung(c["root"], 16)
                choice.parent.mkdir(parents=True, exist_ok=True)
                choice.write_text(json.dumps({"rung": rung}))
            searched(c, rung, 16, 0, args.budget * args.larger, tag_budget=True)
        elif g == "F":
            c = ctx("ant_quad_best")
            method = FP.RUNGS[fastest_rung(c["root"], 16)]
            for s in args.seeds:
                for kind in ("linear", "mlp"):
                    generalisation(c, method, 16, s, kind)
        elif g == "G":
            for run in ("ant_quad_best", "ant_quad_sgd"):
                for s in args.seeds:
                    expert_point(ctx(run), 16, s)
        elif g == "E":
            for run, Ls in (("ant_quad_best", (4, 16)), ("ant_quad_sgd", (16,))):
                for s in args.seeds:
                    for L in Ls:
                        searched(ctx(run), 1, L, s, args.budget)
    print(f"done in {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
