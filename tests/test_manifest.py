"""data/MANIFEST.json: every shipped file has the recorded size and sha256; a changed copy is caught and named."""

import json
import shutil

import pytest

from gc_helpers.config import data_dir
from tools import manifest


def test_shipped_data_matches_the_manifest():
    problems = manifest.differences(data_dir())
    assert not problems, ("data/ differs from data/MANIFEST.json (if a file was regenerated on purpose, run "
                          "`make manifest`):\n" + "\n".join(problems))


def test_every_shipped_artifact_has_a_command():
    commands = manifest.read(data_dir())["commands"]
    assert commands and all(isinstance(c, str) and c for c in commands.values())
    assert commands["runs/ant_quad_sgd"] == ".venv/bin/python bench/training.py study --save"


@pytest.fixture
def data_copy(tmp_path):
    """A copy of data/ as the manifest records it (only the files it lists, so work in progress is left out)."""
    root = tmp_path / "data"
    for name in [*manifest.read(data_dir())["files"], manifest.NAME]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(data_dir() / name, root / name)
    assert manifest.differences(root) == []
    return root


def test_check_names_every_changed_missing_and_extra_file(data_copy):
    target = data_copy / "runs" / "ant_linear_sgd" / "arrays.npz"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 1  # one bit of one byte
    target.write_bytes(bytes(data))
    (data_copy / "reference" / "paper_cos_vs_len.csv").unlink()
    (data_copy / "runs" / ".ant_quad_sgd.old").mkdir()
    (data_copy / "runs" / ".ant_quad_sgd.old" / "meta.json").write_text("{}")
    resume = data_copy / "fewest_pairs" / "ant_quad_sgd" / "_checkpoints" / "outer_L16_s0"
    resume.mkdir(parents=True)
    (resume / "meta.json").write_text("{}")  # a running bench's resume state: not shipped, not a difference
    problems = manifest.differences(data_copy)
    assert len(problems) == 3, problems
    assert problems[0].startswith("missing: data/reference/paper_cos_vs_len.csv")
    assert problems[1].startswith("extra: data/runs/.ant_quad_sgd.old/meta.json")
    assert problems[2].startswith("changed: data/runs/ant_linear_sgd/arrays.npz")
    assert "bench/training.py linear --save" in problems[2]


def test_check_catches_arrays_swapped_between_artifacts_of_the_same_shape(data_copy):
    a, b = data_copy / "runs" / "ant_quad_sgd", data_copy / "runs" / "ant_quad_adam"
    (a / "arrays.npz").rename(data_copy / "swap.npz")
    (b / "arrays.npz").rename(a / "arrays.npz")
    (data_copy / "swap.npz").rename(b / "arrays.npz")
    problems = manifest.differences(data_copy)
    assert [p.split(" ")[1] for p in problems] == ["data/runs/ant_quad_adam/arrays.npz",
                                                   "data/runs/ant_quad_sgd/arrays.npz"]


def test_cli_check_and_write_keep_commands_and_record_new_entries(data_copy, monkeypatch, capsys):
    monkeypatch.setenv("GC_ROOT", str(data_copy.parent))
    assert manifest.main(["--check"]) == 0
    new = data_copy / "spread" / "demo" / "s0"
    new.mkdir(parents=True)
    (new / "meta.json").write_text("{}")
    (new / "arrays.npz").write_bytes(b"x")
    (data_copy / "compressed" / "README.md").write_text("edited\n")
    assert manifest.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert "extra: data/spread/demo/s0/arrays.npz" in out and "changed: data/compressed/README.md" in out
    assert manifest.main(["--write"]) == 0
    assert manifest.main(["--check"]) == 0
    commands = json.loads((data_copy / manifest.NAME).read_text())["commands"]
    assert commands["spread/demo/s0"] == manifest.DEFAULT_COMMAND
    assert commands["runs/ant_quad_sgd"] == ".venv/bin/python bench/training.py study --save"
    assert manifest.main(["--write", "--command", "python bench/spread.py", "spread/demo/s0"]) == 0
    assert manifest.command_for("spread/demo/s0", data_copy) == "python bench/spread.py"
    with pytest.raises(ValueError, match="not under"):
        manifest.write(data_copy, "x", ["runs/nope"])


def test_regenerate_runs_the_recorded_command_and_restores_on_failure(tmp_path, monkeypatch):
    monkeypatch.setenv("GC_ROOT", str(tmp_path))
    root = tmp_path / "data"
    (root / "runs" / "a").mkdir(parents=True)
    (root / "runs" / "a" / "meta.json").write_text("{}")
    manifest.write(root, command=".venv/bin/python bench/x.py a", entries=())
    ran = []

    def fake(cmd):
        ran.append(cmd)
        (root / "runs" / "a").mkdir()
        (root / "runs" / "a" / "meta.json").write_text('{"new": 1}')

    assert manifest.regenerate("runs/a", root, run=fake) == [".venv/bin/python bench/x.py a"]
    assert (root / "runs" / "a" / "meta.json").read_text() == '{"new": 1}' and not manifest.differences(root)

    def broken(cmd):
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        manifest.regenerate("runs", root, run=broken)
    assert (root / "runs" / "a" / "meta.json").read_text() == '{"new": 1}', "the old files must be put back"
    with pytest.raises(ValueError, match="NAME='runs/b': no shipped entry"):
        manifest.regenerate("runs/b", root, run=fake)
