"""Figures shared by the notebooks; every saved figure goes to figures/<name>.png (see README)."""

from __future__ import annotations

import re

from .config import figure_dir


def savefig(fig, name: str, dpi: int = 110):
    """Save ``fig`` as figures/<name>.png and return the path (name: letters, digits, '_', '-')."""
    if not re.fullmatch(r"[A-Za-z0-9_\-]+", name or ""):
        raise ValueError(f"name={name!r}: use letters, digits, '_' or '-' only")
    out = figure_dir()
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.png"
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path
