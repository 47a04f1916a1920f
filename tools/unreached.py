"""Which top-level names of gc_helpers no notebook and no exercise reaches: candidates to move out of the package a
student imports (to gc_research/ or tools/) or to remove.

    python tools/unreached.py

Read from the source with ast (nothing is imported). The roots are every name the notebooks' code cells use
(``from gc_helpers.x import y``, ``x.y``, ``C.span.best_alpha``; a package's ``__init__`` is followed to the module
that defines the name) and every top-level name of gc_helpers/exercises/. A name is reached when a reached name
refers to it anywhere in its body (a class with all its methods; a table of functions counts as a use), and
importing a reached module runs its module-level statements. Every unreached name is printed with the files outside
its module that use it (``x.name``, an import, `name` in backticks or "name" as a string; in bench/, tools/, tests/,
gc_research/, docs, Makefile) and the notebooks whose text (not code) names it in backticks, where a move would
leave the text pointing at nothing.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "gc_helpers"
DEFS = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}
SOURCES = {m: p.read_text() for m, p in MODULES.items()}
TREES = {m: ast.parse(SOURCES[m], filename=str(p)) for m, p in MODULES.items()}


def _is_package(m: str) -> bool:
    return MODULES[m].name == "__init__.py"


def top_level(m: str) -> dict[str, ast.stmt]:
    """{name: statement} of the functions, classes and assigned names a module defines."""
    out = {}
    for node in TREES[m].body:
        if isinstance(node, DEFS):
            out[node.name] = node
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            for t in node.targets if isinstance(node, ast.Assign) else [node.target]:
                out.update({n.id: node for n in ast.walk(t) if isinstance(n, ast.Name)})
    return out


TOP = {m: top_level(m) for m in MODULES}
LINES = {m: len(text.splitlines()) for m, text in SOURCES.items()}


def aliases(module: str | None, body: ast.AST) -> dict[str, tuple]:
    """{local name: ("mod", module) or ("name", module, name)} for the gc_helpers imports anywhere in ``body``."""
    out = {}
    for node in ast.walk(body):
        if isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level and module:
                pkg = (module if _is_package(module) else module.rpartition(".")[0]).split(".")
                target = ".".join(pkg[: len(pkg) - node.level + 1] + (target.split(".") if target else []))
            if target.split(".")[0] != "gc_helpers":
                continue
            for a in node.names:
                sub = f"{target}.{a.name}"
                out[a.asname or a.name] = ("mod", sub) if sub in MODULES else ("name", target, a.name)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "gc_helpers":
                    out[a.asname or "gc_helpers"] = ("mod", a.name if a.asname else "gc_helpers")
    return out


ALIASES = {m: aliases(m, TREES[m]) for m in MODULES}


def home(m: str, name: str, seen: tuple = ()) -> tuple[str, str]:
    """(module that defines ``name``, name), following a package's re-exports; ("MOD", module) for a module."""
    if name in TOP.get(m, {}):
        return m, name
    a = ALIASES.get(m, {}).get(name)
    if a and a[0] == "name" and (m, name) not in seen:
        return home(a[1], a[2], (*seen, (m, name)))
    if a and a[0] == "mod":
        return "MOD", a[1]
    return ("MOD", f"{m}.{name}") if f"{m}.{name}" in MODULES else (m, name)


def uses(module: str | None, body: ast.AST, local: dict) -> set[tuple[str, str]]:
    """The gc_helpers names (and modules) ``body`` refers to."""
    out = set()
    for n in ast.walk(body):
        if isinstance(n, ast.Name):
            if module and n.id in TOP[module]:
                out.add((module, n.id))
            a = local.get(n.id)
            if a:
                out.add(home(a[1], a[2]) if a[0] == "name" else ("MOD", a[1]))
        elif isinstance(n, ast.Attribute):
            chain, x = [], n
            while isinstance(x, ast.Attribute):
                chain.append(x.attr)
                x = x.value
            a = local.get(x.id) if isinstance(x, ast.Name) else None
            if not a or a[0] != "mod":
                continue
            current = a[1]
            for attr in reversed(chain):
                gathered = current in MODULES and _is_package(current) and \
                    ALIASES[current].get(attr, ("",))[0] == "name"  # a gathered name beats a same-named submodule
                if f"{current}.{attr}" in MODULES and not gathered:
                    current = f"{current}.{attr}"
                    out.add(("MOD", current))
                    continue
                if current in MODULES:
                    out.add(home(current, attr))
                break
    return out


@cache
def edges() -> dict[tuple[str, str], set]:
    out = {}
    for m in MODULES:
        module_level = set()
        for node in TREES[m].body:
            found = uses(m, node, ALIASES[m])
            names = [k for k, v in TOP[m].items() if v is node]
            for k in names:
                out.setdefault((m, k), set()).update(found - {(m, k)})
            if not names:
                module_level |= found
        out[("MOD", m)] = module_level
    return out


def notebook_code(path: Path) -> tuple[str, str]:
    """(code cells without IPython magics, markdown cells) of a notebook."""
    cells = json.loads(path.read_text())["cells"]
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for c in cells if c["cell_type"] == "code"
                     for line in "".join(c["source"]).splitlines())
    return code, "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def notebooks() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def notebook_roots(path: Path) -> set:
    """What one notebook reaches directly: the names its code cells use and its exercise module (all its names)."""
    body = ast.parse(notebook_code(path)[0])
    roots = uses(None, body, aliases(None, body))
    exercises = f"gc_helpers.exercises.nb{path.name[:2]}"
    if exercises in MODULES:
        roots |= {("MOD", exercises)} | {(exercises, k) for k in TOP[exercises]}
    return roots


def reached(roots: set | None = None) -> set:
    """Every (module, name) and ("MOD", module) reached from ``roots`` (default: every notebook and every exercise
    module)."""
    if roots is None:
        roots = {("MOD", m) for m in MODULES if m.startswith("gc_helpers.exercises")}
        roots |= {(m, k) for m in MODULES if m.startswith("gc_helpers.exercises") for k in TOP[m]}
        for path in notebooks():
            roots |= notebook_roots(path)
    graph, seen, stack = edges(), set(), list(roots)
    while stack:
        v = stack.pop()
        if v in seen:
            continue
        seen.add(v)
        if v[0] != "MOD":
            stack.append(("MOD", v[0]))
        elif "." in v[1]:  # importing a submodule runs its package's __init__ first
            stack.append(("MOD", v[1].rpartition(".")[0]))
        stack.extend(graph.get(v, ()))
    return seen


def definition_lines(node: ast.stmt) -> int:
    """Physical lines of a top-level statement, its decorators included."""
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return node.end_lineno - start + 1


def reached_lines(seen: set) -> int:
    """Physical lines of gc_helpers that ``seen`` needs: every reached module's lines less the lines of its
    top-level definitions that are not reached (a definition shared by several statements is counted once)."""
    total = 0
    for m in MODULES:
        if ("MOD", m) in seen:
            kept = {id(node) for k, node in TOP[m].items() if (m, k) in seen}
            unreached_nodes = {id(node): node for node in TOP[m].values() if id(node) not in kept}
            total += LINES[m] - sum(definition_lines(node) for node in unreached_nodes.values())
    return total


def main() -> int:
    seen = reached()
    texts = {p.stem: notebook_code(p)[1] for p in notebooks()}
    count = 0
    for m, names in TOP.items():
        for name in sorted(n for n in names if (m, n) not in seen and not n.startswith("_")):
            if name == "__all__":
                continue
            own = MODULES[m].relative_to(ROOT).as_posix()
            use = rf"(?<!\bre)\.{name}\b|import .*\b{name}\b|`[^`]*\b{name}\b[^`]*`|[\"']{name}[\"']"
            files = subprocess.run(["git", "grep", "-lP", use, "--", "bench", "tools", "tests", "gc_research", "docs",
                                    "Makefile", ".ci", "gc_helpers"], cwd=ROOT, capture_output=True,
                                   text=True).stdout.split()
            named = [s[:2] for s, t in texts.items() if re.search(rf"`[^`]*\b{re.escape(name)}\b[^`]*`", t)]
            count += 1
            print(f"{m}.{name}\n    used in: {' '.join(f for f in files if f != own) or 'nothing else'}"
                  + (f"\n    named in the text of notebook(s) {', '.join(named)}" if named else ""))
    print(f"{count} public names of gc_helpers that no notebook and no exercise reaches")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
