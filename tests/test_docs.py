"""The docs match the code: docs/ARCHITECTURE.md and the README's package section name every public module of
gc_helpers and only modules that exist; nothing cites files outside the repository."""

import re
import subprocess

import pytest

from gc_helpers.config import project_root

ROOT = project_root()


def public_modules() -> set[str]:
    """Dotted names of gc_helpers' modules and subpackages, without private (_x) ones and without __init__."""
    names = set()
    for p in (ROOT / "gc_helpers").rglob("*.py"):
        rel = p.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if len(parts) > 1 and not any(part.startswith("_") for part in parts):
            names.add(".".join(parts[1:]))
    return names


def named_modules(text: str) -> set[str]:
    """Module names a document mentions as `gc_helpers/a/b.py`, `gc_helpers.a.b` or `a/b.py` inside backticks."""
    found = set(re.findall(r"gc_helpers[./]([A-Za-z0-9_./]+?)(?:\.py)?(?=[`\s),:;]|$)", text))
    found |= {m for m in re.findall(r"`([a-z0-9_]+(?:/[a-z0-9_]+)*)(?:\.py)?/?`", text)}
    return {m.strip("./").replace("/", ".") for m in found if m}


@pytest.mark.parametrize("doc", ["docs/ARCHITECTURE.md", "README.md"])
def test_every_public_module_is_named(doc):
    text = (ROOT / doc).read_text()
    missing = sorted(m for m in public_modules() if m not in named_modules(text))
    assert not missing, f"{doc} does not name these modules of gc_helpers: {missing}"


def test_architecture_names_only_modules_that_exist():
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    mentioned = set(re.findall(r"gc_helpers[./]([A-Za-z0-9_./]+?)(?:\.py)?(?=[`\s),:;]|$)", text))
    def exists(name: str) -> bool:  # a module or package, possibly followed by one attribute (a function)
        parts = name.replace("/", ".").split(".")
        for k in (len(parts), len(parts) - 1):
            stem = ROOT / "gc_helpers" / "/".join(parts[:k])
            if k and (stem.with_suffix(".py").is_file() or stem.is_dir()):
                return True
        return False

    gone = sorted(m for m in mentioned if not exists(m))
    assert not gone, f"docs/ARCHITECTURE.md names modules that do not exist: {gone}"


def test_nothing_cites_files_outside_the_repository():
    hits = subprocess.run(["git", "grep", "-lE", r"DESIGN\.md|\.\./shared"], cwd=ROOT, capture_output=True,
                          text=True).stdout.split()
    assert not hits, f"these files cite files outside the repository: {hits}"
