"""gc_helpers.store on damaged copies of real shipped artifacts, and saves killed at every step.

Every damaged artifact must end in an ArtifactError naming the file (or, for a byte flip that leaves the data
intact, load the very same arrays); every killed save must leave the old or the new artifact loadable.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from gc_helpers import store
from gc_helpers.config import data_dir

SHIPPED = data_dir()
SMALL = ["runs/ant_linear_sgd", "runs/ppo_hopper_none_s0", "compressed/ant_quad_sgd_cem", "decompressed/ant_quad_sgd"]


def copy_of(name: str, dest: Path) -> Path:
    """A copy of the shipped artifact data/<name> under ``dest`` (the shipped files are never touched)."""
    out = dest / name
    shutil.copytree(SHIPPED / name, out)
    return out


def edit_meta(path: Path, change) -> None:
    meta = json.loads((path / "meta.json").read_text())
    change(meta)
    (path / "meta.json").write_text(json.dumps(meta))


def fails_naming(path: Path, file: str, match: str | None = None):
    with pytest.raises(store.ArtifactError, match=match) as info:
        store.load(path)
    message = str(info.value)
    assert str(path) in message and file in message, message
    assert info.value.file == file
    return message


@pytest.mark.parametrize("name", SMALL)
def test_every_small_shipped_artifact_loads_unchanged(name):
    art = store.load(SHIPPED / name)
    with np.load(SHIPPED / name / "arrays.npz") as npz:
        assert sorted(art.arrays) == sorted(npz.files)


# -- damaged files -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SMALL)
@pytest.mark.parametrize("keep", [0.0, 0.5, 0.99])
def test_truncated_arrays(tmp_path, name, keep):
    path = copy_of(name, tmp_path)
    data = (path / "arrays.npz").read_bytes()
    (path / "arrays.npz").write_bytes(data[: int(len(data) * keep)])
    fails_naming(path, "arrays.npz", "empty" if keep == 0 else "truncated or corrupt")


@pytest.mark.parametrize("name", SMALL)
def test_flipped_bytes_in_arrays_never_load_different_data(tmp_path, name):
    original = store.load(SHIPPED / name).arrays
    data = (SHIPPED / name / "arrays.npz").read_bytes()
    errors = 0
    for position in np.linspace(0, len(data) - 1, 24).astype(int):
        path = tmp_path / f"{name}_{position}"
        shutil.copytree(SHIPPED / name, path)
        damaged = bytearray(data)
        damaged[position] ^= 0xFF
        (path / "arrays.npz").write_bytes(bytes(damaged))
        try:
            art = store.load(path)
        except store.ArtifactError as err:
            assert err.file == "arrays.npz" and str(path) in str(err)
            errors += 1
            continue
        # a flip in a field that holds no data (a timestamp, say) may load: then it must be the same data
        assert sorted(art.arrays) == sorted(original)
        for key, value in original.items():
            np.testing.assert_array_equal(art[key], value)
    # a small artifact of many arrays is mostly zip headers (names, timestamps) that npz does not read back
    assert errors > 24 // 2, "most flipped bytes should be caught"


@pytest.mark.parametrize("name", SMALL)
def test_truncated_or_invalid_meta(tmp_path, name):
    path = copy_of(name, tmp_path)
    text = (path / "meta.json").read_bytes()
    (path / "meta.json").write_bytes(text[: len(text) // 2])
    fails_naming(path, "meta.json", "not valid JSON")
    (path / "meta.json").write_bytes(b"")
    fails_naming(path, "meta.json", "empty")
    (path / "meta.json").write_bytes(b"\xff" + text[1:])
    fails_naming(path, "meta.json", "not valid JSON")
    (path / "meta.json").write_text("[1, 2]")
    fails_naming(path, "meta.json", "expected a JSON object")


REQUIRED = {"run": ["kind", "format_version", "env_id", "n_params"],
            "compressed": ["kind", "format_version", "env_id", "n_params", "length"],
            "decompressed": ["kind", "format_version", "env_id", "run", "horizon"]}


def kind_of(name: str) -> str:
    return json.loads((SHIPPED / name / "meta.json").read_text())["kind"]


@pytest.mark.parametrize("name, key", [(n, k) for n in SMALL for k in REQUIRED[kind_of(n)]])
def test_dropped_meta_key(tmp_path, name, key):
    path = copy_of(name, tmp_path)
    edit_meta(path, lambda m: m.pop(key))
    fails_naming(path, "meta.json", f"lacks the required key '{key}'")


@pytest.mark.parametrize(
    "name, change, file, match",
    [
        ("runs/ant_linear_sgd", lambda m: m.update(n_params=3248), "arrays.npz", "n_params = 3248"),
        ("runs/ant_linear_sgd", lambda m: m.update(n_iterations=84), "arrays.npz", "n_iterations = 84"),
        ("runs/ppo_hopper_none_s0", lambda m: m.update(obs_dim=27), "arrays.npz", "obs_dim = 27"),
        ("runs/ppo_hopper_none_s0", lambda m: m.update(n_updates_done=400), "arrays.npz", "n_updates_done"),
        ("compressed/ant_quad_sgd_cem", lambda m: m.update(length=200), "arrays.npz", "length = 200"),
        ("compressed/ant_quad_sgd_cem", lambda m: m["policy"].update(act_dim=3), "arrays.npz", "policy.act_dim"),
        ("compressed/ant_quad_sgd_cem", lambda m: m.update(n_params=4616), "arrays.npz", "n_params = 4616"),
        ("runs/ant_linear_sgd", lambda m: m.update(format_version=2), "meta.json", "unknown format_version 2"),
        ("runs/ant_linear_sgd", lambda m: m.update(kind="compressed"), "meta.json", "lacks the required key"),
        ("decompressed/ant_quad_sgd", lambda m: m.update(kind="run"), "meta.json", "'n_params'"),
    ],
)
def test_edited_meta_disagrees_with_the_arrays(tmp_path, name, change, file, match):
    path = copy_of(name, tmp_path)
    edit_meta(path, change)
    fails_naming(path, file, match)


def test_edited_env_id_is_caught_by_what_the_caller_expects(tmp_path):
    path = copy_of("runs/ant_linear_sgd", tmp_path)
    edit_meta(path, lambda m: m.update(env_id="Hopper-v5"))
    with pytest.raises(ValueError, match="env_id='Hopper-v5'; expected env_id='Ant-v5'"):
        store.load(path, "run", env_id="Ant-v5")


@pytest.mark.parametrize(
    "a, b",
    [("runs/ant_linear_sgd", "runs/ppo_hopper_none_s0"), ("runs/ant_linear_sgd", "compressed/ant_quad_sgd_cem"),
     ("compressed/ant_quad_sgd_cem", "compressed/ant_mlp_sgd_weight_change"),
     ("compressed/ant_quad_sgd_cem", "decompressed/ant_quad_sgd"),
     ("runs/ant_linear_sgd", "decompressed/ant_quad_sgd")],
)
def test_arrays_swapped_between_artifacts(tmp_path, a, b):
    pa, pb = copy_of(a, tmp_path), copy_of(b, tmp_path)
    (pa / "arrays.npz").rename(tmp_path / "swap.npz")
    (pb / "arrays.npz").rename(pa / "arrays.npz")
    (tmp_path / "swap.npz").rename(pb / "arrays.npz")
    fails_naming(pa, "arrays.npz")
    fails_naming(pb, "arrays.npz")


def test_missing_file_and_missing_folder(tmp_path):
    path = copy_of("decompressed/ant_quad_sgd", tmp_path)
    (path / "arrays.npz").unlink()
    with pytest.raises(FileNotFoundError, match="arrays.npz is missing"):
        store.load(path)
    with pytest.raises(FileNotFoundError, match="no artifact"):
        store.load(tmp_path / "nothing")


def test_error_on_a_shipped_path_says_how_to_restore_it(tmp_path, monkeypatch):
    monkeypatch.setenv("GC_ROOT", str(tmp_path))
    path = copy_of("runs/ant_linear_sgd", tmp_path / "data")
    shutil.copy(SHIPPED / "MANIFEST.json", tmp_path / "data" / "MANIFEST.json")
    (path / "arrays.npz").write_bytes(b"")
    message = fails_naming(path, "arrays.npz", "empty")
    assert "git checkout -- data/runs/ant_linear_sgd" in message
    assert "bench/training.py linear --save" in message


# -- saving ------------------------------------------------------------------------------------------------------

STEPS = ["temporary folder made", "arrays written", "meta written", "old moved aside", "new moved in", "old removed"]
SWAP = STEPS.index("old moved aside")  # from here on Ctrl-C waits for the renames
CHILD = """
import os, sys
import numpy as np
from gc_helpers import store
path, step, sig, value = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
store.package_versions = lambda: {}
store._step = lambda name: os.kill(os.getpid(), sig) if name == step else None
store.save(path, "run", {"checkpoints": np.full((3, 4), value)}, {"env_id": "Ant-v5", "n_params": 4})
"""


def save_value(path, value):
    return store.save(path, "run", {"checkpoints": np.full((3, 4), value)}, {"env_id": "Ant-v5", "n_params": 4})


def killed_save(path, step, sig, value):
    """Run a save of ``value`` in a subprocess that sends itself ``sig`` at ``step``; returns its exit code."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    return subprocess.run([sys.executable, "-c", CHILD, str(path), step, str(int(sig)), str(value)], env=env,
                          capture_output=True, timeout=120).returncode


def loaded_value(path) -> float:
    ck = store.load(path, "run")["checkpoints"]
    assert ck.shape == (3, 4) and np.all(ck == ck[0, 0])
    return float(ck[0, 0])


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != "demo")


@pytest.mark.parametrize("step", STEPS)
def test_sigkill_at_every_step_leaves_the_old_or_the_new_artifact(tmp_path, step):
    path = save_value(tmp_path / "demo", 1.0)
    assert killed_save(path, step, signal.SIGKILL, 2.0) == -signal.SIGKILL
    want = 2.0 if STEPS.index(step) > SWAP else 1.0
    assert loaded_value(path) == want
    # the next save puts a lone .old back first, removes the dead save's temporary folder, and succeeds
    save_value(path, 3.0)
    assert loaded_value(path) == 3.0 and leftovers(tmp_path) == []


@pytest.mark.parametrize("step", STEPS)
def test_ctrl_c_at_every_step_never_loses_the_complete_copy(tmp_path, step):
    path = save_value(tmp_path / "demo", 1.0)
    assert killed_save(path, step, signal.SIGINT, 2.0) != 0, "the KeyboardInterrupt must still stop the program"
    want = 2.0 if STEPS.index(step) >= SWAP else 1.0  # once the swap began, Ctrl-C waits for it to end
    assert loaded_value(path) == want
    assert leftovers(tmp_path) == [], "Ctrl-C must clean up after itself"


def test_two_saves_killed_between_the_renames_in_a_row(tmp_path):
    path = save_value(tmp_path / "demo", 1.0)
    killed_save(path, "old moved aside", signal.SIGKILL, 2.0)
    assert not path.exists() and loaded_value(path) == 1.0  # read from .demo.old
    killed_save(path, "old moved aside", signal.SIGKILL, 3.0)
    assert loaded_value(path) == 1.0
    with pytest.raises(FileExistsError):
        store.save(path, "run", {}, {}, overwrite=False)
    assert path.exists() and loaded_value(path) == 1.0


def test_a_first_save_killed_leaves_nothing_that_loads(tmp_path):
    killed_save(tmp_path / "demo", "meta written", signal.SIGKILL, 2.0)
    with pytest.raises(FileNotFoundError):
        store.load(tmp_path / "demo")


def test_only_temporary_folders_of_dead_or_hours_old_saves_are_removed(tmp_path):
    path = save_value(tmp_path / "demo", 1.0)
    dead = tmp_path / ".demo.tmp-999999999-a"  # above any pid_max: no such process
    mine = tmp_path / f".demo.tmp-{os.getpid()}-b"  # a save in progress in this process
    alive = tmp_path / f".demo.tmp-{os.getppid()}-c"  # a save in progress elsewhere
    ancient = tmp_path / f".demo.tmp-{os.getppid()}-d"
    other = tmp_path / ".other.tmp-999999999-e"  # another artifact's: not this save's business
    for folder in (dead, mine, alive, ancient, other):
        folder.mkdir()
    hours_ago = time.time() - 2 * store.STALE_SECONDS
    os.utime(ancient, (hours_ago, hours_ago))
    save_value(path, 2.0)
    assert leftovers(tmp_path) == sorted(p.name for p in (mine, alive, other))


def test_save_refuses_arrays_that_disagree_with_the_meta(tmp_path):
    with pytest.raises(ValueError, match="not saving .*'checkpoints' has shape \\(3, 5\\).*n_params = 4"):
        store.save(tmp_path / "bad", "run", {"checkpoints": np.zeros((3, 5))}, {"env_id": "Ant-v5", "n_params": 4})
    assert not (tmp_path / "bad").exists()


def test_save_refuses_meta_that_would_overwrite_the_kind(tmp_path):
    # a meta field named "kind" once replaced the artifact's kind, so the files could no longer be loaded
    with pytest.raises(ValueError, match=r"meta\['kind'\]='mlp' would overwrite the artifact's kind='notes'"):
        store.save(tmp_path / "bad", "notes", {"a": np.zeros(2)}, {"kind": "mlp"})
    assert not (tmp_path / "bad").exists()
    store.save(tmp_path / "ok", "notes", {"a": np.zeros(2)}, {"kind": "notes"})  # re-saving a loaded meta is fine
    assert store.load(tmp_path / "ok", "notes").meta["kind"] == "notes"


def test_a_notebook_kernel_cannot_write_into_shipped_data(tmp_path, monkeypatch):
    from gc_helpers import course

    monkeypatch.setenv("GC_ROOT", str(tmp_path))
    monkeypatch.delenv(store.WRITE_DATA_ENV, raising=False)
    monkeypatch.setattr(course, "in_notebook", lambda: True)
    with pytest.raises(ValueError, match="inside the shipped data/.*make regenerate"):
        store.save(tmp_path / "data" / "compressed" / "x", "notes", {"a": np.zeros(2)}, {"env_id": "Ant-v5"})
    assert not (tmp_path / "data").exists()
    store.save(tmp_path / "out" / "x", "notes", {"a": np.zeros(2)}, {"env_id": "Ant-v5"})  # out/ is fine
    monkeypatch.setenv(store.WRITE_DATA_ENV, "1")  # make regenerate
    store.save(tmp_path / "data" / "x", "notes", {"a": np.zeros(2)}, {"env_id": "Ant-v5"})
