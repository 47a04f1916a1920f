"""The course layer: exercise checks, student versions, the banner, progress bars and presets of the runner."""

import json
import time

import nbformat
import numpy as np
import pytest

from gc_helpers import course
from gc_helpers.exercises import Case, ExerciseFailed, check, check_value
from tools import runner
from tools.assign import solution_lines, student_version, write_student_versions


def ref(x):
    return (x ** 2).sum(-1)


CASES = [Case("one state", (np.arange(3.0),)), Case("a batch of 4 states", (np.ones((4, 3)),))]


@pytest.fixture(autouse=True)
def report_mode(monkeypatch):
    monkeypatch.delenv("GC_CHECKS", raising=False)


def test_a_right_answer_passes_and_is_used(capsys):
    mine = lambda x: (x * x).sum(-1)  # noqa: E731
    result = check("Exercise 0.1 (squares)", mine, ref, CASES)
    assert result.passed and result.fn is mine and result(np.ones(2)) == 2.0
    assert "✓ Exercise 0.1" in capsys.readouterr().out


@pytest.mark.parametrize("wrong,says", [
    (lambda x: x.sum(-1), "case 'one state': expected 5., got 3."),
    (lambda x: x ** 2, "case 'one state': expected shape (), got shape (3,)"),
    (lambda x: "five", "expected numbers"),
    (lambda x: 1 / 0, "your function raised ZeroDivisionError"),
    (lambda x: (np.nan * x).sum(-1), "NaN or inf"),
    (lambda x: (x, x), "expected one output"),
])
def test_wrong_answers_are_explained_and_the_reference_is_used(capsys, wrong, says):
    result = check("Exercise 0.1 (squares)", wrong, ref, CASES, hint="square, then sum")
    out = capsys.readouterr().out
    assert not result.passed and result.fn is ref
    assert "✗ Exercise 0.1 (squares)" in out and says in out and "Hint: square, then sum" in out


def test_not_written_yet(capsys):
    def mine(x):
        raise NotImplementedError()

    result = check("Exercise 0.1 (squares)", mine, ref, CASES)
    assert not result.passed and "not written yet" in capsys.readouterr().out


def test_a_hanging_answer_is_stopped(capsys):
    def mine(x):
        while True:
            pass

    t0 = time.perf_counter()
    result = check("Exercise 0.1 (squares)", mine, ref, CASES, timeout=0.5)
    assert not result.passed and time.perf_counter() - t0 < 3
    assert "still running after 0.5 s" in capsys.readouterr().out


def test_not_a_function(capsys):
    assert not check("Exercise 0.1 (squares)", 42, ref, CASES).passed
    assert "expected a function, got int" in capsys.readouterr().out


def test_strict_mode_raises_with_the_message(monkeypatch):
    monkeypatch.setenv("GC_CHECKS", "strict")
    with pytest.raises(ExerciseFailed, match="case 'one state'"):
        check("Exercise 0.1 (squares)", lambda x: x.sum(-1), ref, CASES)
    with pytest.raises(ExerciseFailed, match="expected 2., got 3."):
        check_value("Exercise 0.2", 3.0, 2.0)


def test_tuples_are_compared_output_by_output(capsys):
    both = lambda x: (x.sum(), x.max())  # noqa: E731
    assert check("E", both, both, CASES).passed
    assert not check("E", lambda x: (x.sum(), x.min()), both, CASES).passed
    assert "output 1" in capsys.readouterr().out


INSTRUCTOR = '''def add_one(x):
    """The student writes this."""
    ### BEGIN SOLUTION
    return x + 1
    ### END SOLUTION
'''


def test_student_version_clears_solutions_and_keeps_checks(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(INSTRUCTOR), nbformat.v4.new_code_cell("check(add_one)")]
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="x")]
    student = student_version(nb)
    assert "return x + 1" not in student.cells[0].source and "raise NotImplementedError()" in student.cells[0].source
    assert student.cells[1].source == "check(add_one)" and not student.cells[0].outputs
    assert solution_lines(nb) and not solution_lines(student)


def test_student_versions_of_the_series_are_written(tmp_path):
    written = write_student_versions(tmp_path)
    assert [p.name for p in written] == [p.name for p in runner.notebooks()]
    for p in written:
        assert not solution_lines(nbformat.read(p, as_version=4)), p.name
    with pytest.raises(ValueError, match="names=.*no notebook"):
        write_student_versions(tmp_path, ["no_such_notebook"])


def test_banner_quotes_measured_times(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GC_ROOT", str(tmp_path))
    monkeypatch.setenv("GC_PRESET", "class")
    monkeypatch.delenv("GC_FAST", raising=False)
    assert "not measured yet" in course.banner("03_x")
    (tmp_path / course.TIMES_FILE).parent.mkdir(parents=True)
    (tmp_path / course.TIMES_FILE).write_text(json.dumps({"class": {"03_x": {"total_seconds": 42.0}},
                                                          "fast": {"03_x": {"total_seconds": 150.0}}}))
    text = course.banner("03_x")
    assert "preset: class" in text and "class 42 s" in text and "fast 2.5 min" in text
    (tmp_path / course.TIMES_FILE).write_text("{broken")
    with pytest.raises(ValueError, match="notebook_times.json: not valid JSON"):
        course.banner("03_x")


def test_timed_update_records_each_update(tmp_path, monkeypatch):
    log = tmp_path / "updates.jsonl"
    monkeypatch.setenv(course.WIDGET_TIMES_ENV, str(log))

    @course.timed_update("03: horizon")
    def update(L):
        return L * 2

    assert update(3) == 6 and update(4) == 8
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["label"] for r in rows] == ["03: horizon"] * 2 and all(r["seconds"] >= 0 for r in rows)


def test_progress_in_a_terminal(capsys):
    with course.progress(3, "steps") as bar:
        for _ in range(3):
            bar.update(1, postfix="ok")
    assert bar.n == 3


def test_runner_rejects_an_unknown_preset(tmp_path):
    nb = tmp_path / "00_x.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), nb)
    with pytest.raises(ValueError, match="preset='paper': allowed values are fast, class, full"):
        runner.execute(nb, preset="paper")
