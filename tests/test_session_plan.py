"""The teacher's plan of sessions (docs/teaching.md) is what `python tools/session_plan.py --write` makes from the
notebooks and the measured class-preset times; every session fits a 90-minute lecture; every section of every
notebook is taught, read or set as homework in exactly one session."""

import nbformat
import pytest

from gc_helpers.config import project_root
from tools import session_plan as sp


def test_plan_is_up_to_date():
    text = (project_root() / "docs" / "teaching.md").read_text()
    assert sp.with_plan(text) == text, "docs/teaching.md: run `python tools/session_plan.py --write`"


def test_plan_covers_every_section_once():
    assert sp.plan_check() == []


@pytest.mark.parametrize("row", sp.session_rows(), ids=lambda r: f"session {r['session']}")
def test_every_session_fits_a_lecture(row):
    low, high = sp.SESSION_MINUTES
    assert row["minutes"] <= high, f"session {row['session']}: {row['minutes']:.0f} min in class (> {high}); " \
        "mark a section reading or homework, or split the notebook, in tools/session_plan.py PLAN"
    assert row["class"], f"session {row['session']} teaches nothing in class"


def test_every_notebook_of_the_series_is_measured_or_said_not_to_be():
    table = sp.plan_table()
    for r in sp.session_rows():
        if not r["measured"]:
            assert "not measured yet" in table


def test_sections_and_their_estimate(tmp_path):
    """A made-up notebook: the opening, two numbered sections (one checked exercise, a widget and a prediction)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Title\n\n" + "word " * 60),
                nbformat.v4.new_code_cell("course.banner('x')"),
                nbformat.v4.new_markdown_cell("## 1 · First\n\n### Exercise 1.1\n" + "word " * 116),
                nbformat.v4.new_code_cell("f = nb01.check_score(f)"),
                nbformat.v4.new_markdown_cell("## 2 · Second"),
                nbformat.v4.new_code_cell("slider.observe(show, names='value')"),
                nbformat.v4.new_markdown_cell("*Your prediction (1.2):* …")]
    path = tmp_path / "99_made_up.ipynb"
    nbformat.write(nb, path)
    s = sp.sections(path)
    assert [x.key for x in s] == ["opening", "1", "2"]
    assert (s[1].exercises, s[1].widgets, s[2].widgets, s[2].predictions) == (1, 0, 1, 1)
    first = s[1].words / sp.WORDS_PER_MINUTE + sp.CELL_MINUTES + sp.EXERCISE_MINUTES
    assert s[1].minutes == pytest.approx(first)
    assert s[2].minutes == pytest.approx(s[2].words / sp.WORDS_PER_MINUTE + sp.CELL_MINUTES + sp.WIDGET_MINUTES
                                         + sp.PREDICT_MINUTES)


def test_a_plan_without_its_markers_is_refused():
    with pytest.raises(ValueError, match="docs/teaching.md has no"):
        sp.with_plan("no markers")


def test_measured_times_are_used_per_cell_only_while_they_match_the_code_cells(monkeypatch):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# T"), nbformat.v4.new_code_cell("a"), nbformat.v4.new_code_cell("b")]
    row = {"total_seconds": 9.0, "cells": [[1, 2.0], [2, 7.0]]}
    monkeypatch.setattr(sp, "times_table", lambda: {"class": {"99_x": row}})
    assert sp._cell_seconds(nb, "99_x") == ({1: 2.0, 2: 7.0}, True)
    nb.cells.insert(1, nbformat.v4.new_code_cell("new"))  # edited since: indices no longer match
    assert sp._cell_seconds(nb, "99_x") == ({1: 3.0, 2: 3.0, 3: 3.0}, False)
    assert sp._cell_seconds(nb, "98_never") == ({}, False)
