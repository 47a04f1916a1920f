"""Sphinx configuration of the course website (built by tools/site.py, `make site`; see docs/ARCHITECTURE.md).

tools/site.py copies this folder to out/site/src, adds the generated pages and the executed student notebooks,
and runs Sphinx with warnings as errors. Everything a page needs is served by the site itself: no intersphinx,
MathJax from sphinx-mathjax-offline, no widget JavaScript (widgets are shown as their saved state).
"""

from pathlib import Path

project = "Gradient compression: a course on policy gradients"
author = "the course's authors"
copyright = "the course's authors"

extensions = ["myst_nb", "sphinx-mathjax-offline"]
exclude_patterns = ["_build", "_extra", "**.ipynb_checkpoints"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}

# the notebooks arrive executed (tools/site.py runs them, caches them, and names a failing cell)
nb_execution_mode = "off"
nb_ipywidgets_js = {}  # no require.js / widget manager from a CDN
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
suppress_warnings = ["mystnb.unknown_mime_type"]

html_theme = "sphinx_book_theme"
html_title = "Gradient compression"
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": False,
    "use_fullscreen_button": False,
    "home_page_in_toc": True,
    "navigation_with_keys": False,
}
html_static_path = ["_static"]
html_css_files = ["site.css"]
html_extra_path = [p for p in ["_extra"] if (Path(__file__).parent / p).is_dir()]  # videos/ beside the pages
html_copy_source = False
html_show_sourcelink = False
html_last_updated_fmt = None
html_favicon = "_static/favicon.svg"  # served by the site (a browser otherwise asks for /favicon.ico)
# the theme logs a console error on a reader's first visit when no colour mode is set: set one
html_context = {"default_mode": "auto"}
