"""Execute the notebook series headless (``make run``, the tests, bench/notebook_times.py): one function for all.

Each notebook runs with its folder as working directory on a preset (fast / class / full, see ``config``); the
executed copy (with outputs and per-cell timings) is written to out/notebooks/ so that the notebooks in git stay
stripped. Exercise checks are strict (a failed check is an error) unless ``strict_checks=False``, which is how a
student notebook with unsolved exercises is run.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from gc_helpers.config import PRESETS, project_root


def notebooks(folder: Path | None = None) -> list[Path]:
    """The numbered notebooks NN_*.ipynb of the series, in order."""
    folder = folder or project_root() / "notebooks"
    return sorted(folder.glob("[0-9][0-9]_*.ipynb"))


STALL_SECONDS = 20  # a cell whose reply reached the runner this much later than the kernel sent it: a stall
CLOCK_STEP_SECONDS = 1  # the system clock and the monotonic clock disagree this much over a cell: a clock step


def execute(path, out_path=None, timeout: int = 600, preset: str = "fast", strict_checks: bool = True):
    """Run every cell of the notebook at ``path`` on ``preset``, once; raises on the first error.

    The notebook runs exactly as ``jupyter nbconvert --to notebook --execute`` runs it (nbclient with its
    Output-widget emulation), and never twice: a cell that waits for its reply long after the kernel finished
    (``STALL_SECONDS``; the headless stall fixed by ``course.output_to``) is an error, not something to retry.
    A cell during which the system clock was stepped (``CLOCK_STEP_SECONDS``) is not judged: the kernel stamps it
    on that clock. Returns the executed notebook (nbclient records each cell's start and end in its metadata);
    writes it to ``out_path`` if given, also when a cell failed."""
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}")
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
        raise ValueError(f"timeout={timeout!r}: seconds per cell, an integer >= 1")
    if preset not in PRESETS:
        raise ValueError(f"preset={preset!r}: allowed values are {', '.join(PRESETS)}")
    os.environ.pop("GC_FAST", None)
    os.environ["GC_PRESET"] = preset
    os.environ["GC_CHECKS"] = "strict" if strict_checks else "report"
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=True,
                            resources={"metadata": {"path": str(path.parent)}})
    walls, stepped = {}, set()  # client wall seconds per cell; cells during which the system clock was stepped

    def started(cell, cell_index):
        walls[cell_index] = (time.monotonic(), time.time())

    def finished(cell, cell_index, execute_reply):
        mono, clock = (now - then for now, then in zip((time.monotonic(), time.time()), walls[cell_index]))
        walls[cell_index] = mono
        if abs(clock - mono) > CLOCK_STEP_SECONDS:  # the kernel's stamps are on the stepped clock: not comparable
            stepped.add(cell_index)

    client.on_cell_execute, client.on_cell_executed = started, finished
    try:
        client.execute()
    finally:
        if out_path is not None:
            Path(out_path).parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, out_path)
    kernel = dict(cell_seconds(nb))
    stalls = {i: walls[i] - kernel[i] for i in kernel
              if i in walls and i not in stepped and walls[i] - kernel[i] > STALL_SECONDS}
    if stalls:
        raise RuntimeError(f"{path.name}: a headless stall: " + "; ".join(
            f"cell {i} waited {s:.0f} s for its reply after the kernel had finished" for i, s in stalls.items())
            + " (a widget update that captures outputs with `with out:`? use course.output_to)")
    return nb


def cell_seconds(nb) -> list[tuple[int, float]]:
    """(cell index, seconds) for every executed code cell of an executed notebook, from nbclient's timings."""
    from datetime import datetime

    out = []
    for i, cell in enumerate(nb.cells):
        t = cell.get("metadata", {}).get("execution", {})
        if cell.cell_type == "code" and "iopub.execute_input" in t and "shell.execute_reply" in t:
            start = datetime.fromisoformat(t["iopub.execute_input"].replace("Z", "+00:00"))
            end = datetime.fromisoformat(t["shell.execute_reply"].replace("Z", "+00:00"))
            out.append((i, (end - start).total_seconds()))
    return out


def main(argv=None) -> int:
    """``python tools/runner.py [--preset fast|class|full] [names...]``: execute the series, print timings."""
    import argparse

    ap = argparse.ArgumentParser(description="Execute the notebook series headless.")
    ap.add_argument("names", nargs="*", help="only notebooks whose file names contain one of these")
    ap.add_argument("--preset", default="fast", choices=PRESETS)
    ap.add_argument("--full", action="store_true", help="the same as --preset full")
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    preset = "full" if args.full else args.preset
    paths = [p for p in notebooks() if not args.names or any(n in p.name for n in args.names)]
    if not paths:
        print(f"no notebook matches {args.names}", file=sys.stderr)
        return 2
    out = project_root() / "out" / "notebooks"
    print(f"preset: {preset}; executed notebooks go to {out}")
    failed = []
    for path in paths:
        t0 = time.time()
        print(f"▶ {path.name} …", flush=True)
        try:
            execute(path, out / path.name, preset=preset, timeout=3600 if preset == "full" else 600)
            print(f"  ✓ {time.time() - t0:6.1f} s", flush=True)
        except Exception as err:  # report and go on: one broken notebook should not hide the others
            failed.append(path.name)
            print(f"  ✗ {time.time() - t0:6.1f} s: {type(err).__name__}: {str(err)[-2000:]}", flush=True)
    print(f"figures: {project_root() / 'figures'}; videos: {project_root() / 'videos'}")
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
