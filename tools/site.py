"""The course website (``make site``): the student notebooks, executed on the class preset, rendered by Sphinx.

    python tools/site.py                       # build out/site/html (index.html is the landing page)
    python tools/site.py --out DIR             # build somewhere else (the tests do)
    python tools/site.py --cache DIR           # reuse executed notebooks from DIR (another build's cache)

Steps, all from the repository's own files at build time (nothing is copied by hand, so nothing drifts):

1. every ``notebooks/NN_*.ipynb`` (found by glob) is turned into its student version (``tools/assign.py``:
   solutions removed, checks kept) and executed headless on the class preset with the exercise checks in report
   mode, exactly as a student who skipped the exercises would see it (``tools/runner.py``). An executed copy is
   cached under ``<out>/executed/`` by a hash of the student notebook, the preset, the package's sources,
   ``data/MANIFEST.json``, ``requirements.txt``, the measured run times and the runner: a rebuild with none of
   them changed reuses it. A cell that
   raises stops the build with the notebook and the cell named.
2. the executed notebooks are prepared for a static page: each embedded mp4 becomes a file beside the page
   (``videos/``, at most ``VIDEO_LIMIT_MB`` each), each widget shows the state the executed notebook left it in
   with one line saying where it runs live, and a box under the goals gives the measured run time.
3. the landing page (README's introduction and run instructions, the lecture plan of docs/teaching.md, the
   course table), the results page (README's generated results section) and the architecture page
   (docs/ARCHITECTURE.md) are written as MyST markdown.
4. Sphinx (site/conf.py: myst-nb, no notebook execution, no intersphinx, MathJax served from the site, no widget
   JavaScript from a CDN) renders ``<out>/src`` to ``<out>/html`` with warnings as errors, so a broken internal
   link or image fails the build.

Nothing is written under data/; the notebooks' own figures and videos go where they always go (figures/, videos/).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python tools/site.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import nbformat  # noqa: E402

PRESET = "class"
VIDEO_LIMIT_MB = 2.0  # each video file beside a page: small enough to load on a phone
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
_MP4 = re.compile(r'src="data:video/mp4;base64,([A-Za-z0-9+/=\s]+)"')
EXECUTION_VERSION = "1"  # bump when the way notebooks are executed for the site changes


class BuildError(RuntimeError):
    """The site cannot be built; the message names the file (and cell) at fault."""


# ------------------------------------------------------------------------------------------------------------
# 1 · student notebooks, executed (or reused)


def _tree_hash(root: Path) -> str:
    """sha256 over what an execution depends on besides the notebook: the package's sources, the shipped data's
    manifest (checksums of every file), the pins, the measured run times (the banner prints them), the runner."""
    h = hashlib.sha256(EXECUTION_VERSION.encode())
    files = sorted((root / "gc_helpers").rglob("*.py")) + [
        root / "data" / "MANIFEST.json", root / "requirements.txt", root / "bench" / "results" / "notebook_times.json",
        root / "tools" / "runner.py"]
    for f in files:
        if f.is_file():
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def cell_error(nb) -> tuple[int, str, str] | None:
    """(cell index, first source line, "ErrorName: message") of the first cell with an error output, or None."""
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                first = next((line for line in cell.source.splitlines() if line.strip()), "")
                return i, first, f"{out.get('ename')}: {out.get('evalue')}"
    return None


def execute_student(path: Path, root: Path, work: Path, cache: Path, preset: str = PRESET,
                    cell_timeout: int = 600) -> tuple[nbformat.NotebookNode, bool]:
    """The student version of notebook ``path`` executed on ``preset``; (notebook, reused from the cache)."""
    from tools.assign import solution_lines, student_version
    from tools.runner import execute

    student = student_version(nbformat.read(path, as_version=4))
    if solution_lines(student):
        raise BuildError(f"{path}: solution markers left after clearing: {solution_lines(student)[:3]}")
    text = nbformat.writes(student)
    key = hashlib.sha256((text + preset + _tree_hash(root)).encode()).hexdigest()[:16]
    cached = cache / f"{path.stem}-{key}.ipynb"
    if cached.is_file():
        return nbformat.read(cached, as_version=4), True
    work.mkdir(parents=True, exist_ok=True)
    src = work / path.name
    src.write_text(text)
    partial = work / f"{path.stem}.executed.ipynb"
    try:
        nb = execute(src, partial, timeout=cell_timeout, preset=preset, strict_checks=False)
    except Exception as err:
        where = cell_error(nbformat.read(partial, as_version=4)) if partial.is_file() else None
        if where:
            i, first, what = where
            raise BuildError(f"{path}: cell {i} (0-based; it starts with {first!r}) raised {what}") from None
        raise BuildError(f"{path}: execution failed ({type(err).__name__}: {str(err)[-500:]})") from None
    where = cell_error(nb)
    if where:  # an error output without an exception (allow_errors): still a broken page
        raise BuildError(f"{path}: cell {where[0]} (0-based; it starts with {where[1]!r}) raised {where[2]}")
    cache.mkdir(parents=True, exist_ok=True)
    for old in cache.glob(f"{path.stem}-*.ipynb"):
        old.unlink()
    tmp = cached.with_suffix(".tmp")
    nbformat.write(nb, tmp)
    os.replace(tmp, cached)
    return nb, False


# ------------------------------------------------------------------------------------------------------------
# 2 · a static page from an executed notebook


def _widget_label(model_id: str, state: dict, depth: int = 0) -> list[str]:
    """"description = value" for each control under the widget model ``model_id`` (boxes are walked)."""
    model = state.get(model_id)
    if model is None or depth > 20:
        return []
    s = model.get("state", {})
    children = [c.removeprefix("IPY_MODEL_") for c in s.get("children", []) if isinstance(c, str)]
    if children:
        return [label for c in children for label in _widget_label(c, state, depth + 1)]
    name = model.get("model_name", "")
    desc = (s.get("description") or "").rstrip(": ") or name.removesuffix("Model")
    if "index" in s and "_options_labels" in s:
        index = s["index"]
        labels = s["_options_labels"]
        value = labels[index] if isinstance(index, int) and 0 <= index < len(labels) else "–"
    elif "value" in s and name not in ("HTMLModel", "HTMLMathModel", "LabelModel", "OutputModel"):
        value = s["value"]
    elif name == "ButtonModel":
        return [f"button “{desc}”"]
    else:
        return []
    return [f"{desc} = {value}"]


def widget_outputs(model_id: str, state: dict, depth: int = 0) -> list[dict]:
    """What the ``Output`` widgets under ``model_id`` showed when the notebook was saved (figures, text), in order."""
    model = state.get(model_id)
    if model is None or depth > 20:
        return []
    s = model.get("state", {})
    if model.get("model_name") == "OutputModel":
        return [nbformat.from_dict(o) for o in s.get("outputs", []) if isinstance(o, dict)]
    children = [c.removeprefix("IPY_MODEL_") for c in s.get("children", []) if isinstance(c, str)]
    return [o for c in children for o in widget_outputs(c, state, depth + 1)]


def static_widget(view: dict, state: dict) -> str:
    """HTML standing in for a live widget: its controls as the executed notebook left them, and where it runs."""
    controls = _widget_label(view.get("model_id", ""), state)
    shown = " · ".join(html.escape(str(c)) for c in controls) or "its default settings"
    return (f'<div class="gc-widget"><p><strong>Interactive widget</strong>, shown as the executed notebook left it: '
            f'{shown}. It runs live in <code>make lab</code> (or any Jupyter); a static page has no kernel.</p></div>')


def static_page(nb, stem: str, videos: Path, header: str) -> tuple[nbformat.NotebookNode, list[Path]]:
    """A copy of executed notebook ``nb`` for the site: videos to files under ``videos/``, widgets as their
    state, ``header`` (markdown) inserted after the first markdown cell. Returns (notebook, video files)."""
    nb = nbformat.from_dict(nb)
    state = nb.metadata.pop("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    written: list[Path] = []
    for i, cell in enumerate(nb.cells):
        outputs = []
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get(WIDGET_VIEW)
            outputs.append(out)
            if view:  # the note, then what the widget's Output areas showed
                out["data"] = {"text/html": static_widget(view, state),
                               "text/plain": "interactive widget (runs live in make lab)"}
                outputs += widget_outputs(view.get("model_id", ""), state)
        if cell.cell_type == "code":
            cell.outputs = outputs
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            page = data.get("text/html")
            if page is None:
                continue
            page = "".join(page) if isinstance(page, list) else page

            def to_file(match, i=i):
                raw = base64.b64decode("".join(match.group(1).split()))
                path = videos / f"{stem}_cell{i}_{len(written) + 1}.mp4"
                if len(raw) > VIDEO_LIMIT_MB * 1e6:
                    raise BuildError(f"{stem}: cell {i}'s video is {len(raw) / 1e6:.1f} MB, over the "
                                     f"{VIDEO_LIMIT_MB} MB a phone should load; make it shorter or smaller")
                videos.mkdir(parents=True, exist_ok=True)
                path.write_bytes(raw)
                written.append(path)
                return f'src="videos/{path.name}"'

            new = _MP4.sub(to_file, page)
            if new != page:
                data["text/html"] = new.replace("<video", '<video preload="metadata"', 1) \
                    if "preload=" not in new else new
    first_md = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"), -1)
    nb.cells.insert(first_md + 1, nbformat.v4.new_markdown_cell(header))
    return nb, written


def _seconds(t) -> str:
    if t is None:
        return "–"
    return f"{t / 60:.1f} min" if t >= 90 else f"{t:.0f} s" if t >= 10 else f"{t:.1f} s" if t >= 1 else f"{t:.2f} s"


def run_time_box(stem: str) -> str:
    """The box under a page's goals: measured run times (bench/results/notebook_times.json) and how to run it."""
    from gc_helpers.course import measured_times
    from tools.course_table import slowest

    times = measured_times(stem)
    cell, update = slowest(stem)
    measured = (f"class preset **{_seconds(times.get('class'))}** (slowest cell {_seconds(cell)}, slowest widget "
                f"update {_seconds(update)}), fast preset {_seconds(times.get('fast'))}" if times
                else "not measured yet (`make times`)")
    return ("```{admonition} Run time and where to run it\n"
            f"Measured on 2 cores with `make times`: {measured}.\n"
            "This page is the student version executed on the class preset: exercise cells as handed out "
            "(solutions removed) with the message each check prints while the exercise is not written yet. "
            "Run it yourself with `make lab`, or in a hosted notebook ([how](index.md#run-it)).\n```\n")


# ------------------------------------------------------------------------------------------------------------
# 3 · pages generated from the repository's markdown


def section(text: str, heading: str, source: str) -> str:
    """The markdown under ``heading`` (a full heading line, e.g. "## In class") up to the next heading of the same
    or a higher level; BuildError naming ``source`` if the heading is missing."""
    lines = text.splitlines()
    level = len(heading) - len(heading.lstrip("#"))
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == heading)
    except StopIteration:
        raise BuildError(f"{source}: no heading {heading!r} (the site takes that section from it)") from None
    end = next((j for j in range(start + 1, len(lines)) if re.match(rf"#{{1,{level}}}\s", lines[j])
                and not _in_fence(lines, j)), len(lines))
    return "\n".join(lines[start + 1:end]).strip("\n")


def _in_fence(lines, j) -> bool:
    return sum(line.lstrip().startswith("```") for line in lines[:j]) % 2 == 1


def between(text: str, begin: str, end: str, source: str) -> str:
    if begin not in text or end not in text:
        raise BuildError(f"{source}: no generated block {begin} … {end}")
    return text.split(begin, 1)[1].split(end, 1)[0].strip("\n")


def _intro(readme: str) -> tuple[str, str]:
    lines = readme.splitlines()
    title = lines[0].lstrip("# ").strip()
    body = "\n".join(lines[1:next(i for i, line in enumerate(lines) if line.startswith("## "))]).strip()
    return title, body


def landing_page(root: Path, stems: list[str]) -> str:
    readme = (root / "README.md").read_text()
    teaching = (root / "docs" / "teaching.md").read_text()
    title, intro = _intro(readme)
    table = between(readme, "<!-- course:begin -->", "<!-- course:end -->", "README.md")
    table = re.sub(r"^\| `(\d\d_[A-Za-z0-9_]+)` \|", lambda m: f"| [{m.group(1)}]({m.group(1)}.ipynb) |"
                   if m.group(1) in stems else m.group(0), table, flags=re.M)
    plan = section(teaching, "## A plan of sessions (75–90 minute lectures)", "docs/teaching.md")
    parts = [
        f"# {title}", intro,
        "## The notebooks",
        "Each page is a notebook of the series executed on the class preset, as a student receives it (exercise "
        "solutions removed). Figures and videos are inline; an interactive widget is shown as the executed "
        "notebook left it and runs live in `make lab`. Goals and measured run times (2 cores):",
        table,
        "## The lecture plan", plan,
        "(run-it)=\n## Run it",
        "### Two commands (from a fresh clone)", section(readme, "## Two commands (from a fresh clone)", "README.md"),
        "### In class", _shell_fences(_demote(section(readme, "## In class", "README.md"))),
        "## More",
        "- [Results](results.md): the tables generated from the shipped artifacts in `data/`.\n"
        "- [Architecture](architecture.md): how the package, the notebooks and the tools fit together.",
        "```{toctree}\n:hidden:\n:caption: Notebooks\n\n" + "\n".join(stems) + "\n```",
        "```{toctree}\n:hidden:\n:caption: Reference\n\nresults\narchitecture\n```",
    ]
    return "\n\n".join(parts) + "\n"


def _shell_fences(md: str) -> str:
    """A ```python fence with lines starting with ! or % (IPython shell commands, magics) is shown as text."""
    def fix(m):
        body = m.group(2)
        return f"```text\n{body}```" if any(line.lstrip().startswith(("!", "%")) for line in body.splitlines()) \
            else m.group(0)
    return re.sub(r"```(python)\n(.*?)```", fix, md, flags=re.S)


def _demote(md: str) -> str:
    """One heading level down (a README ### under a site ### becomes ####), outside code fences."""
    lines, out = md.splitlines(), []
    for j, line in enumerate(lines):
        out.append("#" + line if re.match(r"#+\s", line) and not _in_fence(lines, j) else line)
    return "\n".join(out)


def results_page(root: Path) -> str:
    readme = (root / "README.md").read_text()
    intro = section(readme, "## Results", "README.md").split("<!-- results:begin -->")[0].strip()
    intro = intro.replace("Generated from the shipped artifacts by", "Generated (in the README) from the shipped "
                          "artifacts by")
    block = between(readme, "<!-- results:begin -->", "<!-- results:end -->", "README.md")
    return f"# Results\n\n{intro}\n\n{_promote(block)}\n"


def _promote(md: str) -> str:
    """Every heading of the README's results one level up: its ### sections become ## sections of the results page
    and their #### sub-headings ###, so the levels stay consecutive."""
    return re.sub(r"^#(#{2,}\s)", r"\1", md, flags=re.M)


def architecture_page(root: Path) -> str:
    return (root / "docs" / "ARCHITECTURE.md").read_text()


# ------------------------------------------------------------------------------------------------------------
# 4 · the build


def build(root: Path, out: Path, cache: Path | None = None, notebooks_dir: Path | None = None,
          preset: str = PRESET, log=print) -> dict:
    """Build the site of the repository at ``root`` into ``out``/html; returns what was built and how long it took.

    ``notebooks_dir`` (default ``root``/notebooks) is where the NN_*.ipynb are found; ``cache`` (default
    ``out``/executed) holds executed notebooks for reuse."""
    from tools.runner import notebooks

    t0 = time.perf_counter()
    root, out = Path(root).resolve(), Path(out).resolve()
    data = root / "data"
    if out == data or data in out.parents:
        raise BuildError(f"out={out}: the site is never built under data/")
    cache = Path(cache).resolve() if cache else out / "executed"
    paths = notebooks(Path(notebooks_dir) if notebooks_dir else root / "notebooks")
    if not paths:
        raise BuildError(f"{notebooks_dir or root / 'notebooks'}: no NN_*.ipynb notebook to build a site from")
    saved = {k: os.environ.get(k) for k in ("GC_ROOT", "PYTHONPATH", "GC_PRESET", "GC_CHECKS", "GC_FAST")}
    # the kernels import this tree's package and find data/ (and write figures/, videos/) in this tree
    os.environ["GC_ROOT"] = str(root)
    os.environ["PYTHONPATH"] = os.pathsep.join([str(root), *filter(None, [saved["PYTHONPATH"]])])
    try:
        return _build(root, out, cache, paths, preset, log, t0)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _build(root: Path, out: Path, cache: Path, paths: list[Path], preset: str, log, t0: float) -> dict:
    src, html_dir = out / "src", out / "html"
    for old in (src, html_dir):  # a failed build leaves no stale site behind
        if old.exists():
            shutil.rmtree(old)
    shutil.copytree(root / "site", src)
    videos = src / "_extra" / "videos"
    report = {"preset": preset, "commit": _commit(root), "notebooks": {}, "videos": {}}
    for path in paths:
        t = time.perf_counter()
        nb, reused = execute_student(path, root, out / "student", cache, preset)
        log(f"{path.name}: {'reused the executed copy' if reused else 'executed'} "
            f"({time.perf_counter() - t:.1f} s)")
        page, files = static_page(nb, path.stem, videos, run_time_box(path.stem))
        nbformat.write(page, src / path.name)
        report["notebooks"][path.stem] = {"reused": reused, "videos": [f.name for f in files]}
        report["videos"].update({f.name: f.stat().st_size for f in files})
    stems = [p.stem for p in paths]
    (src / "index.md").write_text(landing_page(root, stems))
    (src / "results.md").write_text(results_page(root))
    (src / "architecture.md").write_text(architecture_page(root))
    t_sphinx = time.perf_counter()
    _sphinx(src, html_dir, out / "doctrees")
    report["sphinx_seconds"] = round(time.perf_counter() - t_sphinx, 1)
    report["build_seconds"] = round(time.perf_counter() - t0, 1)
    report["site_bytes"] = sum(f.stat().st_size for f in html_dir.rglob("*") if f.is_file())
    (out / "build.json").write_text(json.dumps(report, indent=1) + "\n")
    return report


def _commit(root: Path) -> str | None:
    """The commit the site is built from ("+ changes" if the work tree differs from it), or None outside git."""
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              timeout=30)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if head.returncode:
        return None
    return head.stdout.strip() + (" + changes" if dirty.stdout.strip() else "")


def _sphinx(src: Path, html_dir: Path, doctrees: Path) -> None:
    from sphinx.cmd.build import build_main

    args = ["-b", "html", "-q", "-W", "--keep-going", "-E", "-d", str(doctrees), str(src), str(html_dir)]
    if build_main(args) != 0:
        raise BuildError(f"Sphinx failed on {src} (the warnings above name the page and line)")


def main(argv=None) -> int:
    from gc_helpers.config import project_root

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=None, help="the repository to build from (default: this one)")
    ap.add_argument("--out", default=None, help="build folder (default: <root>/out/site)")
    ap.add_argument("--cache", default=None, help="executed notebooks to reuse (default: <out>/executed)")
    ap.add_argument("--notebooks", default=None, help="folder of NN_*.ipynb (default: <root>/notebooks)")
    args = ap.parse_args(argv)
    root = Path(args.root).resolve() if args.root else Path(__file__).resolve().parents[1]
    if not (root / "site" / "conf.py").is_file():
        root = project_root()
    out = Path(args.out) if args.out else root / "out" / "site"
    try:
        report = build(root, out, args.cache, args.notebooks)
    except BuildError as err:
        print(f"make site: {err}", file=sys.stderr)
        return 1
    size = report["site_bytes"] / 1e6
    largest = max(report["videos"].items(), key=lambda kv: kv[1], default=("–", 0))
    print(f"site: {out / 'html' / 'index.html'}\n  {len(report['notebooks'])} notebook pages, "
          f"{len(report['videos'])} videos (largest {largest[0]}: {largest[1] / 1e6:.2f} MB, limit "
          f"{VIDEO_LIMIT_MB} MB), {size:.1f} MB in all; built in {report['build_seconds']:.0f} s "
          f"(Sphinx {report['sphinx_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
