"""Notebooks 04–07 as lessons: the derived exercises keep their formula after the check (folded), every
predict-then-run question comes before the output that answers it with a cell for the student's prediction and a
folded model answer after, and the slips the review found stay fixed (each checked on the text or by running the
cell that shows the number)."""

import re

import nbformat
import numpy as np
import pytest

from gc_helpers.config import project_root

NB = {n: project_root() / "notebooks" / f"{n}.ipynb" for n in
      ("04_alpha_optimisation", "05_line_search_decompression", "06_ppo", "07_fewest_pairs")}


def cells(name):
    return nbformat.read(NB[name], as_version=4).cells


def index(cs, text, kind=None):
    hits = [i for i, c in enumerate(cs) if text in c.source and (kind is None or c.cell_type == kind)]
    assert len(hits) == 1, f"{text!r}: {len(hits)} cells"
    return hits[0]


# (notebook, the check call, a piece of the formula the student derives): the formula only after the check
DERIVED = [("04_alpha_optimisation", "nb04.check_best_alpha(", r"G^\top G\,\alpha^\star = G^\top w"),
           ("05_line_search_decompression", "nb05.check_bootstrap(", "rng.integers(0, r.size"),
           ("06_ppo", "nb06.check_clipped_surrogate(", r"\operatorname{clip}(r, 1-\epsilon, 1+\epsilon)"),
           ("06_ppo", "nb06.check_log_det_tanh(", r"\operatorname{softplus}(-2u)"),
           ("07_fewest_pairs", "nb07.check_bc_mean(", r"(K + \lambda I)")]


@pytest.mark.parametrize("name, call, formula", DERIVED, ids=[c for _, c, _ in DERIVED])
def test_derived_exercise_shows_its_formula_only_after_the_check(name, call, formula):
    cs = cells(name)
    at = index(cs, call, "code")
    before = [i for i, c in enumerate(cs[:at]) if c.cell_type == "markdown" and formula in c.source]
    after = [i for i, c in enumerate(cs) if i > at and c.cell_type == "markdown" and formula in c.source]
    assert not before, f"{name}: the formula {formula!r} is shown before the exercise (cells {before})"
    assert after and all("<details>" in cs[i].source for i in after), f"{name}: no folded model answer after {call}"


PREDICTIONS = {"04_alpha_optimisation": ["4.3", "4.5"], "05_line_search_decompression": ["5.4"],
               "06_ppo": ["6.4"], "07_fewest_pairs": ["8.3"]}


@pytest.mark.parametrize("name, ex", [(n, e) for n, es in PREDICTIONS.items() for e in es])
def test_predict_then_run_order(name, ex):
    """The question, then a cell for the prediction, then (later) the folded model answer."""
    cs = cells(name)
    mine = index(cs, f"*Your prediction ({ex}):*" if ex != "4.5" else f"*Your sentence ({ex}):*", "markdown")
    assert ex in cs[mine - 1].source and cs[mine - 1].cell_type == "markdown", f"{ex}: the question is not just above"
    answer = index(cs, f"Model answer ({ex})", "markdown")
    assert answer > mine + 1 and cs[answer].source.lstrip().startswith("<details>")
    assert any(c.cell_type == "code" for c in cs[mine + 1:answer]), f"{ex}: no cell runs between question and answer"


@pytest.mark.parametrize("name", NB)
def test_every_model_answer_is_folded(name):
    for c in cells(name):
        if c.cell_type == "markdown" and "odel answer" in c.source:
            for m in re.finditer(r"[Mm]odel answer", c.source):
                head = c.source[max(0, m.start() - 40):m.start()]
                assert "<summary>" in head or "asked" in c.source, \
                    f"{name}: an unfolded model answer: {c.source[:80]!r}"


def test_slips_in_the_text_stay_fixed():
    text = {n: "\n".join(c.source for c in cells(n) if c.cell_type == "markdown") for n in NB}
    assert len(re.findall(r"^## 4 ·", text["04_alpha_optimisation"], re.M)) == 1, "04 has two §4"
    assert r"w_K - w_0 = -\eta" not in text["04_alpha_optimisation"], "04: SGD written as −η ĝ with ĝ the ascent"
    assert r"an SGD step is $-\eta\,\hat g$" not in text["06_ppo"], "06: SGD written as −η ĝ with ĝ the ascent"
    assert r"\delta_t = r_t + \gamma V(s'_t) - V(s_t)" in text["06_ppo"], "06: the truncated δ_t lacks − V(s_t)"
    assert "nearly $W_\\text{last}$" not in text["05_line_search_decompression"]
    assert "2–4 minutes" not in text["07_fewest_pairs"] and "several times faster" not in text["07_fewest_pairs"]
    assert "is inside the seed-to-seed spread" not in text["06_ppo"] and "then rises again while" not in text["06_ppo"]


def test_the_gae_toy_bootstraps_the_time_limit_from_the_true_final_observation():
    """Run the toy cell: δ at the time limit from next_values is that of a step that goes on (near r − (1 − γ)V),
    while the reset observation of the next episode (np.roll, the bug) would give a very different δ."""
    cs = cells("06_ppo")
    src = cs[index(cs, "T_TOY, GAMMA = 40, 0.99", "code")].source
    assert "np.roll" not in src
    scope = {"np": np, "widgets": __import__("ipywidgets")}
    exec(src, scope)
    v, nv, r, g = scope["toy_values"][:, 0], scope["toy_next"][:, 0], scope["toy_rewards"][:, 0], scope["GAMMA"]
    good = r[29] + g * nv[29] - v[29]
    bug = r[29] + g * v[30] - v[29]
    assert abs(good) < 10 < abs(bug), (good, bug)
    assert scope["toy_trunc"][29, 0] and scope["toy_term"][14, 0]


def test_downstream_cells_say_when_the_reference_is_used():
    for name, text in (("04_alpha_optimisation", "your function failed its check, using the reference"),
                       ("05_line_search_decompression", "your function failed its check, using the reference"),
                       ("07_fewest_pairs", "the reference (your function failed its check)")):
        assert any(text in c.source for c in cells(name) if c.cell_type == "code"), name
