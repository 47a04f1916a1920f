"""The package's shape, read from its source with ast (nothing is imported): no import cycle, no use of another
module's _private names, names taken from the module that defines them (a package's __init__ may gather its own
submodules' names), and every import going to the same or a lower layer of docs/ARCHITECTURE.md, whose layer
table this test parses, so the doc and the code cannot drift apart. Notebooks follow the same rules. The second
package, gc_research (what only bench/ and tests/ call), is never imported by gc_helpers or by a notebook."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from fnmatch import fnmatch
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "gc_helpers"


# ----------------------------------------------------------------------------------------------------------------
# The import graph


def module_files() -> dict[str, Path]:
    """{dotted module name: file} of every module and package of gc_helpers."""
    out = {}
    for p in sorted(PKG.rglob("*.py")):
        parts = list(p.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


MODULES = module_files()


def _package_of(name: str) -> str:
    return name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]


@cache
def tree(name: str) -> ast.Module:
    return ast.parse(MODULES[name].read_text(), filename=str(MODULES[name]))


def imports(name: str, body: ast.AST | None = None):
    """(target module, imported name or None, alias, line) for every gc_helpers import in module ``name`` (or in
    ``body``, e.g. a notebook's code, with ``name`` None), at any depth (lazy imports inside functions count)."""
    out = []
    for node in ast.walk(body if body is not None else tree(name)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                pkg = _package_of(name).split(".")
                base = pkg[: len(pkg) - node.level + 1]
                target = ".".join(base + (node.module.split(".") if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "gc_helpers":
                continue
            for a in node.names:
                sub = f"{target}.{a.name}"
                if sub in MODULES:
                    out.append((sub, None, a.asname or a.name, node.lineno))
                else:
                    out.append((target, a.name, a.asname or a.name, node.lineno))
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "gc_helpers":
                    out.append((a.name, None, a.asname or a.name.split(".")[0], node.lineno))
    return out


def graph() -> dict[str, set[str]]:
    """module -> the gc_helpers modules it imports (the root package gc_helpers itself left out)."""
    return {m: {t for t, *_ in imports(m) if t != m and t != "gc_helpers"} for m in MODULES}


@cache
def defined(name: str) -> frozenset[str]:
    """Names a module defines at its top level (def, class, assignment); a package's __init__ also counts the names
    it gathers from its own submodules (its documented face)."""
    names = set()
    for node in tree(name).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            for t in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names |= {n.id for n in ast.walk(t) if isinstance(n, ast.Name)}
    if MODULES[name].name == "__init__.py":
        names |= {alias for target, n, alias, _ in imports(name) if n is not None and target.startswith(name + ".")}
    return frozenset(names)


def where_defined(module: str, name: str) -> str:
    """The module that defines ``name`` when ``module`` only imports it (for the error message)."""
    own = {n.name for n in tree(module).body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}
    if name in own or (name in defined(module) and MODULES[module].name != "__init__.py"):
        return module
    for target, n, alias, _ in imports(module):
        if alias == name:
            return target if n is None or target not in MODULES else where_defined(target, n)
    return "outside gc_helpers"


def name_problems(where: str, module: str | None, body: ast.AST) -> list[str]:
    """Private names of other modules and names taken from a module that does not define them, in ``body``."""
    problems = []
    aliases = {}
    for target, n, alias, line in imports(module, body):
        if n is None:
            aliases[alias] = target
            continue
        if target == module:
            continue
        if n.startswith("_") and not n.startswith("__"):
            problems.append(f"{where}:{line} imports the private {target}.{n}")
        elif target in MODULES and n not in defined(target):
            problems.append(f"{where}:{line} imports {n} from {target}, which does not define it "
                            f"(import it from {where_defined(target, n)})")
    for node in ast.walk(body):
        if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)):
            continue
        target = aliases.get(node.value.id)
        if target is None or target == module or target not in MODULES or node.attr.startswith("__"):
            continue
        if f"{target}.{node.attr}" in MODULES:
            continue
        if node.attr.startswith("_"):
            problems.append(f"{where}:{node.lineno} uses the private {target}.{node.attr}")
        elif node.attr not in defined(target):
            problems.append(f"{where}:{node.lineno} uses {target}.{node.attr}, which {target} does not define "
                            f"(take it from {where_defined(target, node.attr)})")
    return problems


# ----------------------------------------------------------------------------------------------------------------
# The layers of docs/ARCHITECTURE.md


def layers() -> dict[str, int]:
    """{module or pattern ("compression.*"): layer} from the table under "## Layers" of docs/ARCHITECTURE.md; rows
    are ``| <layer number> | `mod`, `pkg.*`, … | what it holds |``."""
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    section = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    out = {}
    for row in re.findall(r"^\|\s*(\d+)\s*\|([^|]*)\|", section, re.M):
        for mod in re.findall(r"`([A-Za-z0-9_.*]+)`", row[1]):
            out[mod] = int(row[0])
    return out


def layer_of(module: str, table: dict[str, int]) -> int | None:
    """The layer of ``module``: its own row if it has one, else the first pattern that matches it ("pkg.*" also
    matches the package pkg itself)."""
    short = module.removeprefix("gc_helpers.")
    if short in table:
        return table[short]
    for pattern, layer in table.items():
        if "*" in pattern and (fnmatch(short, pattern) or (pattern.endswith(".*") and short == pattern[:-2])):
            return layer
    return None


# ----------------------------------------------------------------------------------------------------------------
# Tests


def test_the_layer_table_is_read_and_covers_every_module():
    table = layers()
    assert len(set(table.values())) >= 4, f"docs/ARCHITECTURE.md: expected a layer table, read {table}"
    missing = sorted(m for m in MODULES if m != "gc_helpers" and layer_of(m, table) is None)
    assert not missing, f"modules without a layer in docs/ARCHITECTURE.md's layer table: {missing}"
    named = [m for m in table if "*" not in m and f"gc_helpers.{m}" not in MODULES]
    assert not named, f"docs/ARCHITECTURE.md's layer table names modules that do not exist: {named}"


def test_no_import_cycle():
    g = graph()
    index, low, stack, on_stack, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                cycles.append(sorted(part))

    sys.setrecursionlimit(10_000)
    for v in sorted(g):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles (each group imports itself through the others): {cycles}"


def test_every_import_goes_to_the_same_or_a_lower_layer():
    table = layers()
    bad = []
    for m, targets in graph().items():
        for t in targets:
            a, b = layer_of(m, table), layer_of(t, table)
            if a is not None and b is not None and b > a:
                bad.append(f"{m} (layer {a}) imports {t} (layer {b})")
    assert not bad, "imports that go up a layer of docs/ARCHITECTURE.md:\n" + "\n".join(sorted(bad))


def test_no_private_names_of_other_modules_and_each_name_from_its_home():
    problems = []
    for m in MODULES:
        problems += name_problems(str(MODULES[m].relative_to(ROOT)), m, tree(m))
    assert not problems, "\n".join(problems)


def notebook_code(path: Path) -> tuple[ast.Module, list[tuple[int, int]]]:
    """The code cells of a notebook as one module (IPython magics and shell lines dropped), and (first line, cell
    index) of each cell, so that a problem is reported by cell."""
    cells = [(i, "".join(c["source"])) for i, c in enumerate(json.loads(path.read_text())["cells"])
             if c["cell_type"] == "code"]
    starts, lines = [], []
    for i, src in cells:
        starts.append((len(lines) + 1, i))
        lines += ["" if line.lstrip().startswith(("%", "!")) else line for line in src.splitlines()] or [""]
    return ast.parse("\n".join(lines)), starts


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.stem)
def test_notebooks_take_each_name_from_the_module_that_defines_it(path):
    code, starts = notebook_code(path)

    def by_cell(problem: str) -> str:
        line = int(problem.split(":", 2)[1].split()[0])
        cell = max((c for first, c in starts if first <= line), default=0)
        return problem.replace(f"{path.name}:{line}", f"{path.name} cell {cell}", 1)

    problems = [by_cell(p) for p in name_problems(path.name, None, code)]
    assert not problems, "\n".join(problems)


def test_the_checker_catches_what_it_should():
    """The rules fail on code that breaks them (a test must be able to fail)."""
    bad = ast.parse("from gc_helpers import envs\nfrom gc_helpers.compression.span import np\nenvs._x\nenvs.nope\n")
    found = name_problems("example", None, bad)
    assert any("private gc_helpers.envs._x" in p for p in found)
    assert any("envs.nope" in p for p in found) and any("imports np from" in p for p in found)
    table = {"envs": 1, "compression.*": 2}
    assert layer_of("gc_helpers.compression.span", table) == 2 and layer_of("gc_helpers.envs", table) == 1


def research_imports(body: ast.AST) -> list[int]:
    """Lines of ``body`` that import gc_research (absolute imports at any depth; gc_helpers has no relative way up)."""
    lines = []
    for node in ast.walk(body):
        if isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").split(".")[0] == "gc_research":
            lines.append(node.lineno)
        elif isinstance(node, ast.Import) and any(a.name.split(".")[0] == "gc_research" for a in node.names):
            lines.append(node.lineno)
    return lines


def test_gc_helpers_never_imports_gc_research():
    """gc_research makes the research artifacts; the package a student imports must not need it."""
    found = [f"{MODULES[m].relative_to(ROOT)}:{line}" for m in MODULES for line in research_imports(tree(m))]
    assert not found, "gc_helpers imports gc_research (docs/ARCHITECTURE.md: it never does):\n" + "\n".join(found)
    assert (ROOT / "gc_research" / "__init__.py").is_file()


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.stem)
def test_notebooks_do_not_import_gc_research(path):
    code, starts = notebook_code(path)
    cells = [max(c for first, c in starts if first <= line) for line in research_imports(code)]
    assert not cells, f"{path.name} imports gc_research in cell(s) {cells}: notebooks import only gc_helpers"


@pytest.mark.parametrize("path", sorted((ROOT / "gc_research").glob("*.py")), ids=lambda p: p.stem)
def test_gc_research_uses_public_names_of_gc_helpers_from_their_homes(path):
    body = ast.parse(path.read_text(), filename=str(path))
    problems = name_problems(str(path.relative_to(ROOT)), None, body)
    assert not problems, "\n".join(problems)


def test_the_research_import_check_can_fail():
    assert research_imports(ast.parse("import gc_research.x\ndef f():\n    from gc_research import y\n")) == [1, 3]
    assert research_imports(ast.parse("from gc_helpers import research\nimport gc_researcher\n")) == []


def test_pg_theory_loads_neither_the_simulator_nor_gymnasium():
    code = ("import sys, gc_helpers.pg_theory\n"
            "print([m for m in ('mujoco', 'gymnasium', 'gc_helpers.compression', 'gc_helpers.envs') "
            "if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"importing gc_helpers.pg_theory loaded {out.stdout.strip()}"
