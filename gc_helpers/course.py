"""What every notebook session needs around its lesson (notebooks/00_setup.ipynb, §Presets): the banner with the
preset and the measured run times, live widget updates that are timed, and progress that survives save/reopen.

- ``banner(name)`` prints the active preset and this notebook's run time per preset as measured by
  ``bench/notebook_times.py`` (``make times``), read from bench/results/notebook_times.json.
- ``timed_update(label)`` wraps a widget's update function; with ``GC_WIDGET_TIMES=<file>`` (set by the bench
  script) each update's duration is appended to that file, so the bench can report updates slower than 3 s.
- ``progress(total, desc)`` is a progress bar that, once closed, leaves plain text in the notebook instead of a
  widget whose model is gone after the notebook is saved and reopened.
"""

from __future__ import annotations

import functools
import json
import os
import time
from pathlib import Path

from .config import preset_name, project_root

TIMES_FILE = Path("bench") / "results" / "notebook_times.json"
WIDGET_TIMES_ENV = "GC_WIDGET_TIMES"


def times_table() -> dict:
    """{preset: {notebook: measured row}} from bench/results/notebook_times.json (written by `make times`)."""
    path = project_root() / TIMES_FILE
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err}); rerun `make times` to rewrite it") from None


def measured_times(name: str) -> dict:
    """{preset: seconds} for notebook ``name`` (e.g. "03_cem_compression") from the last ``make times`` runs."""
    return {preset: rows[name]["total_seconds"] for preset, rows in times_table().items() if name in rows}


def banner(name: str) -> str:
    """Print (and return) the preset line every notebook starts with."""
    times = measured_times(name)
    measured = ", ".join(f"{p} {t / 60:.1f} min" if t >= 90 else f"{p} {t:.0f} s" for p, t in sorted(times.items()))
    text = (f"preset: {preset_name()} (GC_PRESET = fast | class | full). Measured run time of this notebook on "
            f"2 cores: {measured or 'not measured yet (make times)'}.")
    print(text)
    return text


def timed_update(label: str):
    """Decorator for a widget's update function: records how long each update takes (see module doc)."""

    def wrap(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                path = os.environ.get(WIDGET_TIMES_ENV)
                if path:
                    with open(path, "a") as f:
                        f.write(json.dumps({"label": label, "cwd": os.getcwd(),
                                            "seconds": time.perf_counter() - t0}) + "\n")

        return run

    return wrap


def in_notebook() -> bool:
    """True inside a Jupyter kernel (not a terminal or a plain script)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in shell.config


class progress:
    """A progress bar for notebooks and terminals; on close, a notebook shows one line of text in its place.

    Use as ``with progress(total, "compress") as bar: ... bar.update(n, postfix="cos 0.71")``. In a notebook the
    bar is an ipywidgets progress bar in a display slot that is replaced by the summary text when it closes."""

    def __init__(self, total: int, desc: str = ""):
        self.desc, self.total, self.n, self.postfix = desc, int(total), 0, ""
        self.t0 = time.perf_counter()
        self._bar = self._handle = None
        if in_notebook():
            import ipywidgets as w
            from IPython.display import display

            self._bar = w.IntProgress(value=0, min=0, max=max(self.total, 1), description=desc[:20])
            self._label = w.Label(f"0/{self.total}")
            self._box = w.HBox([self._bar, self._label])
            self._handle = display(self._box, display_id=True)
        else:
            from tqdm import tqdm

            self._tqdm = tqdm(total=self.total, desc=desc)

    def update(self, n: int = 1, postfix: str | None = None):
        self.n += n
        self.postfix = postfix or self.postfix
        if self._bar is not None:
            self._bar.value = min(self.n, self._bar.max)
            self._label.value = f"{self.n}/{self.total} {self.postfix}"
        else:
            self._tqdm.update(n)
            if postfix:
                self._tqdm.set_postfix_str(postfix)

    def close(self):
        summary = (f"{self.desc}: {self.n}/{self.total} in {time.perf_counter() - self.t0:.1f} s"
                   + (f" ({self.postfix})" if self.postfix else ""))
        if self._bar is None:
            self._tqdm.close()
            return
        from IPython.display import Pretty

        self._handle.update(Pretty(summary))  # the widget view leaves the saved notebook
        self._box.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
