"""Run chosen code cells of a notebook in one namespace and capture what they print: how the claims tests compare
a notebook's printed numbers with their own recomputation from the raw artifacts."""

from __future__ import annotations

import contextlib
import io

import nbformat


def code_cells(path) -> list[str]:
    """The sources of the notebook's code cells, in order."""
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def cell_with(code: list[str], needle: str, start: bool = False) -> str:
    """The first code cell that contains ``needle`` (with ``start``: that begins with it)."""
    for src in code:
        if src.startswith(needle) if start else needle in src:
            return src
    raise LookupError(f"no code cell {'begins with' if start else 'contains'} {needle!r}")


def run_sources(sources: list[str], ns: dict | None = None, after: dict | None = None) -> tuple[str, dict]:
    """exec each source in one namespace (matplotlib's Agg backend, figures closed at the end); ``after`` maps a
    source's index to a function called with the namespace once it has run (to stub what the next cells use).
    Returns (what they printed, the namespace)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = {} if ns is None else ns
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for i, src in enumerate(sources):
            exec(src, ns)
            if after and i in after:
                after[i](ns)
    plt.close("all")
    return out.getvalue(), ns
