"""The comparisons notebooks/06_ppo.ipynb states, checked against the shipped artifacts.

- SGD vs Adam compressibility at L = 200 (searched and random actions) comes from the multi-seed trainer grid
  (data/trainer_grid/): the notebook's cells are run on the artifacts and their statement is recomputed here
  independently; skipped, saying so, while the grid's quad_sgd / quad_adam groups are incomplete.
- "With normalised advantages the gradient clipping acts on far more steps than without" against the shipped
  Hopper runs' gradient norms.
- Stale prose is gone: the design card, "trains Ant", numbers no cell computes, "Adam-trained changes compress
  worse" as a fact.
"""

from pathlib import Path

import nbformat
import numpy as np

from gc_helpers import config

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "06_ppo.ipynb"
GRID = config.data_dir() / "trainer_grid"


def _cells():
    return nbformat.read(NOTEBOOK, as_version=4).cells


def _cosines_at_200(group):
    """{kind: per-seed cosines at L = 200} at the rate the bench picked, read independently of the package (the
    same independent reader as notebook 02's claims), or skip."""
    from test_claims_nb02 import _picked, _value

    arts = _picked(group)
    return {k: _value(arts, f"{k} L=200") for k in ("searched", "random")}


def test_sgd_vs_adam_statement_matches_the_grid():
    """The notebook's cell states sp.versus_all over the picked seeds; each line's verdict is recomputed here from
    the raw grid with the independent rule (scipy Welch, written-out Holm over both lines, ≥ 5 seeds a side)."""
    from claims_verdicts import family

    from gc_helpers import spread_plots as sp

    sgd, adam = _cosines_at_200("quad_sgd"), _cosines_at_200("quad_adam")
    cell = next(c.source for c in _cells() if c.cell_type == "code" and "grid_claims = " in c.source)
    assert "sp.versus_all(" in cell and "searched L=200" in cell and "random L=200" in cell
    kinds = ("searched", "random")
    for kind in kinds:
        np.testing.assert_array_equal(sp.grid_metrics(sp.picked_group("quad_adam"))[f"{kind} L=200"], adam[kind])
    words = family([(adam[k], sgd[k], "Adam", "SGD") for k in kinds])
    lines = sp.versus_all([("Adam", adam[k], "SGD", sgd[k], f"compressibility ({k} L=200)") for k in kinds])
    for k, w, line in zip(kinds, words, lines):
        assert line.endswith(w) and f"Adam {adam[k].mean():.3f}" in line, (line, w)


def test_gradient_clipping_acts_more_with_normalised_advantages():
    from gc_helpers.training import runs

    def clipped_share(name):
        run = runs.load_run(name, algo="ppo")
        return float(np.mean(np.asarray(run.history["grad_norm"]) > run.config.max_grad_norm))

    none = clipped_share("ppo_hopper_none_s0")
    for name in ("ppo_hopper_batch_s0", "ppo_hopper_batch_s1", "ppo_hopper_minibatch_s0"):
        assert clipped_share(name) > 2 * none + 0.5, name


def test_prose_states_no_stale_claim():
    text = "\n".join(c.source for c in _cells() if c.cell_type == "markdown")
    for stale in ("DESIGN" + ".md", "trains Ant", "≈ 4.3", "≈ 0.13", "974–2775", "6–17 minutes",
                  "Why an Adam-trained weight change compresses worse"):
        assert stale not in text, stale
