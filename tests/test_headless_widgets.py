"""Widget updates never make a headless run wait (course.output_to): executed the way `jupyter nbconvert --execute`
executes (nbclient with its Output-widget emulation), a cell that sets a widget's value from code finishes when its
kernel does, and its Output shows what the update printed and plotted."""

import re
import time

import nbformat
import pytest

from gc_helpers.config import project_root

UPDATES, LINES, TIMEOUT = 20, 40, 10


def _code_cells():
    for path in sorted((project_root() / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if cell.cell_type == "code":
                yield path.name, i, cell.source


def test_no_update_captures_outputs_through_the_front_end():
    """`with out:` + clear_output and ipywidgets.interactive ask the front end to capture outputs: the stall's
    trigger. Every notebook update and the package's widgets go through course.output_to instead."""
    bad = [(name, i) for name, i, src in _code_cells()
           if re.search(r"\.clear_output\(|\binteractive\(|\binteract\(", src)]
    assert not bad, f"cells that capture outputs through the front end (use course.output_to): {bad}"
    for path in (project_root() / "gc_helpers").rglob("*.py"):
        if path.name != "course.py":
            assert ".clear_output(" not in path.read_text(), path


def _notebook(body: str) -> nbformat.NotebookNode:
    setup = ("import ipywidgets as W\nimport matplotlib.pyplot as plt\nfrom IPython.display import display\n"
             "from gc_helpers import course\n"
             "s, out = W.IntSlider(value=0, max=10**6), W.Output()\n"
             "def update(_=None):\n    with course.output_to(out):\n" + body +
             "s.observe(update, names='value')\ndisplay(W.VBox([s, out]))")
    cells = [nbformat.v4.new_code_cell(setup)]
    cells += [nbformat.v4.new_code_cell(f"s.value = {k + 1}") for k in range(UPDATES)]
    return nbformat.v4.new_notebook(cells=cells)


def _client(nb, tmp_path):
    """nbclient as `jupyter nbconvert --execute` uses it; the client's wall time per cell goes to client.walls."""
    from nbclient import NotebookClient

    client = NotebookClient(nb, timeout=TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.walls = {}
    client.on_cell_execute = lambda cell, cell_index: client.walls.__setitem__(cell_index, time.monotonic())
    client.on_cell_executed = lambda cell, cell_index, execute_reply: client.walls.__setitem__(
        cell_index, time.monotonic() - client.walls[cell_index])
    return client


def _output_state(client):
    """The Output widget's outputs as the front end last received them."""
    return [m["outputs"] for m in client.widget_state.values() if m.get("_model_name") == "OutputModel"][0]


@pytest.mark.slow
def test_updates_set_from_code_never_wait_for_the_cell_timeout(tmp_path):
    """Before course.output_to, 7 and 10 of these 20 + 20 cells each took exactly the 10 s timeout (the kernel
    done in 0.1 s): nbclient's answer to a captured output was sent on the shell socket while it waited there for
    the reply, and the reply's wake-up was lost."""
    body = ("        fig, ax = plt.subplots(figsize=(2, 1)); ax.plot([0, s.value]); plt.show()\n"
            f"        for j in range({LINES}):\n            print('value', s.value, j, flush=True)\n")
    client = _client(_notebook(body), tmp_path)
    client.execute()
    slow = {i: round(w, 1) for i, w in client.walls.items() if i > 0 and w > TIMEOUT / 2}
    assert not slow, f"cells that waited (s): {slow}"
    outputs = _output_state(client)
    assert [o["output_type"] for o in outputs] == ["display_data", "stream"]  # in the order they were made
    assert "image/png" in outputs[0]["data"]
    assert outputs[1]["text"].splitlines() == [f"value {UPDATES} {j}" for j in range(LINES)]


@pytest.mark.slow
def test_an_update_that_fails_shows_its_error_and_fails_the_cell(tmp_path):
    from nbclient.exceptions import CellExecutionError

    client = _client(_notebook("        print('before')\n        raise ValueError('L=0: must be >= 1')\n"), tmp_path)
    with pytest.raises(CellExecutionError, match="L=0: must be >= 1"):
        client.execute()
    outputs = _output_state(client)
    assert outputs[0]["text"] == "before\n" and "ValueError: L=0: must be >= 1" in outputs[1]["text"]


@pytest.mark.slow
def test_the_runner_calls_a_late_reply_a_stall_and_runs_once(tmp_path, monkeypatch):
    """tools/runner.py runs a notebook once, as nbconvert does, and a reply that reaches it later than the kernel
    sent it by more than STALL_SECONDS is an error naming the cell (here every cell, with the bound set below 0)."""
    from tools import runner

    path = tmp_path / "nb.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("open('ran', 'a').write('x')")]), path)
    runner.execute(path, timeout=60)
    monkeypatch.setattr(runner, "STALL_SECONDS", -1.0)
    with pytest.raises(RuntimeError, match="a headless stall: cell 0 waited"):
        runner.execute(path, timeout=60)
    assert (tmp_path / "ran").read_text() == "xx"  # two calls, two runs: no retry


@pytest.mark.slow
def test_the_runner_does_not_judge_a_cell_during_which_the_clock_was_stepped(tmp_path, monkeypatch):
    """A system clock stepped during a cell moves the kernel's stamps, not the runner's monotonic clock, so their
    difference says nothing about a stall: such a cell is not judged (here every cell looks late, as above, but
    the clock jumps 100 s between the runner's two readings)."""
    import types

    from tools import runner

    path = tmp_path / "nb.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]), path)
    monkeypatch.setattr(runner, "STALL_SECONDS", -1.0)
    readings = iter(range(0, 10_000, 100))
    monkeypatch.setattr(runner, "time", types.SimpleNamespace(
        monotonic=runner.time.monotonic, time=lambda: float(next(readings))))
    runner.execute(path, timeout=60)  # no stall raised

