"""Execute the notebook series headless (``make run``) and in the tests: one function for both.

Each notebook runs with its folder as working directory; the executed copy (with outputs) is written to
out/notebooks/ so that the notebooks in git stay stripped.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from .config import project_root


def notebooks(folder: Path | None = None) -> list[Path]:
    """The numbered notebooks NN_*.ipynb of the series, in order."""
    folder = folder or project_root() / "notebooks"
    return sorted(folder.glob("[0-9][0-9]_*.ipynb"))


def execute(path, out_path=None, timeout: int = 600, fast: bool = True):
    """Run every cell of the notebook at ``path`` (GC_FAST=1 if ``fast``); raises on the first error.

    Returns the executed notebook; writes it to ``out_path`` if given.
    """
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}")
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
        raise ValueError(f"timeout={timeout!r}: seconds per cell, an integer >= 1")
    os.environ["GC_FAST"] = "1" if fast else "0"
    os.environ.setdefault("MUJOCO_GL", "egl")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    finally:
        if out_path is not None:
            Path(out_path).parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, out_path)
    return nb


def main(argv=None) -> int:
    """``python -m gc_helpers.runner [--full] [names...]``: execute the series, print a timing table."""
    args = list(sys.argv[1:] if argv is None else argv)
    fast = "--full" not in args
    names = [a for a in args if not a.startswith("--")]
    paths = [p for p in notebooks() if not names or any(n in p.name for n in names)]
    if not paths:
        print(f"no notebook matches {names}", file=sys.stderr)
        return 2
    out = project_root() / "out" / "notebooks"
    print(f"preset: {'fast' if fast else 'full'}; executed notebooks go to {out}")
    failed = []
    for path in paths:
        t0 = time.time()
        print(f"▶ {path.name} …", flush=True)
        try:
            execute(path, out / path.name, fast=fast, timeout=600 if fast else 3600)  # full: long cells
            print(f"  ✓ {time.time() - t0:6.1f} s", flush=True)
        except Exception as err:  # report and go on: one broken notebook should not hide the others
            failed.append(path.name)
            print(f"  ✗ {time.time() - t0:6.1f} s: {type(err).__name__}: {str(err)[-2000:]}", flush=True)
    print(f"figures: {project_root() / 'figures'}; videos: {project_root() / 'videos'}")
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
