"""The README's and the teacher's guide's course table, from the notebooks and bench/results/notebook_times.json.

    python tools/course_table.py            # say whether README.md and docs/teaching.md are up to date (exit 1 if not)
    python tools/course_table.py --write    # regenerate the table in both

tests/test_readme_course.py checks that the table is up to date.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python tools/course_table.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gc_helpers.config import project_root  # noqa: E402
from gc_helpers.course import measured_times, times_table  # noqa: E402
from tools.runner import notebooks  # noqa: E402


def slowest(name: str, preset: str = "class") -> tuple:
    """(slowest cell's seconds, slowest widget update's seconds or None) of notebook ``name`` on ``preset``."""
    row = times_table().get(preset, {}).get(name)
    if not row:
        return None, None
    updates = [s for _, s in row.get("widget_updates", [])]
    return max((s for _, s in row["cells"]), default=None), max(updates, default=None)




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
    """``python tools/course_table.py --write``: regenerate the course table in README.md and docs/teaching.md;
    without ``--write``, say whether they are up to date (exit 1 if not)."""
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
        print(f"course table differs in {', '.join(stale)}: run `python tools/course_table.py --write`")
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
