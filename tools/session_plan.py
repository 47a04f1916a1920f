"""The teacher's plan of sessions (docs/teaching.md, "A plan of sessions"), from the notebooks' sections, the
class-preset run times measured by `make times` (bench/results/notebook_times.json) and an estimate of the time a
class spends on each section.

    python tools/session_plan.py            # print the plan; say whether docs/teaching.md is up to date (exit 1 if not)
    python tools/session_plan.py --write    # regenerate the plan's table in docs/teaching.md

A section is what a level-2 heading (``## …``) starts; the cells before the first one are the notebook's opening.
``PLAN`` assigns every notebook to a session and marks sections **reading** (read before or after class) or
**homework**; every other section is taught **in class**. A notebook too long for one session is split over two.
A section in class costs

    its words / WORDS_PER_MINUTE          (the teacher talks it through, formulas included)
    + CELL_MINUTES per code cell (run it, read its output with the class)
    + EXERCISE_MINUTES per checked exercise, PREDICT_MINUTES per predict-then-run question,
      WIDGET_MINUTES per widget, + its code cells' measured class-preset run time.

tests/test_session_plan.py checks that the table is up to date and that every session fits ``SESSION_MINUTES``.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python tools/session_plan.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gc_helpers.config import project_root  # noqa: E402
from gc_helpers.course import times_table  # noqa: E402
from tools.runner import notebooks  # noqa: E402

WORDS_PER_MINUTE = 60  # a lecture's pace through dense text with derivations (words and formula tokens)
CELL_MINUTES = 1  # run a code cell and read its output with the class
EXERCISE_MINUTES = 12  # a checked coding exercise: write, check, read the hint, fix
PREDICT_MINUTES = 5  # a predict-then-run question: write the prediction, run, discuss
WIDGET_MINUTES = 3  # a widget: move it, read it
SESSION_MINUTES = (75, 90)  # a lecture
MODES = ("class", "reading", "homework")
ELSEWHERE = "elsewhere"  # a section of a split notebook that another session covers
PLAN_BEGIN, PLAN_END = "<!-- plan:begin -->", "<!-- plan:end -->"

# session -> [(notebook, {section key: mode})]. A section key is the heading's number ("3", "6b") or its text
# ("What we saw", "Exercises"); "opening" is what comes before the first heading; "*" sets the mode of every
# section not named (default: in class). A notebook split over sessions names ELSEWHERE for the other's part.
PLAN: list[tuple[str, list[tuple[str, dict]]]] = [
    ("1", [("00_setup", {"5": "reading", "7": "reading", "Troubleshooting": "reading", "Exercises": "homework"}),
           ("01_policy_gradient", {"*": ELSEWHERE, "opening": "class", "1": "class", "2": "class", "3": "class"})]),
    ("2", [("01_policy_gradient", {"*": ELSEWHERE, "4": "class", "5": "class", "6b": "class"})]),
    ("3", [("01_policy_gradient", {"*": ELSEWHERE, "7": "class", "8": "class", "9": "class", "What we saw": "class",
                                   "Exercises": "class"}),
           ("02_train_quadratic_agent", {"*": ELSEWHERE, "opening": "class", "1": "class"})]),
    ("4", [("02_train_quadratic_agent", {"opening": ELSEWHERE, "1": ELSEWHERE, "What we saw": "reading"})]),
    ("5", [("03_cem_compression", {"6": "reading", "What we saw": "reading", "Exercises": "homework"})]),
    ("6", [("04_alpha_optimisation", {"4": "reading", "5": "homework", "6": "reading", "What we saw": "reading",
                                      "Exercises": "homework"})]),
    ("7", [("05_line_search_decompression", {"0": "reading", "7": "reading", "What we saw": "reading",
                                             "Exercises": "homework"})]),
    ("8", [("06_ppo", {"opening": "reading", "4": "reading", "5": "reading", "6": "homework", "What we saw": "reading",
                       "Exercises": "homework"})]),
    ("9", [("07_fewest_pairs", {"7": "reading"})]),
    ("10", [("08_which_constraint", {"8": "reading"})]),
]


@dataclass(frozen=True)
class Section:
    """One section of a notebook: its key, title and what a class spends on it."""

    notebook: str
    key: str
    title: str
    words: int
    code_cells: int
    exercises: int
    predictions: int
    widgets: int
    run_seconds: float

    @property
    def minutes(self) -> float:
        """The estimated minutes of class time (see the module docstring)."""
        return (self.words / WORDS_PER_MINUTE + self.code_cells * CELL_MINUTES + self.exercises * EXERCISE_MINUTES
                + self.predictions * PREDICT_MINUTES + self.widgets * WIDGET_MINUTES + self.run_seconds / 60)


_HEADING = re.compile(r"##\s+(.*)")  # a level-2 heading on a markdown cell's first line
_CHECKED = re.compile(r"\bnb\d\d\.check_\w+\(|\bcheck\(\s*[\"']Exercise")
_WIDGET = re.compile(r"\.observe\(|\binteractive\(")
_PREDICTION = re.compile(r"\*Your (prediction|answer|sentence)")


def _key(title: str) -> str:
    number = re.match(r"(\d+[a-z]?)\s*·", title)
    return number.group(1) if number else title.strip()


def _cell_seconds(nb, name: str) -> tuple[dict[int, float], bool]:
    """({cell index: class-preset seconds}, per_cell) from the last `make times`. When the recorded cells are not
    this notebook's code cells (it was edited since), the measured total is spread evenly over its code cells and
    ``per_cell`` is False. ({}, False) if never measured."""
    row = times_table().get("class", {}).get(name)
    if not row:
        return {}, False
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    recorded = {int(i): float(s) for i, s in row["cells"]}
    if sorted(recorded) == code:
        return recorded, True
    return {i: float(row["total_seconds"]) / max(len(code), 1) for i in code}, False


def per_cell(name: str) -> bool:
    """True when the measured times of notebook ``name`` match its code cells (not edited since `make times`)."""
    import nbformat

    path = _paths().get(name)
    return path is not None and _cell_seconds(nbformat.read(path, as_version=4), name)[1]


def measured(name: str) -> bool:
    """True when `make times` has measured notebook ``name`` on the class preset."""
    return bool(times_table().get("class", {}).get(name))


def sections(path) -> list[Section]:
    """The sections of the notebook at ``path``, in order, with their words, cells, exercises and run time."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    name = Path(path).stem
    seconds, _ = _cell_seconds(nb, name)
    groups: list[tuple[str, str, list]] = [("opening", "opening", [])]
    for i, cell in enumerate(nb.cells):
        heading = _HEADING.fullmatch(cell.source.lstrip().split("\n", 1)[0]) if cell.cell_type == "markdown" else None
        if heading:
            groups.append((_key(heading.group(1)), heading.group(1).strip(), []))
        groups[-1][2].append((i, cell))
    out = []
    for key, title, cells in groups:
        md = [c.source for _, c in cells if c.cell_type == "markdown"]
        code = [(i, c.source) for i, c in cells if c.cell_type == "code"]
        out.append(Section(notebook=name, key=key, title=title, words=len(" ".join(md).split()),
                           code_cells=len(code), exercises=sum(bool(_CHECKED.search(s)) for _, s in code),
                           predictions=sum(bool(_PREDICTION.search(s)) for s in md),
                           widgets=sum(bool(_WIDGET.search(s)) for _, s in code),
                           run_seconds=sum(seconds.get(i, 0.0) for i, _ in code)))
    return [s for s in out if s.words or s.code_cells]


def _paths() -> dict[str, Path]:
    return {p.stem: p for p in notebooks()}


def modes(notebook: str, marks: dict, keys) -> dict[str, str]:
    """{section key: mode} of one notebook in one session."""
    return {k: marks.get(k, marks.get("*", "class")) for k in keys}


def plan_check() -> list[str]:
    """What is wrong with ``PLAN``: a notebook of the series in no session, a section key or mode that does not
    exist, a section covered by no session or by two. Empty if nothing."""
    problems, paths = [], _paths()
    planned = {nb for _, parts in PLAN for nb, _ in parts}
    problems += [f"{name} is in the series but in no session of tools/session_plan.py PLAN" for name in paths
                 if name not in planned]
    covered: dict[tuple[str, str], list[str]] = {}
    for session, parts in PLAN:
        for nb, marks in parts:
            if nb not in paths:
                problems.append(f"session {session}: no notebook notebooks/{nb}.ipynb")
                continue
            keys = [s.key for s in sections(paths[nb])]
            problems += [f"session {session}: {nb} has no section '{k}' (sections: {keys})" for k in marks
                         if k != "*" and k not in keys]
            for k, m in modes(nb, marks, keys).items():
                if m not in MODES + (ELSEWHERE,):
                    problems.append(f"session {session}: {nb} section '{k}': mode {m!r} (allowed: {', '.join(MODES)})")
                elif m != ELSEWHERE:
                    covered.setdefault((nb, k), []).append(session)
    for nb in paths:
        if nb in planned:
            for s in sections(paths[nb]):
                where = covered.get((nb, s.key), [])
                if len(where) != 1:
                    problems.append(f"{nb} section '{s.key}' is covered by {len(where)} sessions ({where}): want 1")
    return problems


def session_rows() -> list[dict]:
    """One dict per session: notebooks, the sections in class / reading / homework, the minutes in class, and
    whether every notebook of it has measured class-preset times."""
    paths, rows = _paths(), []
    for session, parts in PLAN:
        row = {"session": session, "notebooks": [nb for nb, _ in parts], "class": [], "reading": [], "homework": [],
               "minutes": 0.0, "measured": all(nb in paths and measured(nb) for nb, _ in parts)}
        for nb, marks in parts:
            if nb not in paths:
                continue
            secs = sections(paths[nb])
            for s, mode in zip(secs, modes(nb, marks, [s.key for s in secs]).values()):
                if mode == ELSEWHERE:
                    continue
                row[mode].append((nb, f"§{s.title}" if s.key[0].isdigit() else s.title))
                row["minutes"] += s.minutes if mode == "class" else 0.0
        rows.append(row)
    return rows


def _by_notebook(items) -> str:
    """[(notebook, section label)] as "00: §1 · …; §2 · …<br>01: …" (one line per notebook)."""
    groups: dict[str, list[str]] = {}
    for nb, label in items:
        groups.setdefault(nb, []).append(label)
    return "<br>".join(f"{nb[:2]}: {'; '.join(labels)}" for nb, labels in groups.items()) or "–"


def plan_table() -> str:
    """The plan as a markdown table (docs/teaching.md), with a line saying how current the measured times are."""
    lines = ["| session | notebooks | in class | ≈ minutes | reading | homework |", "|---|---|---|---|---|---|"]
    for r in session_rows():
        minutes = f"{5 * round(r['minutes'] / 5)}" + ("" if r["measured"] else " (run time not measured yet)")
        lines.append(f"| {r['session']} | {', '.join(f'`{n}`' for n in r['notebooks'])} | {_by_notebook(r['class'])} | "
                     f"{minutes} | {_by_notebook(r['reading'])} | {_by_notebook(r['homework'])} |")
    names = [p for p in _paths() if measured(p)]
    stale = [n[:2] for n in names if not per_cell(n)]
    lines.append("")
    lines.append("Run times per cell from `make times` for " + (", ".join(n[:2] for n in names if n[:2] not in stale)
                 or "none") + "; " + (f"for {', '.join(stale)} (edited since they were measured) each notebook's "
                                      "measured total is spread evenly over its code cells" if stale else
                                      "every measured notebook is current") + ".")
    return "\n".join(lines)


def with_plan(text: str, name: str = "docs/teaching.md") -> str:
    """``text`` with its plan section (between the plan:begin/end markers) regenerated."""
    if PLAN_BEGIN not in text or PLAN_END not in text:
        raise ValueError(f"{name} has no {PLAN_BEGIN} … {PLAN_END} section to fill")
    head, rest = text.split(PLAN_BEGIN, 1)
    _, tail = rest.split(PLAN_END, 1)
    return f"{head}{PLAN_BEGIN}\n{plan_table()}\n{PLAN_END}{tail}"


def main(argv=None) -> int:
    """``--write``: regenerate the plan in docs/teaching.md; otherwise print it and say whether the file is current."""
    args = sys.argv[1:] if argv is None else argv
    problems = plan_check()
    if problems:
        print("\n".join(problems))
        return 1
    path = project_root() / "docs" / "teaching.md"
    new = with_plan(path.read_text())
    if "--write" in args:
        path.write_text(new)
        print(f"wrote the plan of sessions into {path}")
        return 0
    print(plan_table())
    if new != path.read_text():
        print("docs/teaching.md's plan differs: run `python tools/session_plan.py --write`")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
