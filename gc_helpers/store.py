"""Saving and loading runs and results: one folder per artifact, ``arrays.npz`` + ``meta.json``.

Taught in notebooks/02_train_quadratic_agent.ipynb. Every artifact records its kind, the env id, the policy
kind and shape, the seed, the package versions and a format version; ``load`` refuses an artifact whose
kind, env or policy shape is not what the caller expects, with an error that says what differs.
Saving is atomic (written to a temporary folder, then renamed), so an interrupted save never loses the
previous artifact.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMAT_VERSION = 1


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


def _check_name(path) -> Path:
    path = Path(path)
    if not path.name or path.name in (".", ".."):
        raise ValueError(f"path={str(path)!r}: give a folder name for the artifact")
    return path


def save(path, kind: str, arrays: dict, meta: dict, overwrite: bool = True) -> Path:
    """Write ``arrays`` (name -> array) and ``meta`` (JSON-able) to the folder ``path``; returns the path."""
    path = _check_name(path)
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"kind={kind!r}: a non-empty string such as 'run' or 'compressed'")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    for name, value in arrays.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"array name {name!r}: must be an identifier")
        if np.asarray(value).dtype == object:
            raise ValueError(f"array {name!r} has dtype object; save numbers or strings only")
    full_meta = {"kind": kind, "format_version": FORMAT_VERSION, "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                 "versions": package_versions(), **meta}
    try:
        text = json.dumps(full_meta, indent=1, default=_json_default)
    except TypeError as err:
        raise ValueError(f"meta cannot be saved as JSON: {err}") from err
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        np.savez_compressed(tmp / "arrays.npz", **{k: np.asarray(v) for k, v in arrays.items()})
        (tmp / "meta.json").write_text(text)
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"metadata value {value!r} of type {type(value).__name__} is not JSON-serialisable")


def load(path, kind: str | None = None, **expect) -> Artifact:
    """Load the artifact at ``path``; ``kind`` and every ``expect`` key (e.g. env_id="Ant-v5",
    n_params=3248) must match its metadata, else ValueError saying what differs."""
    path = Path(path)
    if not (path / "meta.json").is_file() or not (path / "arrays.npz").is_file():
        raise FileNotFoundError(f"no artifact at {path} (expected meta.json and arrays.npz)")
    meta = json.loads((path / "meta.json").read_text())
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path}: format_version {meta.get('format_version')!r}; this gc_helpers reads "
                         f"version {FORMAT_VERSION}")
    if kind is not None and meta.get("kind") != kind:
        raise ValueError(f"{path} holds kind={meta.get('kind')!r}; expected kind={kind!r}")
    for key, want in expect.items():
        have = meta.get(key)
        if have != want:
            raise ValueError(f"{path} was made for {key}={have!r}; expected {key}={want!r}")
    with np.load(path / "arrays.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return Artifact(path, arrays, meta)
