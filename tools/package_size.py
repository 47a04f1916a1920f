"""How big is the package a student imports: lines, files and public names of gc_helpers (now or at a commit).

    python tools/package_size.py                # the working tree
    python tools/package_size.py e7a904f        # gc_helpers as it was at a commit (read with git show)
    python tools/package_size.py --by-notebook  # the lines each notebook (with its exercises) needs, and the
                                                # series cut after each notebook

Lines are physical lines of every gc_helpers/**/*.py (as ``wc -l`` counts them); a public name is a top-level
function, class or assigned name whose name does not start with "_" (imported names are not counted).
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python tools/package_size.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]


def sources(commit: str | None = None) -> dict[str, str]:
    """{path: text} of every .py file under gc_helpers/, from the working tree or from ``commit``."""
    if commit is None:
        return {p.relative_to(ROOT).as_posix(): p.read_text() for p in sorted((ROOT / "gc_helpers").rglob("*.py"))}
    names = subprocess.run(["git", "ls-tree", "-r", "--name-only", commit, "gc_helpers/"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split()
    return {n: subprocess.run(["git", "show", f"{commit}:{n}"], cwd=ROOT, check=True, capture_output=True,
                              text=True).stdout for n in names if n.endswith(".py")}


def public_names(text: str) -> list[str]:
    """Top-level functions, classes and assigned names of a module that do not start with "_"."""
    names = []
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                for el in (t.elts if isinstance(t, ast.Tuple) else [t]):
                    if isinstance(el, ast.Name):
                        names.append(el.id)
    return [n for n in names if not n.startswith("_")]


def size(commit: str | None = None) -> dict:
    """{"files", "lines", "public_names", "by_file": {path: (lines, public names)}}."""
    by_file = {path: (len(text.splitlines()), len(public_names(text))) for path, text in sources(commit).items()}
    return {"files": len(by_file), "lines": sum(n for n, _ in by_file.values()),
            "public_names": sum(k for _, k in by_file.values()), "by_file": by_file}


def by_notebook() -> dict:
    """{"total": lines of gc_helpers, "notebooks": {stem: lines that notebook and its exercise module reach},
    "series": {stem: lines the notebooks up to and including it reach}} (working tree; ``tools/unreached.py``'s
    import graph: a module counts with all its lines but its unreached top-level definitions)."""
    from tools import unreached

    paths = unreached.notebooks()
    roots = {p.stem: unreached.notebook_roots(p) for p in paths}
    so_far, series = set(), {}
    for stem, r in roots.items():
        so_far |= r
        series[stem] = unreached.reached_lines(unreached.reached(set(so_far)))
    return {"total": size()["lines"], "series": series,
            "notebooks": {stem: unreached.reached_lines(unreached.reached(r)) for stem, r in roots.items()}}


def print_by_notebook() -> None:
    b = by_notebook()
    print(f"{'notebook':34s} {'its lines':>9s} {'series up to it':>16s} {'added by it':>12s}")
    before = 0
    for stem, lines in b["notebooks"].items():
        print(f"{stem:34s} {lines:9d} {b['series'][stem]:16d} {b['series'][stem] - before:12d}")
        before = b["series"][stem]
    print(f"gc_helpers: {b['total']} lines; the whole series reaches {list(b['series'].values())[-1]}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("commit", nargs="?", help="a commit (hash, tag or branch); default: the working tree")
    parser.add_argument("--by-notebook", action="store_true",
                        help="the lines of gc_helpers each notebook reaches (working tree only)")
    args = parser.parse_args(argv)
    commit = args.commit
    if args.by_notebook:
        if commit is not None:
            parser.error("--by-notebook reads the working tree: give no commit with it")
        print_by_notebook()
        return 0
    if commit is not None and subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}"],
                                             cwd=ROOT, capture_output=True).returncode != 0:
        parser.error(f"commit: {commit!r} is not a commit of this repository (give a hash, tag or branch)")
    s = size(commit)
    for path, (lines, names) in sorted(s["by_file"].items(), key=lambda kv: -kv[1][0]):
        print(f"{lines:6d} lines {names:4d} public  {path}")
    print(f"gc_helpers{' at ' + commit if commit else ''}: {s['files']} files, {s['lines']} lines, "
          f"{s['public_names']} public names")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
