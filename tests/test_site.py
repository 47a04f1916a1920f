"""The course website (make site, tools/site.py): built from the student notebooks executed on the class preset.

The build tests (marked ``notebook``: they execute the series once, about 3 min on 2 cores) build the working
tree's site into a temporary folder, caching the executed notebooks under out/site/executed so that `make site`
and the fresh-clone test reuse them (the cache key is the content of the student notebook, the package's sources,
data/MANIFEST.json, requirements.txt, the run times and the runner, so a clone of the same commit hits it).
They check: a page for every notebook, every internal link, anchor and image resolves, nothing needed to render
comes from the network, every video is a file beside its page under the stated size, no solution line of the
instructor notebooks appears on a page, widgets are shown as their saved state, and data/ is untouched.
``test_site_from_a_fresh_clone`` (also ``slow``) builds from a ``git clone`` of the repository: uncommitted work
is not in it.
"""

from __future__ import annotations

import functools
import hashlib
import html
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

from gc_helpers.config import project_root
from tools.runner import notebooks
from tools.site import VIDEO_LIMIT_MB, BuildError, build, section, static_page, static_widget

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::PendingDeprecationWarning")  # Sphinx's

ROOT = project_root()
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
NOTEBOOKS = notebooks()
CACHE = ROOT / "out" / "site" / "executed"


class Page(HTMLParser):
    """The links, resources and ids of one HTML page, and its text (code included, tags removed)."""

    RESOURCE = {"img": "src", "script": "src", "source": "src", "video": "src", "iframe": "src", "link": "href",
                "audio": "src", "embed": "src"}

    def __init__(self, path: Path):
        super().__init__(convert_charrefs=True)
        self.links, self.resources, self.ids, self.text = [], [], set(), []
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag in self.RESOURCE and a.get(self.RESOURCE[tag]):
            self.resources.append((tag, a[self.RESOURCE[tag]]))

    def handle_data(self, data):
        self.text.append(data)

    def words(self) -> str:
        """The page's text with runs of whitespace as one space (inline code is split into spans)."""
        return " ".join("".join(self.text).split())


def data_fingerprint(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted((root / "data").rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode() + p.read_bytes())
    return h.hexdigest()


def solution_lines(path: Path) -> list[str]:
    """Code lines inside the solution regions of an instructor notebook that the series' student versions do not
    contain anywhere (an exercise's text may quote a line), so that finding one on a page means a solution leaked."""
    nb = nbformat.read(path, as_version=4)
    student = _student_text()
    lines = []
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines():
            if "BEGIN SOLUTION" in line:
                inside = True
            elif "END SOLUTION" in line:
                inside = False
            elif inside and line.strip() and not line.strip().startswith("#") and line.strip() not in student \
                    and len(line.strip()) >= 12:
                lines.append(" ".join(line.split()))
    return lines


@functools.cache
def _student_text() -> str:
    from tools.assign import student_version

    return "\n".join(c.source for p in NOTEBOOKS for c in student_version(nbformat.read(p, as_version=4)).cells)


# ------------------------------------------------------------------------------------------------------------
# without a build: the pieces


def test_a_widget_is_shown_as_its_saved_state():
    state = {"box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_L", "IPY_MODEL_d", "IPY_MODEL_b"]}},
             "L": {"model_name": "IntSliderModel", "state": {"description": "L", "value": 200}},
             "d": {"model_name": "DropdownModel", "state": {"description": "run:", "index": 1,
                                                            "_options_labels": ["a", "ant_quad_sgd"]}},
             "b": {"model_name": "ButtonModel", "state": {"description": "run"}}}
    text = static_widget({"model_id": "box"}, state)
    assert "L = 200" in text and "run = ant_quad_sgd" in text and "make lab" in text


def test_a_widget_page_keeps_what_its_output_area_showed(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("display(w)")
    cell.outputs = [nbformat.v4.new_output("display_data", data={WIDGET_VIEW: {"model_id": "box"}})]
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), cell]
    shown = {"output_type": "stream", "name": "stdout", "text": "return 1234 at β = 0.5"}
    nb.metadata["widgets"] = {WIDGET_STATE: {"state": {
        "box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_s", "IPY_MODEL_o"]}},
        "s": {"model_name": "FloatSliderModel", "state": {"description": "β", "value": 0.5}},
        "o": {"model_name": "OutputModel", "state": {"outputs": [shown]}}}}}
    page, _ = static_page(nb, "99_x", tmp_path / "videos", "header")
    outs = page.cells[2].outputs
    assert "β = 0.5" in outs[0]["data"]["text/html"] and WIDGET_VIEW not in outs[0]["data"]
    assert outs[1]["text"] == shown["text"] and "widgets" not in page.metadata


def test_a_video_becomes_a_file_beside_the_page_and_a_large_one_is_refused(tmp_path):
    import base64

    def nb_with_video(n_bytes):
        cell = nbformat.v4.new_code_cell("video.show(path)")
        b64 = base64.b64encode(b"\0" * n_bytes).decode()
        cell.outputs = [nbformat.v4.new_output("display_data", data={
            "text/html": f'<video controls><source src="data:video/mp4;base64,{b64}" type="video/mp4"></video>'})]
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_markdown_cell("# t"), cell]
        return nb

    page, files = static_page(nb_with_video(1000), "99_x", tmp_path / "videos", "header")
    assert [f.name for f in files] == ["99_x_cell1_1.mp4"] and files[0].stat().st_size == 1000
    assert 'src="videos/99_x_cell1_1.mp4"' in page.cells[2].outputs[0]["data"]["text/html"]
    assert page.cells[1].source == "header"
    with pytest.raises(BuildError, match=r"99_x: cell 1's video is .* MB"):
        static_page(nb_with_video(int(VIDEO_LIMIT_MB * 1e6) + 1), "99_x", tmp_path / "videos", "header")


def test_a_missing_section_names_the_file():
    assert section("# T\n## A\ntext\n### sub\nmore\n## B\nx", "## A", "README.md") == "text\n### sub\nmore"
    with pytest.raises(BuildError, match=r"README.md: no heading '## Gone'"):
        section("# T\n## A\n", "## Gone", "README.md")


# ------------------------------------------------------------------------------------------------------------
# the built site


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    before = data_fingerprint(ROOT)
    out = tmp_path_factory.mktemp("site")
    report = build(ROOT, out, cache=CACHE, log=lambda *a: None)
    html_dir = out / "html"
    pages = {p.relative_to(html_dir).as_posix(): Page(p) for p in html_dir.rglob("*.html")}
    return {"html": html_dir, "pages": pages, "report": report, "data_before": before}


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_a_page_for_every_notebook(site, path):
    page = site["pages"].get(f"{path.stem}.html")
    assert page is not None, f"no page for {path.name} in {sorted(site['pages'])}"
    text = page.words()
    assert "after this notebook you can" in text.lower(), f"{path.stem}.html: no goals at the top"
    assert "Run time and where to run it" in text and "make lab" in text, f"{path.stem}.html: no run-time box"
    assert f"{path.stem}.html" in site["pages"]["index.html"].links, f"index.html does not link {path.stem}.html"


@pytest.mark.notebook
def test_generated_pages_follow_the_repository(site):
    pages = site["pages"]
    index, results, arch = (pages[p].words() for p in ("index.html", "results.html", "architecture.html"))
    readme = (ROOT / "README.md").read_text()
    teaching = (ROOT / "docs" / "teaching.md").read_text()
    first_row = next(line for line in section(teaching, "## A plan of sessions (75–90 minute lectures)",
                                              "docs/teaching.md").splitlines() if line.startswith("| 1 |"))
    assert first_row.split("|")[3].strip()[:60] in index, "index.html lacks the lecture plan of docs/teaching.md"
    assert "git clone" in index and "make lab" in index, "index.html lacks how to run locally and hosted"
    block = readme.split("<!-- results:begin -->")[1].split("<!-- results:end -->")[0]
    row = next(line for line in block.splitlines() if line.startswith("| ") and "---" not in line
               and not line.startswith("| run ") and not line.startswith("| sweep "))
    assert row.split("|")[1].strip().strip("`") in results, "results.html lacks the README's results tables"
    title = (ROOT / "docs" / "ARCHITECTURE.md").read_text().splitlines()[0].lstrip("# ").strip()
    assert title in arch, "architecture.html is not docs/ARCHITECTURE.md"


@pytest.mark.notebook
def test_every_internal_link_anchor_and_image_resolves(site):
    html_dir, pages = site["html"], site["pages"]
    broken = []
    for rel, page in pages.items():
        if rel.startswith("_static/"):
            continue  # the theme's template fragments (not pages; nothing links to them)
        here = (html_dir / rel).parent
        for kind, url in [("link", u) for u in page.links] + page.resources:
            if kind == "link" and url.startswith(("http://", "https://", "mailto:")):
                continue  # a link a reader may follow, not something the page needs to render
            parts = urlsplit(url)
            if parts.scheme == "data":
                continue
            assert not parts.scheme and not url.startswith("//"), f"{rel}: {kind} from the network: {url}"
            target = (here / unquote(parts.path)).resolve() if parts.path else html_dir / rel
            if not target.exists():
                broken.append(f"{rel}: {kind} {url}")
            elif parts.fragment and target.suffix == ".html":
                key = target.relative_to(html_dir.resolve()).as_posix()
                if key in pages and parts.fragment not in pages[key].ids:
                    broken.append(f"{rel}: anchor {url}")
    assert not broken, f"{len(broken)} broken internal links/images: {broken[:10]}"


@pytest.mark.notebook
def test_nothing_needed_to_render_comes_from_the_network(site):
    remote = [f"{rel}: <{tag}> {url}" for rel, page in site["pages"].items() for tag, url in page.resources
              if url.startswith(("http://", "https://", "//"))]
    css = [f"{p.name}: {m}" for p in site["html"].rglob("*.css")
           for m in re.findall(r"url\(\s*['\"]?((?:https?:)?//[^)'\"]+)", p.read_text(errors="replace"))]
    assert not remote and not css, f"resources from the network: {(remote + css)[:10]}"


@pytest.mark.notebook
def test_every_video_is_a_small_file_beside_its_page(site):
    videos = [(rel, url) for rel, page in site["pages"].items() for tag, url in page.resources
              if tag in ("source", "video") and url.endswith(".mp4")]
    shown = sum(bool(v) for v in site["report"]["videos"])
    assert videos and len(videos) == shown, f"{shown} videos written, {len(videos)} on the pages"
    for rel, url in videos:
        f = (site["html"] / rel).parent / url
        assert f.is_file(), f"{rel}: video {url} missing"
        assert f.stat().st_size <= VIDEO_LIMIT_MB * 1e6, f"{rel}: {url} is {f.stat().st_size / 1e6:.2f} MB"
    embedded = [rel for rel in site["pages"] if "data:video" in (site["html"] / rel).read_text()]
    assert not embedded, f"videos still embedded in {embedded}"


@pytest.mark.notebook
def test_no_solution_code_on_any_page(site):
    text = {rel: html.unescape(p.words()) for rel, p in site["pages"].items()}
    leaked = [(path.name, line, rel) for path in NOTEBOOKS for line in solution_lines(path)
              for rel, t in text.items() if line in t]
    assert sum(len(solution_lines(p)) for p in NOTEBOOKS) > 10, "no solution lines found to look for"
    assert not leaked, f"solution code on a page (notebook, line, page): {leaked[:5]}"


@pytest.mark.notebook
def test_skipped_exercises_show_their_check_messages_and_widgets_their_state(site):
    for path in NOTEBOOKS:
        text = site["pages"][f"{path.stem}.html"].words()
        nb = nbformat.read(path, as_version=4)
        if any("BEGIN SOLUTION" in c.source for c in nb.cells):
            assert "not written yet" in text, f"{path.stem}.html: no check message of a skipped exercise"
        if any("widgets." in c.source or "_widget(" in c.source for c in nb.cells if c.cell_type == "code"):
            assert "Interactive widget" in text, f"{path.stem}.html: a widget is not shown as its state"
    raw = "".join((site["html"] / rel).read_text() for rel in site["pages"])
    assert "widget-view+json" not in raw and "require.js" not in raw, "widget JavaScript left on a page"


@pytest.mark.notebook
def test_the_build_leaves_data_untouched(site):
    assert data_fingerprint(ROOT) == site["data_before"], "building the site changed data/"


@pytest.mark.notebook
def test_a_broken_notebook_stops_the_build_naming_notebook_and_cell(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# 98 · broken\n\n**After this notebook you can**\n- fail"),
                nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("y = x / 0")]
    (tmp_path / "nb").mkdir()
    nbformat.write(nb, tmp_path / "nb" / "98_broken.ipynb")
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "site.py"), "--notebooks", str(tmp_path / "nb"),
                          "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=600)
    assert run.returncode != 0, "a notebook with a failing cell built a site"
    assert re.search(r"98_broken\.ipynb: cell 2 .*ZeroDivisionError", run.stderr), run.stderr[-2000:]
    assert not (tmp_path / "out" / "html").exists()


@pytest.mark.notebook
@pytest.mark.slow
def test_site_from_a_fresh_clone(tmp_path, site):
    """A `git clone` of the repository (committed work only) builds the whole site with `tools/site.py`."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=600)
    before = data_fingerprint(clone)
    run = subprocess.run([sys.executable, "tools/site.py", "--cache", str(CACHE)], cwd=clone,
                         capture_output=True, text=True, timeout=3600)
    assert run.returncode == 0, run.stderr[-3000:]
    html_dir = clone / "out" / "site" / "html"
    for path in notebooks(clone / "notebooks"):
        assert (html_dir / f"{path.stem}.html").is_file(), f"the clone's site has no page for {path.name}"
    assert (html_dir / "index.html").is_file() and (html_dir / "results.html").is_file()
    assert data_fingerprint(clone) == before, "building the site changed the clone's data/"
    status = subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True).stdout
    assert not status.strip(), f"the build left untracked or changed files outside ignored folders: {status[:500]}"


def test_results_headings_move_up_one_level_together():
    # the README's results use ### sections with #### sub-headings; the page needs ## and ### (no level skipped)
    from tools.site import _promote

    assert _promote("### Tables\n\ntext #### not a heading\n\n#### `run`, refined\n") == \
        "## Tables\n\ntext #### not a heading\n\n### `run`, refined\n"
