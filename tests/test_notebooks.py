"""Execute every notebook under notebooks/ on the fast preset with strict exercise checks; any error fails.

Also: each notebook leaves the shipped data/ byte-identical (compared before and after its own run), their saved
outputs hold no widget view whose model is gone, and the student versions (make student) keep no solution region.
"""

import hashlib
import json
import os

import nbformat
import pytest

from gc_helpers.config import data_dir, project_root
from tools.assign import solution_lines, student_version
from tools.manifest import NAME, shipped_files
from tools.runner import execute, notebooks

NOTEBOOKS = notebooks()
CELL_TIMEOUT = int(os.environ.get("GC_CELL_TIMEOUT", "300"))  # fast-preset cells take well under a minute
OUT = project_root() / "out" / "notebooks"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def data_fingerprint() -> dict:
    """sha256 of every shipped file under data/ and of data/MANIFEST.json (a bench's git-ignored resume state in
    _checkpoints/ is not shipped: tools/manifest.py decides what is)."""
    root = data_dir()
    names = [*shipped_files(root), *([NAME] if (root / NAME).is_file() else [])]
    return {name: hashlib.sha256((root / name).read_bytes()).hexdigest() for name in names}


def changed_files(before: dict, after: dict) -> list[str]:
    """Files of data/ added, removed or changed between two fingerprints."""
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


def dead_widget_views(nb) -> list[str]:
    """Widget views in saved outputs whose model is not in the notebook's saved widget state."""
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    dead = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get(WIDGET_VIEW)
            if view and view.get("model_id") not in state:
                dead.append(f"cell {i}: model {view.get('model_id')}")
    return dead


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.get("outputs"), f"{path.name}: outputs must be stripped in git (make strip)"
    before = data_fingerprint()
    executed = execute(path, OUT / path.name, timeout=CELL_TIMEOUT, preset="fast")
    changed = changed_files(before, data_fingerprint())
    assert not changed, (f"data/ changed while {path.name} ran (notebooks write under out/; a bench script writing "
                         f"into data/ at the same time shows up here too): {changed[:10]}")
    assert not dead_widget_views(executed), f"{path.name}: widget views without a saved model (a closed widget " \
        f"left in the output; use gc_helpers.course.progress): {dead_widget_views(executed)}"


def test_a_changed_data_file_is_found(tmp_path, monkeypatch):
    """The data/ check of test_notebook_executes, on a copy: a rewritten, an added and a removed file are named."""
    (tmp_path / "data" / "runs").mkdir(parents=True)
    (tmp_path / "data" / "runs" / "a.json").write_text("{}")
    (tmp_path / "data" / "b.txt").write_text("b")
    monkeypatch.setenv("GC_ROOT", str(tmp_path))
    before = data_fingerprint()
    assert changed_files(before, data_fingerprint()) == []
    (tmp_path / "data" / "runs" / "a.json").write_text('{"x": 1}')
    (tmp_path / "data" / "b.txt").unlink()
    (tmp_path / "data" / "c.txt").write_text("c")
    (tmp_path / "data" / "runs" / "_checkpoints").mkdir()
    (tmp_path / "data" / "runs" / "_checkpoints" / "state.pkl").write_text("a bench's resume state, not shipped")
    assert changed_files(before, data_fingerprint()) == ["b.txt", "c.txt", "runs/a.json"]


def test_dead_widget_views_are_found():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [nbformat.v4.new_output("display_data", data={WIDGET_VIEW: {"model_id": "abc"}})]
    nb.cells = [cell]
    assert dead_widget_views(nb) == ["cell 0: model abc"]
    nb.metadata["widgets"] = {WIDGET_STATE: {"state": {"abc": {}}}}
    assert dead_widget_views(nb) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_kernelspec_matches_the_installed_kernel(path):
    spec = nbformat.read(path, as_version=4).metadata.get("kernelspec", {})
    assert spec.get("name") == "python3" and spec.get("display_name") == "Python 3 (ipykernel)", \
        f"{path.name}: kernelspec {spec} differs from the installed kernel (python3, 'Python 3 (ipykernel)')"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_student_version_has_no_solutions(path):
    nb = nbformat.read(path, as_version=4)
    student = student_version(nb)
    assert not solution_lines(student), f"{path.name}: solution left in the student version"
    n_regions = sum(c.source.count("BEGIN SOLUTION") for c in nb.cells)
    stubs = sum(c.source.count("raise NotImplementedError()") for c in student.cells)
    assert stubs >= n_regions, f"{path.name}: {n_regions} solution regions but {stubs} stubs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_code_cells_are_short(path):
    nb = nbformat.read(path, as_version=4)
    long = [(i, len(c.source.splitlines())) for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and len(c.source.splitlines()) > 20]
    assert not long, f"{path.name}: code cells over 20 lines (cell, lines): {long}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_a_lesson(path):
    """Goals and prerequisites at the top, the banner first, 'What we saw' and Exercises at the end."""
    nb = nbformat.read(path, as_version=4)
    md = [c.source.lower() for c in nb.cells if c.cell_type == "markdown"]
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert "after this notebook you can" in " ".join(md[:2]), f"{path.name}: no learning goals at the top"
    assert "prerequisite" in " ".join(md[:3]), f"{path.name}: no prerequisites at the top"
    assert code and "banner(" in code[0], f"{path.name}: the first code cell must print course.banner(...)"
    tail = " ".join(md[-6:])
    assert "what we saw" in tail and "exercise" in tail, f"{path.name}: no 'What we saw' / Exercises at the end"
    assert "MUJOCO_GL" not in " ".join(code), f"{path.name}: MUJOCO_GL is set by gc_helpers.envs, not notebooks"
    assert "DESIGN" + ".md" not in json.dumps(nb), f"{path.name}: cites a file outside the repository"
