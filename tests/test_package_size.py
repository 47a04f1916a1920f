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
