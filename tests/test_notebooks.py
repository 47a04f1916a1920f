"""Execute every notebook under notebooks/ on the fast preset (GC_FAST=1); any error fails the test."""

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CELL_TIMEOUT = int(os.environ.get("GC_CELL_TIMEOUT", "600"))


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, monkeypatch):
    monkeypatch.setenv("GC_FAST", "1")
    monkeypatch.setenv("MUJOCO_GL", os.environ.get("MUJOCO_GL", "egl"))
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.get("outputs"), f"{path.name}: outputs must be stripped in git (make strip)"
    resources = {"metadata": {"path": str(path.parent)}}
    NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources=resources).execute()
