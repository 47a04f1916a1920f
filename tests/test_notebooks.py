"""Execute every notebook under notebooks/ on the fast preset (GC_FAST=1); any error fails the test."""

import os

import nbformat
import pytest

from gc_helpers.config import project_root
from gc_helpers.runner import execute, notebooks

NOTEBOOKS = notebooks()
CELL_TIMEOUT = int(os.environ.get("GC_CELL_TIMEOUT", "600"))


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, monkeypatch):
    monkeypatch.setenv("GC_FAST", "1")
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.get("outputs"), f"{path.name}: outputs must be stripped in git (make strip)"
    execute(path, project_root() / "out" / "notebooks" / path.name, timeout=CELL_TIMEOUT)


def test_series_is_found():
    assert NOTEBOOKS, "no notebooks found under notebooks/"
