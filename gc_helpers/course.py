"""What every notebook session needs around its lesson (notebooks/00_setup.ipynb, §Presets): the banner with the
preset and the measured run times, live widget updates that are timed, and progress that survives save/reopen.

- ``banner(name)`` prints the active preset and this notebook's run time per preset as measured by
  ``bench/notebook_times.py`` (``make times``), read from bench/results/notebook_times.json.
- ``timed_update(label)`` wraps a widget's update function; with ``GC_WIDGET_TIMES=<file>`` (set by the bench
  script) each update's duration is appended to that file, so the bench can report updates slower than 3 s.
- ``output_to(out)`` shows what a widget update prints and plots in an ipywidgets ``Output``, set by the kernel
  in one assignment: the front end is asked nothing, so a headless run (``jupyter nbconvert --execute``) never
  waits on it (see the function).
- ``progress(total, desc)`` is a progress bar that, once closed, leaves plain text in the notebook instead of a
  widget whose model is gone after the notebook is saved and reopened.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import time
import traceback
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


@contextlib.contextmanager
def output_to(out):
    """Show what the block prints and displays (figures too) in the ipywidgets ``Output`` ``out``, replacing what
    it showed: ``with course.output_to(out): ...`` in every widget update of the series.

    Why not ``with out: out.clear_output(wait=True)``: that pattern asks the front end to capture each output,
    and nbclient (``jupyter nbconvert --execute``, which emulates the Output widget) answers every captured output
    with a message on the shell socket while it waits on that socket for the cell's reply. When the reply arrives
    during such a send, the send consumes the socket's wake-up and nbclient sleeps until the cell timeout (the
    kernel idle). Here the kernel collects the outputs itself, in order, and sets ``out.outputs`` once at the end:
    the front end only receives a widget state. An error in the block is shown in ``out`` and raised again.
    Outside a notebook the block just runs (prints go to the terminal).
    Taught in notebooks/00_setup.ipynb, §6 Widget: where does a return come from?"""
    from IPython import get_ipython

    shell = get_ipython()
    if not in_notebook() or shell is None:
        yield
        return
    from IPython.core.displaypub import DisplayPublisher

    items: list[dict] = []

    class Stream:
        def __init__(self, name):
            self.name = name

        def write(self, text):
            if text:
                if items and items[-1]["output_type"] == "stream" and items[-1]["name"] == self.name:
                    items[-1]["text"] += text
                else:
                    items.append({"output_type": "stream", "name": self.name, "text": str(text)})
            return len(text)

        def flush(self):
            pass

        def isatty(self):
            return False

    class Publisher(DisplayPublisher):
        def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
            items.append({"output_type": "display_data", "data": data, "metadata": metadata or {}})

        def clear_output(self, wait=False):
            items.clear()

    sys.stdout.flush()
    sys.stderr.flush()
    saved = sys.stdout, sys.stderr, shell.display_pub
    sys.stdout, sys.stderr, shell.display_pub = Stream("stdout"), Stream("stderr"), Publisher()
    try:
        yield
    except BaseException:
        Stream("stderr").write(traceback.format_exc())
        raise
    finally:
        sys.stdout, sys.stderr, shell.display_pub = saved
        out.outputs = tuple(items)


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
