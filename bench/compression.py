"""Benchmark gradient compression: our search vs the study's hill climbing on the same target.

    .venv/bin/python bench/compression.py                 # ours to L=490, the baseline to L=200 (slow: ~20+ min)
    .venv/bin/python bench/compression.py --quick         # the baseline only to L=100
    .venv/bin/python bench/compression.py --run ant_quad_best --baseline-alpha exact

Target: the weight change w_last − w_first of a stored run (default data/runs/ant_quad_sgd, the study-faithful
SGD-trained quadratic Ant); gradients at w_first; actions replayed from reset seed 42. Prints the cosine at
L = 50, 100, 200 (300, 490 for ours), env steps and wall time, and how long our search took to reach the
baseline's cosine at L = 100 / 200 compared with the baseline's own time. Not run in CI.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from gc_helpers import compression as C
from gc_research import hill_climb, sweeps
from gc_research.chunked import RECOMMENDED
from gc_research.staged_search import BEST, search


def at(res, L, key="curve"):
    """res's value of ``key`` at length L. The study's L-BFGS cosine is NaN after a fallback chunk (no healthy
    candidate, see gc_research.chunked.chunk_search); the exact cosine of the same span stands in, which favours the
    baseline (exact ≥ L-BFGS)."""
    i = np.flatnonzero(res.lengths == L)
    if not i.size:
        return float("nan")
    v = float(getattr(res, key)[i[0]])
    return float(res.curve[i[0]]) if np.isnan(v) else v


def row(name, res, lengths, key="curve"):
    cells = []
    for L in lengths:
        i = np.flatnonzero(res.lengths == L)
        if i.size:
            cells.append(f"L={L}: cos {getattr(res, key)[i[0]]:.3f} ({res.seconds[i[0]]:7.1f} s, "
                         f"{res.env_steps[i[0]]:>8d} steps)")
    print("\n".join(f"{name if j == 0 else '':<32}{c}" for j, c in enumerate(cells)))


def save_sweeps(run, labels=("weight_change", "random", "cem")):
    """The full-preset sweeps shipped in data/compressed/ for ``run``."""
    policy = C.run_policy(run, 0)
    P = policy.n_params
    jobs = [("weight_change", C.weight_change_target(run), BEST),
            ("random", C.random_target(P, seed=0), BEST),
            ("cem", C.weight_change_target(run), dict(method="cem", chunk=10, population=64, elites=8, cem_iters=6,
                                                      sigma0=0.5))]
    for label, target, kw in (j for j in jobs if j[0] in labels):
        name = f"{run}_{label}"
        res = sweeps.sweep(policy, target, name=name, lengths=sweeps.STUDY_GRID, progress=False, **kw)
        print(f"{name}: " + ", ".join(f"L={L} {c:.3f}" for L, c in zip(res.lengths, res.curve) if L % 50 == 0
                                       or L == 490) + f"; {res.seconds[-1]:.0f} s, {res.env_steps[-1]} env steps; "
              f"null at 490 {C.null_cosine(490, P):.3f}", flush=True)
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", default="ant_quad_sgd")
    ap.add_argument("--quick", action="store_true", help="baseline only to L=100")
    ap.add_argument("--baseline-alpha", default="lbfgs", choices=("lbfgs", "exact"))
    ap.add_argument("--ours", default="{}", help="JSON of chunk_search options overriding RECOMMENDED")
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--skip-best", action="store_true", help="ours with RECOMMENDED only (BEST takes minutes)")
    ap.add_argument("--labels", default="weight_change,random,cem", help="sweeps made by --save-sweeps")
    ap.add_argument("--save-sweeps", action="store_true",
                    help="only make the shipped sweeps of --run (weight change with BEST, random direction, "
                         "chunk CEM) into data/compressed/, then exit")
    args = ap.parse_args(argv)
    if args.save_sweeps:
        return save_sweeps(args.run, tuple(args.labels.split(",")))

    policy = C.run_policy(args.run, 0)
    target = C.weight_change_target(args.run)
    P = policy.n_params
    print(f"target: weight change of {args.run} (P = {P}, ‖w‖ = {np.linalg.norm(target.vector):.3f}); "
          f"null √(L/P): L=100 {C.null_cosine(100, P):.3f}, L=490 {C.null_cosine(490, P):.3f}", flush=True)

    ours = {}
    for label, kw in (("ours fast (RECOMMENDED)", RECOMMENDED), ("ours best (BEST)", BEST))[:2 - args.skip_best]:
        kw = {**kw, **json.loads(args.ours)}
        ours[label] = search(policy, target, max_length=490, lengths=sweeps.STUDY_GRID, **kw)
        print(f"{label}: {kw}")
        row(label, ours[label], (50, 100, 200, 300, 490))
    if args.skip_baseline:
        return 0

    Lb = 100 if args.quick else 200
    grid = tuple(range(10, Lb + 1, 10))
    base = hill_climb.hill_climb(policy, target, max_length=Lb, alpha=args.baseline_alpha, lengths=grid,
                        callback=lambda i: print(f"  baseline L={i['length']}: cos {i['cosine_lbfgs']:.3f} "
                                                 f"(exact {i['cosine']:.3f}) {i['seconds']:.0f} s", flush=True))
    key = "curve_lbfgs" if args.baseline_alpha == "lbfgs" else "curve"
    row(f"baseline hill ({args.baseline_alpha} α)", base, (50, 100, 200), key)
    if args.baseline_alpha == "lbfgs":
        row("baseline, exact α of its span", base, (50, 100, 200))

    for label, res in ours.items():
        print(f"\n{label} vs the baseline at equal length:")
        for L in grid:
            if L % 50 == 0 or L == grid[-1]:
                print(f"  L={L}: ours {at(res, L):.3f}  baseline {at(base, L, key):.3f}  "
                      f"diff {at(res, L) - at(base, L, key):+.3f}")
        above = all(at(res, L) > at(base, L, key) for L in grid)
        print(f"  above the baseline at every length 10..{Lb}: {above}")
        for L in (100, 200):
            if L > Lb:
                continue
            goal, tb = at(base, L, key), at(base, L, "seconds")
            hit = np.flatnonzero(res.curve >= goal)
            if hit.size:
                i = hit[0]
                print(f"  baseline cos {goal:.3f} at L={L} took {tb:.1f} s, {at(base, L, 'env_steps'):.0f} steps; "
                      f"ours reached it at L={res.lengths[i]} after {res.seconds[i]:.2f} s, {res.env_steps[i]} steps:"
                      f" time ratio {res.seconds[i] / tb:.4f} (1/{tb / res.seconds[i]:.0f}), "
                      f"step ratio {res.env_steps[i] / at(base, L, 'env_steps'):.4f}")
            else:
                print(f"  baseline cos {goal:.3f} at L={L}: ours never reached it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
