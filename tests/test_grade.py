"""The class grader (tools/grade.py, ``make grade``): made-up submissions of notebook 00 built from its student
version (correct, wrong, crashing, looping, stuck, dying, cells deleted, absent) give the expected CSV rows, the
per-exercise time limit is honoured, and grading writes nothing into the repository or data/."""

import csv
import hashlib
import json
import os
import re
import subprocess
import sys
import time

import nbformat
import pytest
from notebook_edits import answer, delete_cells, insert_after, solve, student

from gc_helpers.config import project_root
from gc_helpers.exercises import check, check_value, core
from gc_helpers.exercises.core import Case
from tools.grade import COLUMNS, Limits, exercise_map, find_submissions, released_notebooks

ROOT = project_root()
RELEASED = released_notebooks()
EXERCISE_LIMIT = 10  # s; 00's checks take well under a second (more than the checks' own 5 s per case)
CELL_LIMIT = 120  # s; 00's slowest cell takes a few seconds on the fast preset
GRACE = 3  # s a kernel gets after an interrupt before it is shut down
MARKER = f"written_by_a_graded_submission_{os.getpid()}.txt"


def test_every_released_notebook_maps_its_exercises_to_check_cells():
    for path in RELEASED.values():
        nb = nbformat.read(path, as_version=4)
        exercises = exercise_map(nb)
        ids = [c.get("id") for c in nb.cells]
        assert exercises, f"{path.name}: no checked exercise found"
        assert len({e.id for e in exercises}) == len(exercises), f"{path.name}: an exercise id is checked twice"
        for e in exercises:
            assert re.fullmatch(r"\d+\.\d+", e.id), (path.name, e.id)
            assert e.check_cell in ids and e.signature in nb.cells[ids.index(e.check_cell)].source, (path.name, e)
            assert e.solution_cells and all(c in ids for c in e.solution_cells), f"{path.name}: {e.id} has no solution"
            assert all("BEGIN SOLUTION" in nb.cells[ids.index(c)].source for c in e.solution_cells)


def test_checks_record_their_outcome_and_print_the_same(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GC_CHECKS", raising=False)
    cases = [Case("two numbers", (1.0, 2.0))]
    monkeypatch.delenv("GC_RESULTS", raising=False)
    check("Exercise 9.1 (sum)", lambda a, b: a - b, lambda a, b: a + b, cases)
    plain = capsys.readouterr().out
    results = tmp_path / "results.jsonl"
    monkeypatch.setenv("GC_RESULTS", str(results))
    check("Exercise 9.1 (sum)", lambda a, b: a - b, lambda a, b: a + b, cases)
    assert capsys.readouterr().out == plain  # what the student sees does not change
    check("Exercise 9.2 (sum)", lambda a, b: a + b, lambda a, b: a + b, cases)

    def unwritten(a, b):
        raise NotImplementedError()

    check("Exercise 9.3 (sum)", unwritten, lambda a, b: a + b, cases)
    check_value("Exercise 9.4 (a number)", 3.0, 3.0)
    lines = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines()]
    assert [(r["exercise"][:12], r["status"]) for r in lines] == [
        ("Exercise 9.1", "failed"), ("Exercise 9.2", "passed"), ("Exercise 9.3", "not written"),
        ("Exercise 9.4", "passed")]
    assert "case 'two numbers'" in lines[0]["message"]
    monkeypatch.setenv("GC_CHECKS", "strict")  # strict mode records before it raises
    with pytest.raises(core.ExerciseFailed):
        check_value("Exercise 9.5 (a number)", 2.0, 3.0)
    assert json.loads(results.read_text(encoding="utf-8").splitlines()[-1])["status"] == "failed"


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match="exercise limit"):
        Limits(exercise=0)
    with pytest.raises(ValueError, match="SUBMISSIONS"):
        find_submissions(tmp_path / "nothing", ["00"])
    with pytest.raises(ValueError, match="no student sub-folders"):
        find_submissions(tmp_path, ["00"])


def _fingerprint(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _shipped_data():
    """sha256 of every file of data/ that git tracks (bench runs may add untracked resume state meanwhile)."""
    files = subprocess.run(["git", "ls-files", "data"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    return {f: hashlib.sha256((ROOT / f).read_bytes()).hexdigest() for f in files if (ROOT / f).is_file()}


def _submissions(folder):
    """One folder per made-up student, each with a notebook 00 built from the student version."""
    released = nbformat.read(RELEASED["00"], as_version=4)
    ex = {e.id: e for e in exercise_map(released)}
    v, r = ex["0.1"], ex["0.2"]
    name = RELEASED["00"].name

    def write(who, nb):
        (folder / who).mkdir(parents=True)
        nbformat.write(nb, folder / who / name)

    nb = student(RELEASED["00"])
    solve(nb, released)
    write("correct", nb)

    nb = student(RELEASED["00"])  # 0.1 with its sign flipped (tests/test_exercises_nb00.py); 0.2 crashes
    answer(nb, v.functions[0], "return (x_before - x_after) / dt")
    solve(nb, released, r.functions)
    cell = next(c for c in nb.cells if c.get("id") == r.solution_cells[0])
    cell.source = 'raise RuntimeError("a bug above the function")\n' + cell.source
    write("wrong_and_crash", nb)

    nb = student(RELEASED["00"])  # 0.1 loops at the top of its cell (the grader's limit), 0.2 inside the function
    solve(nb, released)
    cell = next(c for c in nb.cells if c.get("id") == v.solution_cells[0])
    cell.source = "while True:\n    pass\n" + cell.source
    nb2 = student(RELEASED["00"])
    answer(nb2, r.functions[0], "while True:\n    pass")
    cell2 = next(c for c in nb.cells if c.get("id") == r.solution_cells[0])
    cell2.source = next(c for c in nb2.cells if c.get("id") == r.solution_cells[0]).source
    write("loops", nb)

    nb = student(RELEASED["00"])  # a loop that swallows the interrupt: the kernel is shut down
    solve(nb, released)
    cell = next(c for c in nb.cells if c.get("id") == v.solution_cells[0])
    cell.source += ("\nimport time\nwhile True:\n    try:\n        time.sleep(0.05)\n"
                    "    except KeyboardInterrupt:\n        pass\n")
    write("stuck", nb)

    nb = student(RELEASED["00"])  # 0.1 right, then a cell that writes where it should not and kills the kernel
    solve(nb, released)
    insert_after(nb, v.check_cell, "import os\nfrom pathlib import Path\nfrom gc_helpers import config\n"
                 "for folder in (Path('.'), config.out_dir(), config.figure_dir(), config.video_dir(), "
                 f"config.data_dir()):\n    folder.mkdir(parents=True, exist_ok=True)\n"
                 f"    (folder / '{MARKER}').write_text('written by a submission')\n"
                 "os._exit(1)")
    write("dies", nb)

    nb = student(RELEASED["00"])  # 0.1 right but its check deleted; 0.2's solution cell deleted
    solve(nb, released)
    delete_cells(nb, [v.check_cell, *r.solution_cells])
    write("deleted", nb)

    nb = student(RELEASED["00"])  # the check cell edited to pass the reference: graded as released
    solve(nb, released, r.functions)
    cell = next(c for c in nb.cells if c.get("id") == v.check_cell)
    right = "lambda xb, xa, dt: (xa - xb) / dt"
    cell.source = cell.source.replace(f"{v.signature}{v.functions[0]}", f"{v.signature}{right}")
    write("edited_check", nb)

    (folder / "absent").mkdir()
    (folder / "absent" / "notes.txt").write_text("forgot to upload")


EXPECTED = {  # (student, exercise): (score, status, words in the message)
    ("absent", "0.1"): (0, "no submission", "no 00_*.ipynb"),
    ("absent", "0.2"): (0, "no submission", "no 00_*.ipynb"),
    ("correct", "0.1"): (1, "passed", "all 2 cases match"),
    ("correct", "0.2"): (1, "passed", "all 2 cases match"),
    ("deleted", "0.1"): (0, "missing", "was deleted"),
    ("deleted", "0.2"): (0, "error", "NameError"),
    ("dies", "0.1"): (1, "passed", "all 2 cases match"),
    ("dies", "0.2"): (0, "not run", "the kernel died"),
    ("edited_check", "0.1"): (0, "not written", "not written yet"),
    ("edited_check", "0.2"): (1, "passed", "all 2 cases match"),
    ("loops", "0.1"): (0, "timeout", f"time limit of {EXERCISE_LIMIT} s"),
    ("loops", "0.2"): (0, "failed", "still running after 5 s"),  # the check's own timer, inside the function
    ("stuck", "0.1"): (0, "timeout", f"time limit of {EXERCISE_LIMIT} s"),
    ("stuck", "0.2"): (0, "not run", "did not stop"),
    ("wrong_and_crash", "0.1"): (0, "failed", "case '"),
    ("wrong_and_crash", "0.2"): (0, "error", "RuntimeError: a bug above the function"),
}


@pytest.mark.notebook
@pytest.mark.slow
def test_grading_made_up_submissions(tmp_path):
    subs = tmp_path / "submissions"
    _submissions(subs)
    before_data, before_subs = _shipped_data(), _fingerprint(subs)
    out = tmp_path / "grades.csv"
    t0 = time.time()
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "grade.py"), str(subs), "--out", str(out),
                          "--notebooks", "00", "--exercise-limit", str(EXERCISE_LIMIT), "--cell-limit",
                          str(CELL_LIMIT), "--interrupt-grace", str(GRACE)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=1200)
    seconds = time.time() - t0
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    with out.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    print(out.read_text(encoding="utf-8"))
    print(f"graded {len({r['student'] for r in rows})} students in {seconds:.0f} s")
    assert tuple(rows[0]) == COLUMNS
    got = {(r["student"], r["exercise"]): r for r in rows}
    assert set(got) == set(EXPECTED), sorted(set(got) ^ set(EXPECTED))
    for key, (score, status, words) in EXPECTED.items():
        row = got[key]
        assert (int(row["score"]), row["status"]) == (score, status), (key, row)
        assert words in row["message"], (key, row["message"])
        assert "\n" not in row["message"] and "Later cells use" not in row["message"]
    for key in (("loops", "0.1"), ("stuck", "0.1")):  # the limit is honoured: interrupted within a second or two
        took = float(re.search(r"interrupted after ([\d.]+) s", got[key]["message"]).group(1))
        assert EXERCISE_LIMIT <= took < EXERCISE_LIMIT + 3, got[key]["message"]
    # the submission that wrote into its working folder, out/, figures/, videos/ and data/ wrote into copies
    leaked = [str(p) for top in ROOT.iterdir() if top.name not in (".venv", ".git")
              for p in ([top] if top.name == MARKER else top.rglob(MARKER) if top.is_dir() else [])]
    assert not leaked, f"a graded submission wrote into the repository: {leaked}"
    assert "dies/00_setup.ipynb changed the copy of data/: restored" in run.stdout, run.stdout
    assert _shipped_data() == before_data, "grading changed data/"
    assert _fingerprint(subs) == before_subs, "grading changed the submissions"


def test_make_grade_runs_the_grader():
    dry = subprocess.run(["make", "-n", "grade", "SUBMISSIONS=some/folder"], cwd=ROOT, capture_output=True, text=True)
    assert "tools/grade.py some/folder" in dry.stdout, dry.stdout
