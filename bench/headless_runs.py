"""Headless runs that never stall: every notebook executed N times on the class preset with plain
`jupyter nbconvert --to notebook --execute` and N times with tools/runner.py, per-cell timeout 120 s.

    .venv/bin/python bench/headless_runs.py                 # 10 rounds (resumes where the results file stops)
    .venv/bin/python bench/headless_runs.py --rounds 3 00 05

A round executes every notebook once with nbconvert, then once with the runner. Per run it records the wall time,
each cell's kernel time (nbclient's timestamps), the longest pause between one cell's reply and the next cell's
start (a stall shows there: the client got the reply a whole timeout late and only then sent the next cell), the
time the run spent outside its cells, and any error (a timeout names its cell). The runner never retries; a
stall is an error there. A cell stamped longer than its whole run (timed on the monotonic clock) is reported as a
clock step (the system clock jumped), not as a slow cell. Results are saved after every run to
bench/results/headless_runs.json, so a rerun skips what is done. Prints per notebook and mode: runs, failures, the
slowest cell, cells over 60 s, timeouts, stalls, clock steps.
Not run in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tools/ lives beside bench/

from gc_helpers.config import project_root  # noqa: E402
from tools.runner import cell_seconds, execute, notebooks  # noqa: E402

TIMEOUT, CELL_LIMIT, STALL = 120, 60.0, 20.0
RESULTS = Path("bench") / "results" / "headless_runs.json"
MODES = ("nbconvert", "runner")


def _ts(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def timings(nb) -> dict:
    """Per-cell kernel seconds, the slowest cell, and the longest pause between a reply and the next cell."""
    cells = cell_seconds(nb)
    stamps = [(i, c.metadata["execution"]) for i, c in enumerate(nb.cells)
              if c.cell_type == "code" and "iopub.execute_input" in c.get("metadata", {}).get("execution", {})]
    gaps = [(round((_ts(b["iopub.execute_input"]) - _ts(a["shell.execute_reply"])).total_seconds(), 2), i, j)
            for (i, a), (j, b) in zip(stamps, stamps[1:]) if "shell.execute_reply" in a]
    span = ((_ts(stamps[-1][1].get("shell.execute_reply", stamps[-1][1]["iopub.execute_input"]))
             - _ts(stamps[0][1]["iopub.execute_input"])).total_seconds() if stamps else 0.0)
    unfinished = [i for i, t in stamps if "shell.execute_reply" not in t]
    return {"cells": [[i, round(s, 2)] for i, s in cells], "slowest": max(cells, key=lambda c: c[1], default=None),
            "max_gap": max(gaps, default=None), "kernel_span": round(span, 1), "unfinished": unfinished}


def run_nbconvert(path: Path, out: Path) -> dict:
    env = {**os.environ, "GC_PRESET": "class"}
    env.pop("GC_FAST", None)
    t0 = time.perf_counter()
    proc = subprocess.run([str(Path(sys.executable).parent / "jupyter"), "nbconvert", "--to", "notebook", "--execute",
                           f"--ExecutePreprocessor.timeout={TIMEOUT}", "--output-dir", str(out.parent),
                           "--output", out.stem, str(path)], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    error = None
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        error = next((ln for ln in reversed(lines) if "Error" in ln or "Timeout" in ln), lines[-1] if lines else "")
    row = {"wall": round(wall, 1), "error": error, "retries": 0}
    if out.is_file():  # nbconvert writes nothing when a cell fails: the times then stay unknown
        import nbformat

        row.update(timings(nbformat.read(out, as_version=4)))
    return row


def run_runner(path: Path, out: Path) -> dict:
    import nbformat

    t0 = time.perf_counter()
    error = None
    try:
        execute(path, out, timeout=TIMEOUT, preset="class")
    except Exception as err:  # recorded, and the bench goes on
        lines = [ln for ln in str(err).splitlines() if ln.strip()]
        error = f"{type(err).__name__}: " + next((ln for ln in reversed(lines) if "Error" in ln), lines[-1] if lines
                                                 else "")[:300]
    row = {"wall": round(time.perf_counter() - t0, 1), "error": error, "retries": 0}  # the runner never retries
    if out.is_file():
        row.update(timings(nbformat.read(out, as_version=4)))
    return row


def verdicts(row: dict) -> dict:
    """What one run shows. A cell's time comes from the kernel's wall-clock stamps; a cell that took longer than its
    whole run measured on the monotonic clock (``wall``) cannot have: the system clock was stepped (e.g. a time
    sync after the VM paused) while it ran. Such a cell is counted as a clock step, not as a slow cell; the run's
    wall time still bounds how long it really took."""
    timeout = bool(row.get("error") and "Timeout" in row["error"])
    late = [[i, TIMEOUT] for i in row.get("unfinished", [])] or [[None, TIMEOUT]] if timeout else []
    cells = row.get("cells", [])
    stepped = [c for c in cells if c[1] > row["wall"]]
    timed = [c for c in cells if c not in stepped]
    gap = row.get("max_gap")
    return {"over_60s": [c for c in timed if c[1] > CELL_LIMIT] + late,  # a timed-out cell too
            "timeout": timeout, "clock_steps": stepped,
            "stall": bool((gap and row["wall"] >= gap[0] > STALL) or (row.get("error") and "stall" in row["error"])),
            "slowest": max(timed, key=lambda c: c[1], default=None)}


def summary(runs: list[dict]) -> list[str]:
    lines = [f"{'notebook':36s} {'mode':9s} runs failed  slowest cell (s)  >60 s  timeouts  stalls  retries  "
             "clock steps  longest pause between cells (s)"]
    keys = sorted({(r["notebook"], r["mode"]) for r in runs})
    for name, mode in keys:
        rows = [r for r in runs if r["notebook"] == name and r["mode"] == mode]
        v = [verdicts(r) for r in rows]
        slow = max((x["slowest"] for x in v if x["slowest"]), key=lambda c: c[1], default=None)
        gap = max((r["max_gap"][0] for r in rows if r.get("max_gap")), default=None)
        lines.append(f"{name:36s} {mode:9s} {len(rows):4d} {sum(bool(r['error']) for r in rows):6d}  "
                     + (f"{slow[1]:6.1f} (cell {slow[0]:2d})" if slow else f"{'–':>16s}")
                     + f"  {sum(len(x['over_60s']) for x in v):5d}  {sum(x['timeout'] for x in v):8d}"
                     f"  {sum(x['stall'] for x in v):6d}  {sum(r['retries'] for r in rows):7d}  "
                     f"{sum(len(x['clock_steps']) for x in v):11d}  "
                     + (f"{gap:.1f}" if gap is not None else "–"))
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="only notebooks whose file names contain one of these")
    ap.add_argument("--rounds", type=int, default=10, help="runs per notebook and mode (default 10)")
    ap.add_argument("--results", default=None, help=f"results file (default {RESULTS})")
    ap.add_argument("--summary", action="store_true", help="print the summary of the results file and stop")
    ap.add_argument("--note", default=None, help="what was run (e.g. the commit), stored with the results")
    args = ap.parse_args(argv)
    if args.rounds < 1:
        ap.error(f"--rounds {args.rounds}: must be >= 1")
    path = Path(args.results) if args.results else project_root() / RESULTS
    data = json.loads(path.read_text()) if path.is_file() else {"timeout": TIMEOUT, "preset": "class", "runs": []}
    if args.note:
        data.setdefault("notes", []).append(f"{datetime.now(UTC).isoformat(timespec='seconds')}: {args.note}")
    if args.summary:
        print("\n".join(summary(data["runs"])))
        return 0
    paths = [p for p in notebooks() if not args.names or any(n in p.name for n in args.names)]
    if not paths:
        ap.error(f"no notebook matches {args.names}")
    done = {(r["round"], r["mode"], r["notebook"]) for r in data["runs"]}
    out_dir = Path(tempfile.mkdtemp(prefix="headless_runs_"))
    for rnd in range(1, args.rounds + 1):
        for mode in MODES:
            for nb in paths:
                if (rnd, mode, nb.name) in done:
                    continue
                row = (run_nbconvert if mode == "nbconvert" else run_runner)(nb, out_dir / mode / nb.name)
                row.update({"round": rnd, "mode": mode, "notebook": nb.name,
                            "finished_at": datetime.now(UTC).isoformat(timespec="seconds")})
                data["runs"].append(row)
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp")
                tmp.write_text(json.dumps(data, indent=1))
                tmp.replace(path)
                v = verdicts(row)
                print(f"round {rnd} {mode:9s} {nb.name:36s} {row['wall']:6.1f} s"
                      + (f", slowest cell {v['slowest'][1]:.1f} s (cell {v['slowest'][0]})" if v["slowest"] else "")
                      + (f", longest pause {row['max_gap'][0]:.1f} s" if row.get("max_gap") else "")
                      + (f"; ERROR {row['error']}" if row["error"] else ""), flush=True)
    print("\n".join(summary(data["runs"])))
    bad = [r for r in data["runs"] if r["error"] or verdicts(r)["over_60s"] or verdicts(r)["stall"]]
    print(f"{len(data['runs'])} runs; {len(bad)} with an error, a cell over {CELL_LIMIT:.0f} s or a stall")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
