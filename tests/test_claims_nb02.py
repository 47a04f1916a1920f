"""The comparisons notebooks/02_train_quadratic_agent.ipynb states, checked against the shipped artifacts.

- Every shipped REINFORCE run takes one optimiser step per batch, so the importance ratio is 1 and its cap never acts
  (the notebook says so and no longer presents importance-sampled reuse as the trainer in use).
- The trainer grid (data/trainer_grid/, bench/trainer_grid.py): the notebook's own cells pick each group's seeds,
  and every comparison it prints (which group is higher, whether the seed ranges overlap) is recomputed here
  independently from the artifacts. A group whose runs are not all there yet is skipped, saying so.
- Stale claims (a quadratic policy beating the MLP, Adam's change being much harder to compress, the design card) are
  not stated as facts in the prose.
"""

import ast
from pathlib import Path

import nbformat
import numpy as np
import pytest

from gc_helpers import config, store, trainer_grid

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "02_train_quadratic_agent.ipynb"
GRID = config.data_dir() / "trainer_grid"
GROUPS = ("quad_sgd", "quad_adam", "linear_sgd", "mlp_sgd")


def _cells():
    return nbformat.read(NOTEBOOK, as_version=4).cells


def _grid_runs(group):
    """{lr: [artifact, ...]} of a group, read independently of the notebook."""
    out = {}
    for meta in sorted(GRID.glob(f"{group}_lr*_s*/meta.json")):
        a = store.load(meta.parent, "trainer_grid")
        out.setdefault(a.meta["lr"], []).append(a)
    return out


def _picked(group):
    """The group's seeds at the rate the bench picked (best final training return on seed 0), or skip."""
    by_lr = _grid_runs(group)
    seed0 = {lr: a.meta["final_training_return"] for lr, arts in by_lr.items() for a in arts if a.meta["seed"] == 0}
    if not seed0:
        pytest.skip(f"trainer grid group {group}: not trained (run `bench/trainer_grid.py --groups {group}`)")
    arts = by_lr[max(seed0, key=seed0.get)]
    if len(arts) < 3:
        pytest.skip(f"trainer grid group {group}: {len(arts)} of 3 seeds at the picked rate so far")
    return arts


def _value(arts, key):
    if key in ("return", "length", "velocity"):
        name = {"return": "mean_return", "length": "mean_length", "velocity": "mean_forward_velocity"}[key]
        return np.array([a.meta["evaluation"][name] for a in arts])
    kind, L = key.split(" L=")
    return np.array([a[f"cos_{kind}"][list(a["lengths"]).index(int(L))] for a in arts])


def _stated_pairs():
    for cell in _cells():
        if cell.cell_type == "code" and "pairs = [" in cell.source:
            tree = ast.parse(cell.source)
            for node in ast.walk(tree):
                if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "pairs":
                    return ast.literal_eval(node.value)
    raise AssertionError("the notebook no longer lists the pairs it compares (a `pairs = [...]` cell)")


def test_shipped_runs_never_reuse_a_batch():
    from gc_helpers.training import load_run, runs_dir

    names = [p.name for p in runs_dir().iterdir() if p.name.startswith("ant_")]
    assert names
    for name in names:
        run = load_run(name)
        assert run.config.inner_steps == 1, name
        assert np.all(np.asarray(run.history["inner_steps"]) == 1), name
        assert np.all(np.asarray(run.history["max_ratio"]) == 1.0), name


def test_prose_states_no_stale_claim():
    text = "\n".join(c.source for c in _cells() if c.cell_type == "markdown")
    for stale in ("DESIGN" + ".md", "much harder to compress", "importance-sampled reuse (the study's trainer)",
                  "quadratic beats the MLP on MuJoCo"):
        assert stale not in text, stale
    assert "the cap can never act" in text


def test_stated_comparisons_match_the_artifacts():
    """The cell's lines (trainer_grid.versus_all over the stated pairs) against the independent rule of
    tests/claims_verdicts.py (scipy Welch, a written-out Holm over the cell's pairs, ≥ 5 seeds a side), both sides
    read straight from the grid's artifacts."""
    from claims_verdicts import family

    pairs = _stated_pairs()
    values = [(_value(_picked(a), key), _value(_picked(b), key)) for a, b, key in pairs]
    for a, _, _ in pairs:
        assert [x.meta["seed"] for x in trainer_grid.picked_group(a)] == sorted(x.meta["seed"] for x in _picked(a))
    words = family([(xa, xb, a, b) for (a, b, _), (xa, xb) in zip(pairs, values)])
    lines = trainer_grid.versus_all([(a, xa, b, xb, key) for (a, b, key), (xa, xb) in zip(pairs, values)])
    for (a, b, key), (xa, _xb), w, line in zip(pairs, values, words, lines):
        assert line.startswith(f"{key}: {a} {xa.mean():.3f} ± {xa.std(ddof=1):.3f} (n = {len(xa)}) vs {b}"), line
        assert line.endswith(w), (line, w)
    cell = next(c.source for c in _cells() if c.cell_type == "code" and "pairs = [" in c.source)
    assert "trainer_grid.versus_all(" in cell


@pytest.mark.parametrize("group", GROUPS)
def test_pick_note_names_the_picked_rate_and_says_when_it_is_at_the_edge(group):
    arts = _picked(group)
    lrs = sorted(_grid_runs(group))
    note = trainer_grid.pick_note(group)
    assert f"picked {arts[0].meta['lr']:g}" in note
    assert ("at the grid's edge" in note) == (arts[0].meta["lr"] in (lrs[0], lrs[-1]))
