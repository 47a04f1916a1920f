"""data/MANIFEST.json: the size and sha256 of every shipped file under data/, and the command that made each artifact.

Taught in notebooks/02_train_quadratic_agent.ipynb (where shipped runs come from). tests/test_manifest.py checks
data/ against it, so a shipped file that changed (a notebook or a bench script rewrote it, a bad copy, a swap) is
named instead of silently used:

    .venv/bin/python tools/manifest.py --check     # name every changed, missing or extra file
    .venv/bin/python tools/manifest.py --write     # record data/ as it is now (keeps recorded commands)
    .venv/bin/python tools/manifest.py --write --command "CMD" runs/new_run   # ... and record CMD for it

An artifact is a folder holding meta.json and arrays.npz (its name is the folder relative to data/, e.g.
``runs/ant_quad_sgd``); any other file is its own entry. New entries without a command get "see git log".
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

NAME = "MANIFEST.json"
DEFAULT_COMMAND = "see git log"
ARTIFACT_FILES = ("meta.json", "arrays.npz")


def data_root() -> Path:
    from gc_helpers.config import data_dir

    return data_dir()


def file_entry(path: Path) -> dict:
    """{"size": bytes, "sha256": hex digest} of one file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"size": path.stat().st_size, "sha256": digest.hexdigest()}


def artifact_of(name: str) -> str:
    """The entry a file belongs to: its folder for meta.json / arrays.npz, else the file itself."""
    parent, _, base = name.rpartition("/")
    return parent if base in ARTIFACT_FILES and parent else name


TRANSIENT = "_checkpoints"  # a bench's resume state while it runs (git-ignored, never shipped)


def shipped_files(root: Path) -> list[str]:
    """Every file under ``root`` but the manifest and ``_checkpoints/`` folders (hidden ones too, e.g. a leftover
    ``.<name>.old``), POSIX paths."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and p.name != NAME and TRANSIENT not in p.relative_to(root).parts)


def read(root: Path | None = None) -> dict:
    """The manifest of ``root`` (default data/); an empty one if there is none yet."""
    path = (root or data_root()) / NAME
    if not path.is_file():
        return {"files": {}, "commands": {}}
    manifest = json.loads(path.read_text())
    if not isinstance(manifest, dict) or not {"files", "commands"} <= set(manifest):
        raise ValueError(f"{path}: expected a JSON object with 'files' and 'commands'; regenerate it with "
                         "`python tools/manifest.py --write`")
    return manifest


def build(root: Path, commands: dict | None = None) -> dict:
    """A manifest of ``root`` as it is now; ``commands`` (entry -> command) are kept for entries still there."""
    files = {name: file_entry(root / name) for name in shipped_files(root)}
    entries = sorted({artifact_of(name) for name in files})
    commands = commands or {}
    return {"about": "size and sha256 of every shipped file under data/ and the command that made each entry; "
                     "check with `python tools/manifest.py --check`, regenerate with `make manifest`",
            "files": files, "commands": {e: commands.get(e, DEFAULT_COMMAND) for e in entries}}


def write(root: Path | None = None, command: str | None = None, entries=()) -> Path:
    """Record ``root`` (default data/) in its MANIFEST.json, keeping the recorded commands; ``command`` is recorded
    for ``entries`` (or, if none are named, for every entry that has no command yet)."""
    root = root or data_root()
    commands = dict(read(root)["commands"])
    manifest = build(root, commands)
    unknown = [e for e in entries if e not in manifest["commands"]]
    if unknown:
        raise ValueError(f"entries {unknown} are not under {root}; entries are e.g. {list(manifest['commands'])[:3]}")
    if command is not None:
        for entry in entries or [e for e in manifest["commands"] if e not in commands]:
            manifest["commands"][entry] = command
    path = root / NAME
    path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return path


def differences(root: Path | None = None) -> list[str]:
    """Every file of ``root`` (default data/) that differs from its manifest: changed, missing or extra."""
    root = root or data_root()
    recorded = read(root)["files"]
    present = set(shipped_files(root))
    out = [f"missing: data/{name} (restore it with `git checkout -- data/{name}`)"
           for name in sorted(set(recorded) - present)]
    out += [f"extra: data/{name} (not in {NAME}: delete it, or record it with "
            f"`python tools/manifest.py --write --command '<how it was made>' {artifact_of(name)}`)"
            for name in sorted(present - set(recorded))]
    for name in sorted(present & set(recorded)):
        now, then = file_entry(root / name), recorded[name]
        if now != then:
            out.append(f"changed: data/{name} (size {then['size']} -> {now['size']}, sha256 {then['sha256'][:12]}… "
                       f"-> {now['sha256'][:12]}…; restore it with `git checkout -- data/{name}`, or if it was "
                       f"regenerated on purpose ({command_for(artifact_of(name), root)}), run `make manifest`)")
    return out


def command_for(entry: str, root: Path | None = None) -> str | None:
    """The command recorded for ``entry`` (e.g. "runs/ant_quad_sgd"), or None if there is none."""
    try:
        return read(root)["commands"].get(entry)
    except (OSError, ValueError):
        return None


def shipped_name(path) -> str | None:
    """``path`` relative to data/ as a POSIX string if it lies under data/, else None."""
    try:
        return Path(path).resolve().relative_to(data_root().resolve()).as_posix()
    except ValueError:
        return None


WRITE_ENV = "GC_WRITE_DATA"


def regenerate(name: str, root: Path | None = None, run=None) -> list[str]:
    """Recompute the shipped entry ``name`` (or every entry under that folder) with its recorded command, then
    record the new files (``make regenerate NAME=...``). The old files are moved to out/replaced/ first and put
    back if the command fails, so nothing is lost. Returns the commands run."""
    import shutil
    import subprocess
    import tempfile
    import time

    from gc_helpers.config import out_dir, project_root

    root = root or data_root()
    commands = read(root)["commands"]
    entries = [e for e in commands if e == name.strip("/") or e.startswith(name.strip("/") + "/")]
    if not entries:
        raise ValueError(f"NAME={name!r}: no shipped entry; entries are e.g. {sorted(commands)[:4]}")
    todo = list(dict.fromkeys(commands[e] for e in entries))
    unknown = [c for c in todo if not c.startswith((".venv/bin/python", "python"))]
    if unknown:
        raise ValueError(f"NAME={name!r}: no command is recorded to recompute it ({unknown[0]!r})")
    (out_dir() / "replaced").mkdir(parents=True, exist_ok=True)
    backup = Path(tempfile.mkdtemp(prefix=time.strftime("%Y%m%d-%H%M%S-"), dir=out_dir() / "replaced"))
    for e in entries:
        if (root / e).exists():
            (backup / e).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(root / e), str(backup / e))
    run = run or (lambda cmd: subprocess.run(cmd, shell=True, cwd=project_root(), check=True,
                                             env={**os.environ, WRITE_ENV: "1"}))
    try:
        for cmd in todo:
            print(f"regenerate {name}: {cmd}", flush=True)
            run(cmd)
    except BaseException:
        for e in entries:
            if (backup / e).exists() and not (root / e).exists():
                shutil.move(str(backup / e), str(root / e))
        raise
    write(root)
    return todo


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="name every changed, missing or extra file; exit 1 if any")
    mode.add_argument("--write", action="store_true", help="record data/ as it is now, keeping recorded commands")
    mode.add_argument("--regenerate", metavar="NAME", help="recompute NAME (an entry or a folder of entries) with "
                                                           "its recorded command, then record it")
    ap.add_argument("--command", default=None, help="with --write: the command that made ENTRY (default: every "
                                                    "new entry)")
    ap.add_argument("entries", nargs="*", metavar="ENTRY", help="with --command: entries such as runs/ant_quad_sgd")
    args = ap.parse_args(argv)
    if args.entries and args.command is None:
        ap.error("ENTRY needs --command")
    if args.regenerate:
        regenerate(args.regenerate)
        return 0
    if args.write:
        print(f"wrote {write(command=args.command, entries=args.entries)}")
        return 0
    problems = differences()
    for line in problems:
        print(line)
    print(f"{len(problems)} file(s) differ from data/{NAME}" if problems else f"data/ matches data/{NAME}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
