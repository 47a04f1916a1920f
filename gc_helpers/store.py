"""Saving and loading runs and results: one folder per artifact, ``arrays.npz`` + ``meta.json``.

Taught in notebooks/02_train_quadratic_agent.ipynb. Every artifact records its kind, the env id, the policy
kind and shape, the seed, the package versions and a format version.

- ``load`` checks the files before anything uses them: a truncated or corrupt file, bad JSON, a missing key, an
  unknown format version, or arrays whose shapes disagree with the metadata (``gc_helpers.schemas``) raise an
  ``ArtifactError`` naming the artifact, the file, what is wrong and how to restore it; ``load`` also refuses an
  artifact whose kind, env or policy shape is not what the caller expects.
- ``save`` writes a temporary folder, then swaps it in with two renames (the old artifact to ``.<name>.old``, the
  new one to its place). At every instant the old or the new artifact loads: ``load`` reads ``.<name>.old`` if a
  save was killed between the renames, the next save puts it back first, Ctrl-C waits for the renames to finish,
  and the temporary folders of dead saves are removed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import schemas

FORMAT_VERSION = 1
STALE_SECONDS = 3600  # a temporary folder this old is removed even if its process id is in use again


def package_versions() -> dict:
    """Versions of the packages whose numbers an artifact depends on."""
    import gymnasium
    import mujoco
    import torch

    from . import __version__

    return {"gc_helpers": __version__, "numpy": np.__version__, "torch": torch.__version__,
            "mujoco": mujoco.__version__, "gymnasium": gymnasium.__version__}


@dataclass(frozen=True)
class Artifact:
    """A loaded artifact: its arrays and its metadata."""

    path: Path
    arrays: dict
    meta: dict

    def __getitem__(self, key):
        if key not in self.arrays:
            raise KeyError(f"{key!r} is not in {self.path}; it holds {sorted(self.arrays)}")
        return self.arrays[key]


class ArtifactError(ValueError):
    """A saved artifact that cannot be used: names the artifact, the file, what is wrong and how to fix it."""

    def __init__(self, path, file: str, problem: str):
        self.path, self.file, self.problem = Path(path), file, problem
        super().__init__(f"artifact {self.path}: {file} {problem}. {_fix_hint(self.path)}")


class ArtifactMissing(ArtifactError, FileNotFoundError):
    """A file of the artifact is missing (also a FileNotFoundError)."""


def _fix_hint(path: Path) -> str:
    """How to get a good copy back: git for a shipped artifact (and the command recorded in data/MANIFEST.json)."""
    from .config import data_dir

    try:
        rel = Path(path).resolve().relative_to(data_dir().resolve()).as_posix()
    except ValueError:
        return "Re-run the code that saved it (or delete the folder and save again)."
    command = _recorded_command(rel)
    made = f", or regenerate it with `{command}`" if command and not command.startswith("see ") else ""
    return f"Restore the shipped copy with `git checkout -- data/{rel}`{made}."


def _recorded_command(entry: str) -> str | None:
    """The command data/MANIFEST.json records for the shipped ``entry`` (e.g. "runs/ant_quad_sgd"), or None."""
    from .config import data_dir

    try:
        return json.loads((data_dir() / "MANIFEST.json").read_text())["commands"].get(entry)
    except (OSError, ValueError, KeyError, AttributeError):
        return None


def _check_name(path) -> Path:
    path = Path(path)
    if not path.name or path.name in (".", ".."):
        raise ValueError(f"path={str(path)!r}: give a folder name for the artifact")
    return path


# ----------------------------------------------------------------------------------------------------------------
# Saving


def _step(name: str) -> None:
    """Called at each step of ``save`` (tests replace it to kill a save at that step)."""


def _old(path: Path) -> Path:
    return path.with_name(f".{path.name}.old")


def _complete(folder: Path) -> bool:
    return (folder / "meta.json").is_file() and (folder / "arrays.npz").is_file()


def _recover(path: Path) -> None:
    """Put ``.<name>.old`` back if a save was killed between its two renames (nothing at ``path``)."""
    old = _old(path)
    if not path.exists() and _complete(old):
        os.replace(old, path)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_temporaries(path: Path) -> None:
    """Remove ``.<name>.tmp-<pid>-*`` folders left by saves whose process is gone (or that are hours old)."""
    pattern = re.compile(rf"\.{re.escape(path.name)}\.tmp-(\d+)-[^/]*")
    for tmp in path.parent.glob(f".{path.name}.tmp-*"):
        match = pattern.fullmatch(tmp.name)
        if not match or not tmp.is_dir():
            continue
        pid = int(match.group(1))
        old_enough = time.time() - tmp.stat().st_mtime > STALE_SECONDS
        if old_enough or (pid != os.getpid() and not _pid_alive(pid)):
            shutil.rmtree(tmp, ignore_errors=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _sigint_deferred():
    """Hold Ctrl-C (SIGINT) until the block ends, so the two renames are never split by a KeyboardInterrupt."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is None:
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(frame))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught and callable(previous):
        previous(signal.SIGINT, caught[0])
    elif caught and previous == signal.SIG_DFL:
        raise KeyboardInterrupt


def _write(tmp: Path, arrays: dict, text: str) -> None:
    np.savez_compressed(tmp / "arrays.npz", **{k: np.asarray(v) for k, v in arrays.items()})
    _step("arrays written")
    (tmp / "meta.json").write_text(text)
    _step("meta written")
    for name in ("arrays.npz", "meta.json", "."):
        _fsync(tmp / name)


def _swap_in(tmp: Path, path: Path) -> None:
    """Move the complete folder ``tmp`` to ``path``; the previous artifact waits in ``.<name>.old`` meanwhile."""
    old = _old(path)
    if path.exists():
        shutil.rmtree(old, ignore_errors=True)  # a stale copy: the one at path is complete
        os.replace(path, old)
        _step("old moved aside")
    os.replace(tmp, path)
    _step("new moved in")
    _fsync(path.parent)
    shutil.rmtree(old, ignore_errors=True)
    _step("old removed")


def _meta_text(kind: str, meta: dict) -> str:
    if meta.get("kind", kind) != kind:  # the artifact's kind is the loader's key: meta must not overwrite it
        raise ValueError(f"meta['kind']={meta['kind']!r} would overwrite the artifact's kind={kind!r}; "
                         "name that field otherwise")
    full_meta = {"kind": kind, "format_version": FORMAT_VERSION, "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                 "versions": package_versions(), **meta}
    try:
        return json.dumps(full_meta, indent=1, default=_json_default)
    except TypeError as err:
        raise ValueError(f"meta cannot be saved as JSON: {err}") from err


def _check_arrays(arrays: dict) -> None:
    for name, value in arrays.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"array name {name!r}: must be an identifier")
        if np.asarray(value).dtype == object:
            raise ValueError(f"array {name!r} has dtype object; save numbers or strings only")


WRITE_DATA_ENV = "GC_WRITE_DATA"


def check_writable(path: Path) -> None:
    """Refuse to write under the shipped data/ from a notebook kernel: notebooks save under ``config.out_dir()``;
    shipped artifacts change only through ``make regenerate NAME=…`` (which sets GC_WRITE_DATA=1) or the bench
    scripts that make them."""
    from .config import data_dir
    from .course import in_notebook

    if os.environ.get(WRITE_DATA_ENV) == "1" or not in_notebook():
        return
    try:
        Path(path).resolve().relative_to(data_dir().resolve())
    except ValueError:
        return
    raise ValueError(f"path={str(path)!r} is inside the shipped data/: a notebook never writes there (save under "
                     "gc_helpers.config.out_dir()); shipped artifacts change only through `make regenerate NAME=…`")


def save(path, kind: str, arrays: dict, meta: dict, overwrite: bool = True) -> Path:
    """Write ``arrays`` (name -> array) and ``meta`` (JSON-able) to the folder ``path``; returns the path.

    Arrays whose shapes disagree with the metadata (``gc_helpers.schemas``) are refused before anything is written;
    so is a notebook writing into the shipped data/ (``check_writable``).
    """
    path = _check_name(path)
    check_writable(path)
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"kind={kind!r}: a non-empty string such as 'run' or 'compressed'")
    _check_arrays(arrays)
    text = _meta_text(kind, meta)
    bad = schemas.array_problems(kind, json.loads(text), {k: np.shape(v) for k, v in arrays.items()}, complete=False)
    if bad:
        raise ValueError(f"not saving {path}: " + "; ".join(problem for _, problem in bad))
    _recover(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-{os.getpid()}-", dir=path.parent))
    try:
        _step("temporary folder made")
        _write(tmp, arrays, text)
        with _sigint_deferred():
            _swap_in(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone already unless the save failed before its swap
    return path


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"metadata value {value!r} of type {type(value).__name__} is not JSON-serialisable")


# ----------------------------------------------------------------------------------------------------------------
# Loading


def _folder(path: Path) -> Path:
    """The folder holding the artifact: ``path``, or ``.<name>.old`` if a save was killed between its renames."""
    if not path.exists() and _complete(_old(path)):
        return _old(path)
    if not path.is_dir():
        raise FileNotFoundError(f"no artifact at {path} (expected a folder with meta.json and arrays.npz)")
    for name in ("meta.json", "arrays.npz"):
        if not (path / name).is_file():
            raise ArtifactMissing(path, name, "is missing")
    return path


def _read_meta(path: Path, folder: Path) -> dict:
    raw = (folder / "meta.json").read_bytes()
    if not raw.strip():
        raise ArtifactError(path, "meta.json", f"is empty ({len(raw)} bytes)")
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ArtifactError(path, "meta.json", f"is truncated or corrupt, not valid JSON ({err})") from None
    if not isinstance(meta, dict):
        raise ArtifactError(path, "meta.json", f"holds a {type(meta).__name__}; expected a JSON object")
    for key in ("kind", "format_version"):
        if key not in meta:
            raise ArtifactError(path, "meta.json", f"lacks the required key {key!r}")
    for file, problem in schemas.meta_problems(meta["kind"], meta):
        raise ArtifactError(path, file, problem)
    if meta["format_version"] != FORMAT_VERSION:
        raise ArtifactError(path, "meta.json", f"has the unknown format_version {meta['format_version']!r}; "
                                               f"this gc_helpers reads version {FORMAT_VERSION}")
    return meta


def _read_arrays(path: Path, folder: Path) -> dict:
    file = folder / "arrays.npz"
    if file.stat().st_size == 0:
        raise ArtifactError(path, "arrays.npz", "is empty (0 bytes)")
    try:
        npz = np.load(file, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise ValueError("a single .npy array, not an .npz archive")
        with npz:
            return {k: npz[k] for k in npz.files}
    except Exception as err:  # BadZipFile, zlib.error, EOFError, NotImplementedError (a flipped method byte), ...
        raise ArtifactError(path, "arrays.npz", f"is truncated or corrupt ({type(err).__name__}: {err})") from None


def load(path, kind: str | None = None, **expect) -> Artifact:
    """Load the artifact at ``path``; ``kind`` and every ``expect`` key (e.g. env_id="Ant-v5",
    n_params=3248) must match its metadata, else ValueError saying what differs. A damaged or inconsistent
    artifact raises ``ArtifactError`` (a ValueError) naming the file."""
    path = Path(path)
    folder = _folder(path)
    meta = _read_meta(path, folder)
    if kind is not None and meta.get("kind") != kind:
        raise ValueError(f"{path} holds kind={meta.get('kind')!r}; expected kind={kind!r}")
    for key, want in expect.items():
        have = meta.get(key)
        if have != want:
            raise ValueError(f"{path} was made for {key}={have!r}; expected {key}={want!r}")
    arrays = _read_arrays(path, folder)
    for file, problem in schemas.array_problems(meta["kind"], meta, {k: v.shape for k, v in arrays.items()}):
        raise ArtifactError(path, file, problem)
    return Artifact(path, arrays, meta)
