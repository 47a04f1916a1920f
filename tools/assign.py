"""Student versions of the notebooks (``make student``): solutions removed, checks kept.

The notebooks in git are the instructor versions: the lines a student writes sit between ``### BEGIN SOLUTION``
and ``### END SOLUTION`` inside the exercise's function. nbgrader's ``ClearSolutions`` preprocessor replaces each
such region by ``# YOUR CODE HERE`` / ``raise NotImplementedError()``; outputs are cleared. A written notebook that
still holds a solution marker is an error. Usage::

    python tools/assign.py                 # notebooks/NN_*.ipynb -> student/NN_*.ipynb
    python tools/assign.py --out DIR 03 05  # only notebooks whose names contain 03 or 05
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python tools/assign.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import nbformat  # noqa: E402

from gc_helpers.config import project_root  # noqa: E402

MARKERS = ("BEGIN SOLUTION", "END SOLUTION")


def student_version(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of the instructor notebook ``nb`` with every solution region replaced by a stub and no outputs."""
    from nbgrader.preprocessors import ClearOutput, ClearSolutions

    nb = nbformat.from_dict(nb)
    nb, _ = ClearSolutions(enforce_metadata=False).preprocess(nb, {})
    nb, _ = ClearOutput().preprocess(nb, {})
    return nb


def solution_lines(nb: nbformat.NotebookNode) -> list[str]:
    """Where a solution marker is left: "cell 12: ### BEGIN SOLUTION" for each such line."""
    return [f"cell {i}: {line.strip()}" for i, cell in enumerate(nb.cells)
            for line in cell.source.splitlines() if any(m in line for m in MARKERS)]


def write_student_versions(out: Path, names=()) -> list[Path]:
    """Write the student version of each numbered notebook (or those matching ``names``) to ``out``."""
    from tools.runner import notebooks

    paths = [p for p in notebooks() if not names or any(n in p.name for n in names)]
    if not paths:
        raise ValueError(f"names={list(names)!r}: no notebook under notebooks/ matches")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        nb = student_version(nbformat.read(path, as_version=4))
        left = solution_lines(nb)
        if left:
            raise ValueError(f"{path.name}: solution markers left after clearing (unbalanced?): {left[:3]}")
        nbformat.write(nb, out / path.name)
        written.append(out / path.name)
    return written


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="only notebooks whose file names contain one of these")
    ap.add_argument("--out", default=None, help="folder for the student notebooks (default: student/)")
    args = ap.parse_args(argv)
    out = Path(args.out) if args.out else project_root() / "student"
    for path in write_student_versions(out, args.names):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
