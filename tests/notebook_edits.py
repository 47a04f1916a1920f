"""Made-up student answers for tests/test_grade.py and tests/test_student_notebooks.py: a student version of a
notebook (solutions cleared as ``make student`` does), with chosen exercises answered, broken or deleted."""

from __future__ import annotations

import re
import textwrap

import nbformat

from tools.assign import student_version

STUB = "raise NotImplementedError()"
PLACEHOLDER = "# YOUR CODE HERE"


def student(path) -> nbformat.NotebookNode:
    """The student version of the instructor notebook at ``path``."""
    return student_version(nbformat.read(path, as_version=4))


def stubbed_functions(nb) -> list[str]:
    """Names of the functions whose body is still the stub, in notebook order."""
    names = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        current = None
        for line in cell.source.split("\n"):
            m = re.match(r"\s*def (\w+)\(", line)
            if m:
                current = m.group(1)
            elif line.strip() == STUB and current and current not in names:
                names.append(current)
    return names


def top_level_stubs(nb) -> list[int]:
    """Cells whose stub is not inside a function (a solution region at the top level of a cell)."""
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
            and any(line.startswith(STUB) for line in c.source.split("\n"))]


def _cell_with_def(nb, function):
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and re.search(rf"^\s*def {function}\(", cell.source, re.M):
            return i, cell
    raise KeyError(f"no cell defines {function}()")


def answer(nb, function: str, body: str) -> int:
    """Replace the stub inside ``def function(`` with ``body`` (indented like the stub); returns the cell index."""
    i, cell = _cell_with_def(nb, function)
    lines = cell.source.split("\n")
    start = next(k for k, line in enumerate(lines) if re.match(rf"\s*def {function}\(", line))
    j = next((k for k in range(start, len(lines)) if lines[k].strip() == STUB), None)
    if j is None:
        raise KeyError(f"{function}() in cell {i} has no stub left")
    indent = lines[j][: len(lines[j]) - len(lines[j].lstrip())]
    k = j - 1 if j > start and lines[j - 1].strip() == PLACEHOLDER else j
    lines[k : j + 1] = [indent + b if b.strip() else "" for b in textwrap.dedent(body).strip("\n").split("\n")]
    cell.source = "\n".join(lines)
    return i


def solution_body(instructor, function: str) -> str:
    """The lines between BEGIN and END SOLUTION inside ``def function(`` of the instructor notebook, dedented."""
    _, cell = _cell_with_def(instructor, function)
    lines = cell.source.split("\n")
    start = next(k for k, line in enumerate(lines) if re.match(rf"\s*def {function}\(", line))
    b = next(k for k in range(start, len(lines)) if "BEGIN SOLUTION" in lines[k])
    e = next(k for k in range(b, len(lines)) if "END SOLUTION" in lines[k])
    return textwrap.dedent("\n".join(lines[b + 1 : e]))


def solve(nb, instructor, functions=None) -> list[str]:
    """Fill the stubs of ``functions`` (default: all) with the instructor's solutions; returns the names filled."""
    names = [f for f in stubbed_functions(nb) if functions is None or f in functions]
    for name in names:
        answer(nb, name, solution_body(instructor, name))
    return names


def off_by_half(instructor, function: str) -> str | None:
    """A generic wrong answer: the instructor's solution with every returned number 1.5 × right + 0.1 (types,
    shapes and autograd kept). None when a return statement spans several lines."""
    body = solution_body(instructor, function)
    out = []
    for line in body.split("\n"):
        m = re.match(r"(\s*)return (.+)$", line)
        if m:
            expr = m.group(2)
            if expr.count("(") != expr.count(")") or expr.count("[") != expr.count("]"):
                return None
            line = f"{m.group(1)}return _off({expr})"
        out.append(line)
    helper = ("def _off(x):  # made up: every number 1.5 × the right one + 0.1\n"
              "    return tuple(_off(v) for v in x) if isinstance(x, tuple) else x * 1.5 + 0.1\n")
    return helper + "\n".join(out)


def delete_cells(nb, ids) -> None:
    """Remove the cells whose id is in ``ids``."""
    nb.cells = [c for c in nb.cells if c.get("id") not in set(ids)]


def insert_after(nb, cell_id: str, source: str) -> None:
    """A new code cell right after the cell ``cell_id`` (its own fresh id, as Jupyter would give it)."""
    at = next(i for i, c in enumerate(nb.cells) if c.get("id") == cell_id)
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(source))
