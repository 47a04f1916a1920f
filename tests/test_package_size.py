"""tools/package_size.py: its counts match what `wc -l` and the source say, and a bad commit is a clear error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tools import package_size

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "package_size.py"


def test_working_tree_lines_are_the_physical_lines_of_every_module():
    files = sorted((ROOT / "gc_helpers").rglob("*.py"))
    s = package_size.size()
    assert s["files"] == len(files)
    assert s["lines"] == sum(len(p.read_text().splitlines()) for p in files)


def test_public_names_skip_private_and_imported_names():
    text = "import os\nfrom x import y\nA = 1\n_b = 2\nc: int = 3\nd, _e = 4, 5\ndef f(): pass\nclass _G: pass\n"
    assert package_size.public_names(text) == ["A", "c", "d", "f"]


def test_a_commit_that_does_not_exist_is_named_in_the_error():
    r = subprocess.run([sys.executable, str(SCRIPT), "no-such-commit"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2
    assert "commit: 'no-such-commit' is not a commit" in r.stderr
    assert "Traceback" not in r.stderr


def test_by_notebook_series_grows_to_what_the_whole_series_reaches():
    from tools import unreached

    b = package_size.by_notebook()
    stems = [p.stem for p in unreached.notebooks()]
    assert list(b["notebooks"]) == stems and list(b["series"]) == stems
    series = list(b["series"].values())
    assert series == sorted(series), "adding a notebook never lowers what the series reaches"
    for stem in stems:
        assert 0 < b["notebooks"][stem] <= b["series"][stem] <= b["total"]
    every_root = set().union(*(unreached.notebook_roots(p) for p in unreached.notebooks()))
    assert series[-1] == unreached.reached_lines(unreached.reached(every_root))
    assert series[-1] <= unreached.reached_lines(unreached.reached())  # which also roots every exercise helper


def test_reached_lines_leave_out_unreached_definitions_only():
    from tools import unreached

    m = "gc_helpers.vectors"
    lines = len(unreached.MODULES[m].read_text().splitlines())
    defs = {k: unreached.definition_lines(node) for k, node in unreached.TOP[m].items()}
    assert unreached.reached_lines({("MOD", m)}) == lines - sum(defs.values())
    assert unreached.reached_lines({("MOD", m)} | {(m, k) for k in defs}) == lines
    assert unreached.reached_lines(set()) == 0


def test_a_module_one_notebook_alone_uses_is_reached_by_that_notebook_only():
    from tools import unreached

    paths = {p.name[:2]: p for p in unreached.notebooks()}
    only_08 = ("MOD", "gc_helpers.ladder_plots")
    assert only_08 in unreached.reached(unreached.notebook_roots(paths["08"]))
    assert only_08 not in unreached.reached(unreached.notebook_roots(paths["07"]))


def test_by_notebook_refuses_a_commit():
    r = subprocess.run([sys.executable, str(SCRIPT), "--by-notebook", "HEAD"], capture_output=True, text=True,
                       cwd=ROOT)
    assert r.returncode == 2 and "--by-notebook reads the working tree" in r.stderr
