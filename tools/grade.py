"""Grade a class (``make grade SUBMISSIONS=<folder>``; docs/teaching.md, "Grading a class").

Every submitted student notebook runs top to bottom in a fresh kernel, in a temporary copy: its working folder (a
copy of the submission's folder) and ``GC_ROOT`` (figures/, videos/, out/) are temporary, ``data/`` is a copy made
once per batch (restored if a submission changed it), so grading never writes into the repository. Each check the
notebook runs appends its outcome to a results file (``GC_RESULTS``, see ``gc_helpers.exercises.core.record``);
the grader reads those lines and writes one CSV row per student, notebook and exercise: score 1 if the check
passed, else 0, with the check's message or the grader's reason (the cell raised, hit the time limit, was deleted,
was never reached).

Which cells belong to which exercise comes from the instructor notebooks in notebooks/ (``exercise_map``): the
cells holding a solution region, and the cell that calls the exercise's checker. Those cells get the per-exercise
time limit, every other cell the (longer) cell limit. A released check cell runs with its released source (an
edited check cannot pass a wrong answer); a deleted one scores 0. A cell that raises does not stop the notebook,
a kernel that dies or ignores the interrupt stops only that notebook, and nothing stops the batch.

Layout: ``SUBMISSIONS/<student>/.../NN_*.ipynb`` (one folder per student; a notebook is recognised by its two-digit
number). Usage::

    python tools/grade.py SUBMISSIONS [--out grades.csv] [--exercise-limit 60] [--cell-limit 300] [--preset fast]
"""

from __future__ import annotations

import argparse
import csv
import inspect
import json
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python tools/grade.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import nbformat  # noqa: E402

from gc_helpers.config import PRESETS, data_dir  # noqa: E402

COLUMNS = ("student", "notebook", "exercise", "score", "status", "message")
EXERCISE_ID = re.compile(r"Exercise (\d+\.\d+)")
CHECKER_CALL = re.compile(r"\b(nb\d\d)\.(check_\w+)\s*\(")
INLINE_CHECK = re.compile(r"\bcheck(?:_value)?\s*\(\s*f?[\"']Exercise (\d+\.\d+)")
LATER_CELLS = "Later cells use the package's reference instead."


@dataclass
class Exercise:
    """One checked exercise of a notebook: its id ("2.3"), the cells where the student writes it and its check."""

    id: str
    check_cell: str  # cell id of the released cell that runs the check
    check_source: str  # that cell's released source
    signature: str  # text that identifies the check call in a submitted cell ("nb00.check_step_reward(")
    solution_cells: list[str] = field(default_factory=list)  # cell ids of the solution regions it checks
    functions: list[str] = field(default_factory=list)  # names the solution cells define


def _checker_ids(module_name: str, function: str) -> list[str]:
    """The exercise id a checker function of gc_helpers.exercises.<module> reports: the label its ``check(...)``
    call passes (a literal or a module constant), else the first line of its docstring."""
    import importlib

    module = importlib.import_module(f"gc_helpers.exercises.{module_name}")
    fn = getattr(module, function, None)
    if fn is None:
        raise ValueError(f"gc_helpers.exercises.{module_name} has no checker {function!r}")
    source = inspect.getsource(fn)
    call = re.search(r"\bcheck(?:_value)?\(\s*(?:f?[\"']Exercise (\d+\.\d+)|(\w+))", source)
    if call and call.group(1):  # check("Exercise 1.2 …", ...)
        found = [call.group(1)]
    elif call:  # check(LINE_EXERCISE, ...): a module constant
        found = EXERCISE_ID.findall(str(getattr(module, call.group(2), "")))[:1]
    else:
        found = []
    found += EXERCISE_ID.findall((fn.__doc__ or "").split("\n")[0])
    if not found:
        raise ValueError(f"gc_helpers.exercises.{module_name}.{function}: no 'Exercise N.M' in the check it calls "
                         "or in its docstring's first line")
    return found[:1]


def exercise_map(nb: nbformat.NotebookNode) -> list[Exercise]:
    """The checked exercises of an instructor notebook, in the order their checks run.

    A check cell calls ``nbNN.check_*(...)`` or ``check("Exercise N.M …", ...)`` / ``check_value(...)``; its solution
    cells are the cells with a solution region since the previous check cell (the check cell itself included)."""
    exercises: list[Exercise] = []
    pending: list[int] = []  # solution cells not yet claimed by a check
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if "BEGIN SOLUTION" in cell.source:
            pending.append(i)
        found = [(f"{m.group(1)}.{m.group(2)}(", _checker_ids(m.group(1), m.group(2))[0])
                 for m in CHECKER_CALL.finditer(cell.source)]
        found += [(m.group(0), m.group(1)) for m in INLINE_CHECK.finditer(cell.source)]
        if not found:
            continue
        solution = [nb.cells[j] for j in pending]
        functions = [name for c in solution for name in re.findall(r"^def (\w+)\(", c.source, re.M)]
        for signature, ex_id in found:
            if any(e.id == ex_id for e in exercises):
                raise ValueError(f"Exercise {ex_id} is checked twice (the second time in cell {i})")
            exercises.append(Exercise(ex_id, cell.get("id", str(i)), cell.source, signature,
                                      [c.get("id") for c in solution], functions))
        pending = []
    return exercises


def released_notebooks(folder: Path | None = None) -> dict[str, Path]:
    """{"00": notebooks/00_setup.ipynb, ...}: the instructor notebooks, by their two-digit number."""
    from tools.runner import notebooks

    return {p.name[:2]: p for p in notebooks(folder)}


def find_submissions(folder: Path, numbers) -> dict[str, dict[str, list[Path]]]:
    """{student: {"00": [paths], ...}}: each sub-folder of ``folder`` is a student; notebooks by their number."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"SUBMISSIONS={str(folder)!r}: not a folder (expected one sub-folder per student)")
    students = {}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        found: dict[str, list[Path]] = {}
        for path in sorted(sub.rglob("*.ipynb")):
            if ".ipynb_checkpoints" in path.parts or not re.match(r"\d\d", path.name):
                continue
            if path.name[:2] in numbers:
                found.setdefault(path.name[:2], []).append(path)
        students[sub.name] = found
    if not students:
        raise ValueError(f"SUBMISSIONS={str(folder)!r}: no student sub-folders in it")
    return students


def _one_line(message: str) -> str:
    """The check's message on one line, without the fixed 'Later cells use the reference' sentence."""
    lines = [ln.strip() for ln in message.splitlines() if ln.strip() and ln.strip() != LATER_CELLS]
    return " ".join(lines).replace(LATER_CELLS, "").strip()


def _error_of(cell) -> str | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return f"{out.get('ename')}: {out.get('evalue')}"[:300]
    return None


def _fingerprint(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@dataclass
class Limits:
    exercise: float = 60.0  # s per cell of an exercise (its solution cells and its check cell)
    cell: float = 300.0  # s per other cell
    probe: float = 10.0  # s a kernel gets to answer after an interrupt before it is shut down

    def __post_init__(self):
        for name in ("exercise", "cell", "probe"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"{name} limit={value!r}: seconds, a number > 0")


async def _answers(kc, seconds: float) -> bool:
    """Whether the kernel runs ``pass`` within ``seconds`` (after an interrupt: did the interrupt stop the cell?)."""
    from queue import Empty

    from jupyter_core.utils import ensure_async

    msg_id = kc.execute("pass", store_history=False)
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            msg = await ensure_async(kc.shell_channel.get_msg(timeout=remaining))
        except Empty:
            return False
        if msg["parent_header"].get("msg_id") == msg_id:
            return True
    return False


@dataclass
class CellRun:
    status: str = "not run"  # ok / error / timeout / not run
    error: str | None = None
    seconds: float = 0.0
    records: list[dict] = field(default_factory=list)


def run_submission(path: Path, exercises: list[Exercise], limits: Limits, root: Path, preset: str = "fast",
                   executed: Path | None = None):
    """Execute one submitted notebook in a fresh kernel under ``root`` (its GC_ROOT); returns
    (notebook, {cell index: CellRun}, why it stopped early or None)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from nbclient.util import run_sync

    nb = nbformat.read(path, as_version=4)
    check_cells = {e.check_cell: e for e in exercises if e.check_cell not in e.solution_cells}
    signatures = [e.signature for e in exercises] + [f"def {f}(" for e in exercises for f in e.functions]
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        ex = check_cells.get(cell.get("id"))
        if ex is not None and ex.signature in cell.source:  # the released check cell, perhaps edited: as released
            cell.source = ex.check_source
        is_exercise = any(s in cell.source for s in signatures)  # by content: ids drift between versions
        cell.metadata["grade_limit"] = limits.exercise if is_exercise else limits.cell
        cell.outputs = []
    work = root / "work"  # the kernel's working folder: a copy of the submission's folder
    shutil.copytree(path.parent, work, ignore=shutil.ignore_patterns(".ipynb_checkpoints"), dirs_exist_ok=True)
    results = root / "results.jsonl"
    results.touch()
    env = {**os.environ, "GC_ROOT": str(root), "GC_PRESET": preset, "GC_CHECKS": "report",
           "GC_RESULTS": str(results), "MPLBACKEND": "Agg"}
    env.pop("GC_FAST", None)
    env.setdefault("GC_THREADS", "1")
    client = NotebookClient(nb, kernel_name="python3", allow_errors=True, interrupt_on_timeout=False,
                            timeout_func=lambda c: c.metadata.get("grade_limit", limits.cell),
                            resources={"metadata": {"path": str(work)}})
    client.widget_registry = {}  # headless: captured widget outputs stay in the cell (see tools/runner.py)
    runs: dict[int, CellRun] = {}
    stopped = None
    seen = 0

    def new_records():
        nonlocal seen
        lines = results.read_text(encoding="utf-8").splitlines()
        fresh, seen = lines[seen:], len(lines)
        out = []
        for line in fresh:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out

    try:
        with client.setup_kernel(env=env, cwd=str(work)):
            for i, cell in enumerate(nb.cells):
                if cell.cell_type != "code" or not cell.source.strip():
                    continue
                run = runs[i] = CellRun()
                t0 = time.monotonic()
                try:
                    client.execute_cell(cell, i)
                    run.error = _error_of(cell)
                    run.status = "error" if run.error else "ok"
                except CellTimeoutError:
                    run.status = "timeout"
                    run.error = (f"stopped at the time limit of {cell.metadata['grade_limit']:g} s (interrupted "
                                 f"after {time.monotonic() - t0:.1f} s)")
                    run_sync(client.km.interrupt_kernel)()
                    if not run_sync(_answers)(client.kc, limits.probe):
                        stopped = f"the kernel did not stop at cell {i}'s time limit and was shut down"
                except DeadKernelError:
                    run.status = "error"
                    run.error = "the kernel died"
                    stopped = f"the kernel died in cell {i}"
                run.seconds = time.monotonic() - t0
                run.records = new_records()
                if stopped:
                    break
    except Exception as err:  # the kernel did not start, or nbclient failed: this notebook only
        stopped = stopped or f"the notebook could not be run: {type(err).__name__}: {str(err)[:200]}"
    if executed is not None:
        executed.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, executed)
    return nb, runs, stopped


def score_rows(nb, runs: dict[int, CellRun], stopped: str | None, exercises: list[Exercise]) -> list[dict]:
    """One row per exercise: the record of its check cell decides; without one, the reason it is missing."""
    rows = []
    ids = [c.get("id") for c in nb.cells]
    for ex in exercises:
        hits = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and ex.signature in c.source]
        check_at = next((i for i in hits if ids[i] == ex.check_cell), hits[0] if hits else None)
        own = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
               and any(f"def {f}(" in c.source for f in ex.functions)]
        cells = sorted(set(own) | ({check_at} if check_at is not None else set()))
        timed_out = [i for i in cells if runs.get(i, CellRun()).status == "timeout"]
        errors = [f"cell {i} raised {runs[i].error}" for i in cells if i in runs and runs[i].status == "error"]
        record = None
        if check_at is not None and check_at in runs:
            mine = [r for r in runs[check_at].records if EXERCISE_ID.search(r.get("exercise", ""))
                    and EXERCISE_ID.search(r["exercise"]).group(1) == ex.id]
            record = mine[-1] if mine else None
        if timed_out:
            status, message = "timeout", "; ".join(f"cell {i} {runs[i].error}" for i in timed_out)
        elif record is not None:
            status, message = record.get("status", "failed"), _one_line(record.get("message", ""))
        elif check_at is None:
            status, message = "missing", (f"the check cell of Exercise {ex.id} was deleted (released cell id "
                                          f"{ex.check_cell}: {ex.signature}…)")
        elif check_at not in runs:
            status, message = "not run", f"cell {check_at} never ran: {stopped or 'the notebook stopped before it'}"
        elif errors:
            status, message = "error", "; ".join(errors)
        else:
            status, message = "error", f"cell {check_at} ran without running the check of Exercise {ex.id}"
        rows.append({"exercise": ex.id, "score": int(status == "passed"), "status": status, "message": message})
    return rows


def grade(submissions, out_csv, numbers=(), limits: Limits | None = None, preset: str = "fast",
          executed_dir=None, log=None) -> list[dict]:
    """Grade every student's notebooks in ``submissions``; write ``out_csv``; return its rows."""
    limits = limits or Limits()
    log = log or (lambda message: print(message, flush=True))
    if preset not in PRESETS:
        raise ValueError(f"preset={preset!r}: allowed values are {', '.join(PRESETS)}")
    released = released_notebooks()
    unknown = [n for n in numbers if n not in released]
    if unknown:
        raise ValueError(f"notebooks={list(numbers)!r}: {unknown} not among {sorted(released)}")
    students = find_submissions(Path(submissions), list(numbers) or list(released))
    numbers = list(numbers) or sorted({n for found in students.values() for n in found})
    maps = {n: exercise_map(nbformat.read(released[n], as_version=4)) for n in numbers}
    rows = []
    with tempfile.TemporaryDirectory(prefix="grade_") as tmp:
        tmp = Path(tmp)
        data_copy = tmp / "data"
        shutil.copytree(data_dir(), data_copy)
        clean = _fingerprint(data_copy)
        for student, found in students.items():
            for n in numbers:
                name = released[n].name
                paths = found.get(n, [])
                base = {"student": student, "notebook": name}
                if len(paths) != 1:
                    why = ("no submission" if not paths else "ambiguous")
                    msg = (f"no {n}_*.ipynb in {student}/" if not paths else
                           f"{len(paths)} notebooks numbered {n}: {', '.join(p.name for p in paths)}")
                    rows += [{**base, "exercise": e.id, "score": 0, "status": why, "message": msg} for e in maps[n]]
                    continue
                t0 = time.time()
                root = tmp / "runs" / f"{student}_{n}"
                root.mkdir(parents=True)
                (root / "data").symlink_to(data_copy, target_is_directory=True)
                executed = Path(executed_dir) / student / name if executed_dir else None
                try:
                    nb, runs, stopped = run_submission(paths[0], maps[n], limits, root, preset, executed)
                    got = score_rows(nb, runs, stopped, maps[n])
                except Exception as err:  # an unreadable notebook: 0 for all its exercises, the batch goes on
                    why = f"{paths[0].name} could not be read or run: {type(err).__name__}: {str(err)[:200]}"
                    got = [{"exercise": e.id, "score": 0, "status": "error", "message": why} for e in maps[n]]
                rows += [{**base, **r} for r in got]
                if _fingerprint(data_copy) != clean:
                    log(f"  {student}/{name} changed the copy of data/: restored for the next submission")
                    shutil.rmtree(data_copy)
                    shutil.copytree(data_dir(), data_copy)
                    clean = _fingerprint(data_copy)
                shutil.rmtree(root, ignore_errors=True)
                score = sum(r["score"] for r in got)
                log(f"{student:>20s} {name}: {score}/{len(got)} in {time.time() - t0:.0f} s")
    out_csv = Path(out_csv)
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    with out_csv.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("submissions", help="a folder with one sub-folder of notebooks per student")
    ap.add_argument("--out", default=None, help="the CSV to write (default: grades.csv in the submissions folder)")
    ap.add_argument("--notebooks", nargs="*", default=[], help="two-digit numbers to grade (default: all submitted)")
    ap.add_argument("--exercise-limit", type=float, default=60.0, help="s per cell of an exercise (default 60)")
    ap.add_argument("--cell-limit", type=float, default=300.0, help="s per other cell (default 300)")
    ap.add_argument("--interrupt-grace", type=float, default=10.0,
                    help="s a kernel gets to answer after an interrupt before it is shut down (default 10)")
    ap.add_argument("--preset", default="fast", choices=PRESETS, help="the notebooks' preset (default fast)")
    ap.add_argument("--executed", default=None, help="also write each executed submission under this folder")
    args = ap.parse_args(argv)
    out = Path(args.out) if args.out else Path(args.submissions) / "grades.csv"
    limits = Limits(args.exercise_limit, args.cell_limit, args.interrupt_grace)
    rows = grade(args.submissions, out, args.notebooks, limits, args.preset, args.executed)
    totals: dict[str, list[int]] = {}
    for r in rows:
        totals.setdefault(r["student"], []).append(r["score"])
    for student, scores in totals.items():
        print(f"{student:>20s}: {sum(scores)}/{len(scores)}")
    print(f"wrote {out} ({len(rows)} rows)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
