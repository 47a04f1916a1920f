"""The README's results section holds exactly what the shipped artifacts say (tools/report.py)."""

from tools import report


def test_readme_results_match_the_artifacts():
    expected = report.results_markdown().strip("\n")
    assert report.readme_block() == expected, (
        "README results differ from data/: run `.venv/bin/python tools/report.py --write`")


def test_readme_names_the_two_commands():
    text = (report.project_root() / "README.md").read_text()
    assert "make run" in text and "make test" in text
