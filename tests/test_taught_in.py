"""Every "Taught in notebooks/NN_x.ipynb, §k Title" tag of the package names a section heading that exists in that
notebook: §k must be the number of one of its "## k · Title" headings (a named §Exercises must be a heading), and a
title after the number must agree with that heading's title. The tags cannot drift from the notebooks unseen."""

import json
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PATH = re.compile(r"notebooks/(\d\d_\w+)\.ipynb")
REF = re.compile(r"§\s?(\d+[a-z]?|[A-Z][A-Za-z]+)((?:\s*[–-]\s*§?\s?\d+[a-z]?)?)")
HEADING = re.compile(r"^#{2,4}\s+(?:(\d+[a-z]?)\s*·\s*)?(.+?)\s*$")


@cache
def headings(stem: str) -> tuple[dict[str, str], tuple[str, ...]]:
    """({section number: title} of "## k · Title" headings, every heading's title) of notebooks/<stem>.ipynb."""
    path = ROOT / "notebooks" / f"{stem}.ipynb"
    if not path.is_file():
        return {}, ()
    numbered, titles = {}, []
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        for line in "".join(cell["source"]).splitlines():
            m = HEADING.match(line) if line.startswith("#") else None
            if m:
                if m.group(1):
                    numbered.setdefault(m.group(1), m.group(2))
                titles.append(m.group(2))
    return numbered, tuple(titles)


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def tags(text: str):
    """(notebook stem, section, title or "", range end or "") for each § reference that follows a notebook path,
    up to the next path, the end of the docstring or a blank line."""
    paths = list(PATH.finditer(text))
    for i, m in enumerate(paths):
        end = paths[i + 1].start() if i + 1 < len(paths) else len(text)
        seg = text[m.end():end]
        seg = re.split(r'"""|\n\s*\n', seg, maxsplit=1)[0]
        for r in REF.finditer(seg):
            after = " ".join(seg[r.end():].split())
            title = ""
            if r.group(1)[0].isdigit() and not r.group(2):
                t = re.match(r"([A-Z][^:,.;()§\n]*)", after)
                title = t.group(1).strip() if t else ""
            yield m.group(1), r.group(1), title, re.sub(r"[^\da-z]", "", r.group(2))


SHORT = re.compile(r"\b(\d\d)\s+§\s?(\d+[a-z]?)")


def short_tags(text: str):
    """(notebook stem, section, "", "") for the short form "notebook 04 §4" / "(02 §4 and 06 §5)"."""
    for m in SHORT.finditer(text):
        stems = sorted((ROOT / "notebooks").glob(f"{m.group(1)}_*.ipynb"))
        yield (stems[0].stem if stems else f"{m.group(1)}_(missing)"), m.group(2), "", ""


def problems_in(where: str, text: str) -> list[str]:
    out = []
    for stem, section, title, until in [*tags(text), *short_tags(text)]:
        numbered, titles = headings(stem)
        if not titles:
            out.append(f"{where}: notebooks/{stem}.ipynb does not exist")
        elif section[0].isdigit():
            for s in [section] + ([until] if until else []):
                if s not in numbered:
                    out.append(f"{where}: notebooks/{stem}.ipynb has no section §{s} (it has §{', §'.join(numbered)})")
            if title and section in numbered:
                a, b = _norm(title), _norm(numbered[section])
                if not (b.startswith(a) or a.startswith(b)):
                    out.append(f"{where}: §{section} of notebooks/{stem}.ipynb is \"{numbered[section]}\", "
                               f"not \"{title}\"")
        elif not any(_norm(t).startswith(_norm(section)) for t in titles):
            out.append(f"{where}: notebooks/{stem}.ipynb has no heading \"{section}\"")
    return out


FILES = sorted([*(ROOT / "gc_helpers").rglob("*.py"), *(ROOT / "gc_research").glob("*.py"),
                *(ROOT / "tools").glob("*.py")])


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_taught_in_tags_name_existing_sections(path):
    problems = problems_in(str(path.relative_to(ROOT)), path.read_text())
    assert not problems, "\n".join(problems)


def test_the_tags_are_found_and_a_wrong_one_fails():
    assert sum(1 for p in FILES for _ in tags(p.read_text())) > 100, "the tag pattern no longer finds the tags"
    assert problems_in("x", "Taught in notebooks/05_line_search_decompression.ipynb, §2 The line search.") == []
    assert problems_in("x", "Taught in notebooks/05_line_search_decompression.ipynb, §99.")
    assert problems_in("x", "Taught in notebooks/05_line_search_decompression.ipynb, §2 Watch it.")
    assert problems_in("x", "Taught in notebooks/06_ppo.ipynb, §1–§9.")
    assert problems_in("x", "Taught in notebooks/01_policy_gradient.ipynb, §Nonsense.")
    assert problems_in("x", "Taught in notebooks/00_setup.ipynb, §Exercises.") == []
    assert problems_in("x", "(notebooks 02 §4 and 06 §9)") and not problems_in("x", "(notebooks 02 §4 and 06 §5)")
