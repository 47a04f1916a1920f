"""Measured run times of the notebook series on one preset: per notebook, per cell, and every widget update.

    .venv/bin/python bench/notebook_times.py --preset class          # all notebooks (make times PRESET=class)
    .venv/bin/python bench/notebook_times.py --preset fast 03 05     # only these

Each notebook is executed headless exactly as `make run` does (tools/runner.py execute) with nbclient's
per-cell timings; widget updates are timed through gc_helpers.course.timed_update (GC_WIDGET_TIMES). Prints the
per-notebook total, its slowest cells and its slowest widget update, flags cells over 60 s and updates over 3 s
(the class preset's targets), and stores the table in bench/results/notebook_times.json, whose totals the
notebooks' banners quote. Not run in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tools/ lives beside bench/

from gc_helpers.config import PRESETS, project_root  # noqa: E402
from gc_helpers.course import TIMES_FILE, WIDGET_TIMES_ENV  # noqa: E402
from tools.runner import cell_seconds, execute, notebooks  # noqa: E402

CELL_LIMIT, UPDATE_LIMIT = 60.0, 3.0


def measure(path: Path, preset: str) -> dict:
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl", delete=False) as f:
        os.environ[WIDGET_TIMES_ENV] = f.name
    t0 = time.perf_counter()
    nb = execute(path, project_root() / "out" / "notebooks" / f"{preset}_{path.name}", preset=preset,
                 timeout=3600 if preset == "full" else 300)
    total = time.perf_counter() - t0
    updates = [json.loads(line) for line in Path(f.name).read_text().splitlines() if line.strip()]
    os.unlink(f.name)
    cells = cell_seconds(nb)
    return {"total_seconds": round(total, 1), "cells": [[i, round(s, 2)] for i, s in cells],
            "slowest": sorted(([i, round(s, 2)] for i, s in cells), key=lambda c: -c[1])[:3],
            "widget_updates": [[u["label"], round(u["seconds"], 3)] for u in updates]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="only notebooks whose file names contain one of these")
    ap.add_argument("--preset", default="class", choices=PRESETS)
    ap.add_argument("--no-save", action="store_true", help="print only; do not update the stored table")
    args = ap.parse_args(argv)
    paths = [p for p in notebooks() if not args.names or any(n in p.name for n in args.names)]
    if not paths:
        ap.error(f"no notebook matches {args.names}")
    store = project_root() / TIMES_FILE
    table = json.loads(store.read_text()) if store.is_file() else {}
    over = []
    print(f"{'notebook':<34}{'total':>9}   slowest cells (index: s)          slowest widget update")
    for path in paths:
        row = measure(path, args.preset)
        table.setdefault(args.preset, {})[path.stem] = row
        slow = ", ".join(f"{i}: {s:.1f}" for i, s in row["slowest"])
        upd = max(row["widget_updates"], key=lambda u: u[1], default=None)
        print(f"{path.stem:<34}{row['total_seconds']:>8.1f}s   {slow:<34}"
              f"{f'{upd[0]} {upd[1]:.2f} s' if upd else '–'}", flush=True)
        over += [f"{path.stem} cell {i}: {s:.1f} s" for i, s in row["cells"] if s > CELL_LIMIT]
        over += [f"{path.stem} widget '{lab}': {s:.2f} s" for lab, s in row["widget_updates"] if s > UPDATE_LIMIT]
        if not args.no_save:
            store.parent.mkdir(parents=True, exist_ok=True)
            store.write_text(json.dumps(table, indent=1) + "\n")
    total = sum(table[args.preset][p.stem]["total_seconds"] for p in paths)
    print(f"total {total / 60:.1f} min on preset {args.preset}")
    if args.preset == "class":
        print("over the class targets (cell > 60 s, widget update > 3 s): " + ("; ".join(over) or "none"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
