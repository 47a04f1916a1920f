"""What every notebook session needs around its lesson (notebooks/00_setup.ipynb, §Presets): the banner with the
preset and the measured run times, live widget updates that are timed, and progress that survives save/reopen.

- ``banner(name)`` prints the active preset and this notebook's run time per preset as measured by
  ``bench/notebook_times.py`` (``make times``), read from bench/results/notebook_times.json.
- ``timed_update(label)`` wraps a widget's update function; with ``GC_WIDGET_TIMES=<file>`` (set by the bench
  script) each update's duration is appended to that file, so the bench can report updates slower than 3 s.
- ``progress(total, desc)`` is a progress bar that, once closed, leaves plain text in the notebook instead of a
  widget whose model is gone after the notebook is saved and reopened.
"""

from __future__ import annotations

import functools
import json
import os
import re
import time
from pathlib import Path

from .config import preset_name, project_root

TIMES_FILE = Path("bench") / "results" / "notebook_times.json"
WIDGET_TIMES_ENV = "GC_WIDGET_TIMES"


def _times_table() -> dict:
    path = project_root() / TIMES_FILE
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err}); rerun `make times` to rewrite it") from None


def measured_times(name: str) -> dict:
    """{preset: seconds} for notebook ``name`` (e.g. "03_cem_compression") from the last ``make times`` runs."""
    return {preset: rows[name]["total_seconds"] for preset, rows in _times_table().items() if name in rows}


def slowest(name: str, preset: str = "class") -> tuple:
    """(slowest cell's seconds, slowest widget update's seconds or None) of notebook ``name`` on ``preset``."""
    row = _times_table().get(preset, {}).get(name)
    if not row:
        return None, None
    updates = [s for _, s in row.get("widget_updates", [])]
    return max((s for _, s in row["cells"]), default=None), max(updates, default=None)


def banner(name: str) -> str:
    """Print (and return) the preset line every notebook starts with."""
    times = measured_times(name)
    measured = ", ".join(f"{p} {t / 60:.1f} min" if t >= 90 else f"{p} {t:.0f} s" for p, t in sorted(times.items()))
    text = (f"preset: {preset_name()} (GC_PRESET = fast | class | full). Measured run time of this notebook on "
            f"2 cores: {measured or 'not measured yet (make times)'}.")
    print(text)
    return text


def timed_update(label: str):
    """Decorator for a widget's update function: records how long each update takes (see module doc)."""

    def wrap(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                path = os.environ.get(WIDGET_TIMES_ENV)
                if path:
                    with open(path, "a") as f:
                        f.write(json.dumps({"label": label, "cwd": os.getcwd(),
                                            "seconds": time.perf_counter() - t0}) + "\n")

        return run

    return wrap


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in shell.config


class progress:
    """A progress bar for notebooks and terminals; on close, a notebook shows one line of text in its place.

    Use as ``with progress(total, "compress") as bar: ... bar.update(n, postfix="cos 0.71")``. In a notebook the
    bar is an ipywidgets progress bar in a display slot that is replaced by the summary text when it closes."""

    def __init__(self, total: int, desc: str = ""):
        self.desc, self.total, self.n, self.postfix = desc, int(total), 0, ""
        self.t0 = time.perf_counter()
        self._bar = self._handle = None
        if _in_notebook():
            import ipywidgets as w
            from IPython.display import display

            self._bar = w.IntProgress(value=0, min=0, max=max(self.total, 1), description=desc[:20])
            self._label = w.Label(f"0/{self.total}")
            self._box = w.HBox([self._bar, self._label])
            self._handle = display(self._box, display_id=True)
        else:
            from tqdm import tqdm

            self._tqdm = tqdm(total=self.total, desc=desc)

    def update(self, n: int = 1, postfix: str | None = None):
        self.n += n
        self.postfix = postfix or self.postfix
        if self._bar is not None:
            self._bar.value = min(self.n, self._bar.max)
            self._label.value = f"{self.n}/{self.total} {self.postfix}"
        else:
            self._tqdm.update(n)
            if postfix:
                self._tqdm.set_postfix_str(postfix)

    def close(self):
        summary = (f"{self.desc}: {self.n}/{self.total} in {time.perf_counter() - self.t0:.1f} s"
                   + (f" ({self.postfix})" if self.postfix else ""))
        if self._bar is None:
            self._tqdm.close()
            return
        from IPython.display import Pretty

        self._handle.update(Pretty(summary))  # the widget view leaves the saved notebook
        self._box.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


# ------------------------------------------------------------------------------------------------------------
# The README's course table (python -m gc_helpers.course --write; tests/test_readme_course.py checks it)

README_BEGIN, README_END = "<!-- course:begin -->", "<!-- course:end -->"
_EXERCISE_ID = re.compile(r"(?:Exercises?\s+|✍\s*|\*\*)(\d+\.\d+)(?:\s+and\s+(\d+\.\d+))?")
_CHECKED_ID = re.compile(r"\bcheck(?:_value)?\(\s*f?[\"']Exercise\s+(\d+\.\d+)")
_CHECKER = re.compile(r"\b(check_(?!value\b)[a-z0-9_]+)\(")
_BULLET = re.compile(r"^\s*(?:[-*]|\d+\.)\s+")


def _goals(text: str) -> list[str]:
    """The bullets (with their continuation lines) after "After this notebook you can"."""
    lines = text[text.lower().index("after this notebook you can"):].splitlines()[1:]
    goals: list[str] = []
    for line in lines:
        if _BULLET.match(line):
            goals.append(_BULLET.sub("", line).strip())
        elif goals and line.strip() and not line.lstrip().startswith("#"):
            goals[-1] += " " + line.strip()
        elif goals:
            break
    return goals


def lesson_summary(path) -> dict:
    """Goals (the bullets under "After this notebook you can"), exercise ids and checked exercises of a notebook."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    md = [c.source for c in nb.cells if c.cell_type == "markdown"]
    opening = [t for t in md[:2] if "after this notebook you can" in t.lower()]
    goals = _goals(opening[0]) if opening else []
    exercises = {i for pair in _EXERCISE_ID.findall("\n".join(md)) for i in pair if i}
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    checked = set(_CHECKED_ID.findall(code)) | set(_CHECKER.findall(code))
    return {"name": Path(path).stem, "goals": goals, "exercises": sorted(exercises), "checked": sorted(checked)}


def course_table() -> str:
    """The README table: one row per notebook with its goals, exercises, checked exercises, measured times."""
    from .runner import notebooks

    rows = ["| notebook | after it you can | exercises (checked) | run time: fast / class | class: slowest cell / "
            "widget update |", "|---|---|---|---|---|"]
    for path in notebooks():
        s = lesson_summary(path)
        t = measured_times(s["name"])
        fast, klass = (f"{t[p]:.0f} s" if p in t else "–" for p in ("fast", "class"))
        goals = "; ".join(g.rstrip(";.,") for g in s["goals"]) or "–"
        rows.append(f"| `{s['name']}` | {goals} | {len(s['exercises'])} "
                    f"({len(s['checked'])}) | {fast} / {klass} | {_seconds(*slowest(s['name']))} |")
    return "\n".join(rows)


TABLE_FILES = ("README.md", "docs/teaching.md")


def _seconds(cell, update) -> str:
    if cell is None:
        return "–"
    return f"{cell:.1f} s / " + (f"{update:.2f} s" if update is not None else "–")


def with_table(text: str, name: str = "README.md") -> str:
    """``text`` with its course-table section (between the course:begin/end markers) regenerated."""
    if README_BEGIN not in text or README_END not in text:
        raise ValueError(f"{name} has no {README_BEGIN} … {README_END} section to fill")
    readme = text
    head, rest = readme.split(README_BEGIN, 1)
    _, tail = rest.split(README_END, 1)
    return f"{head}{README_BEGIN}\n{course_table()}\n{README_END}{tail}"


def main(argv=None) -> int:
    """``python -m gc_helpers.course --write``: regenerate the course table in README.md and docs/teaching.md;
    without ``--write``, say whether they are up to date (exit 1 if not)."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    stale = []
    for name in TABLE_FILES:
        path = project_root() / name
        new = with_table(path.read_text(), name)
        if "--write" in args:
            path.write_text(new)
            print(f"wrote the course table into {path}")
        elif new != path.read_text():
            stale.append(name)
    if stale:
        print(f"course table differs in {', '.join(stale)}: run `python -m gc_helpers.course --write`")
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
