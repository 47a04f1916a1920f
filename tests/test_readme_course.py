"""The README's and the teacher's guide's course table (goals, exercises, checked exercises, measured run times)
is what `python tools/course_table.py --write` makes from the notebooks and bench/results/notebook_times.json."""

import pytest

from gc_helpers.config import project_root
from tools import course_table as course


@pytest.mark.parametrize("name", course.TABLE_FILES)
def test_course_table_is_up_to_date(name):
    text = (project_root() / name).read_text()
    assert course.with_table(text, name) == text, f"{name}: run `python tools/course_table.py --write`"


def test_every_notebook_is_counted_as_a_lesson():
    """01–06 and 07: ≥ 3 exercises, ≥ 2 checked; 00: ≥ 1 exercise; every notebook states its goals."""
    from tools.runner import notebooks

    for path in notebooks():
        s = course.lesson_summary(path)
        assert 3 <= len(s["goals"]) <= 6, f"{path.name}: {len(s['goals'])} learning goals (want 3–5): {s['goals']}"
        low = (1, 0) if path.name.startswith("00") else (3, 2)
        assert len(s["exercises"]) >= low[0] and len(s["checked"]) >= low[1], \
            f"{path.name}: {len(s['exercises'])} exercises, {len(s['checked'])} checked (want ≥ {low[0]}, ≥ {low[1]})"


def test_a_table_section_is_required():
    with pytest.raises(ValueError, match="README.md has no"):
        course.with_table("no markers here")
