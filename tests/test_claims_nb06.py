"""The comparisons notebooks/06_ppo.ipynb states, checked against the shipped artifacts.

- SGD vs Adam compressibility at L = 200 (searched and random actions) comes from the multi-seed trainer grid
  (data/trainer_grid/): the notebook's cells are run on the artifacts and their statement is recomputed here
  independently; skipped, saying so, while the grid's quad_sgd / quad_adam groups are incomplete.
- "With normalised advantages the gradient clipping acts on far more steps than without" against the shipped
  Hopper runs' gradient norms.
- Stale prose is gone: the design card, "trains Ant", numbers no cell computes, "Adam-trained changes compress
  worse" as a fact.
- §6 block by block: each parameter block's share of ‖Δw‖², its part of the whole-vector cos², its own cosine and
  its null's are recomputed from data/runs/ppo_hopper_batch_s0 with this file's own code (json and numpy for the
  run, gymnasium for the replay, a hand-written backward pass for the scores, numpy least squares, scipy's Welch
  and a written-out Holm), and compared with what the notebook's cell computes and with what its prose says.
- §5: the prose on the variants against the two batch seeds and on the critic's error says what the shipped runs
  show, recomputed from their arrays.npz and meta.json.
"""

from pathlib import Path

import nbformat
import numpy as np
import pytest

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
    """The notebook's cell states trainer_grid.versus_all over the picked seeds; each line's verdict is recomputed
    here from the raw grid with the independent rule (scipy Welch, written-out Holm over both lines, ≥ 5 seeds a
    side)."""
    from claims_verdicts import family

    from gc_helpers import trainer_grid

    sgd, adam = _cosines_at_200("quad_sgd"), _cosines_at_200("quad_adam")
    cell = next(c.source for c in _cells() if c.cell_type == "code" and "grid_claims = " in c.source)
    assert "trainer_grid.versus_all(" in cell and "searched L=200" in cell and "random L=200" in cell
    kinds = ("searched", "random")
    for kind in kinds:
        picked = trainer_grid.grid_metrics(trainer_grid.picked_group("quad_adam"))
        np.testing.assert_array_equal(picked[f"{kind} L=200"], adam[kind])
    words = family([(adam[k], sgd[k], "Adam", "SGD") for k in kinds])
    lines = trainer_grid.versus_all([("Adam", adam[k], "SGD", sgd[k], f"compressibility ({k} L=200)") for k in kinds])
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



# ------------------------------------------------------------------------------------------------------------
# Independent readers (json / numpy only) of the shipped PPO runs

RUNS = config.data_dir() / "runs"
PPO_RUNS = ["ppo_hopper_batch_s0", "ppo_hopper_batch_s1", "ppo_hopper_minibatch_s0", "ppo_hopper_none_s0",
            "ppo_halfcheetah_batch_s0", "ppo_halfcheetah_batch_s1"]


def _raw(name):
    import json

    folder = RUNS / name
    meta = json.loads((folder / "meta.json").read_text())
    with np.load(folder / "arrays.npz") as z:
        arrays = {k: z[k] for k in z.files}
    return meta, arrays


def _trailing_mean(y, window=10):
    """The mean of the finite values among the last ``window`` (fewer at the start), NaN where there is none."""
    y = np.asarray(y, dtype=float)
    out = np.full(y.size, np.nan)
    for t in range(y.size):
        part = y[max(0, t - window + 1):t + 1]
        part = part[np.isfinite(part)]
        if part.size:
            out[t] = part.mean()
    return out


def _markdown():
    return "\n".join(c.source for c in _cells() if c.cell_type == "markdown")


def _flat(text):
    return " ".join(text.split())


# ------------------------------------------------------------------------------------------------------------
# §5: the variants against the two batch seeds, and the critic's error


def _steps_to(arrays, level):
    y = _trailing_mean(arrays["mean_return"])
    hit = [t for t in range(y.size) if np.isfinite(y[t]) and y[t] >= level]
    return arrays["env_steps"][hit[0]] if hit else np.inf


def test_variants_against_the_batch_seeds_as_the_prose_says():
    """"none" outside the two batch seeds' range on all three measures, on the better side; "minibatch" inside on
    two, outside on one (later to 2000, the worse side); one seed a side, so no verdict."""
    raw = {n: _raw(n) for n in PPO_RUNS if "hopper" in n}
    measures = {"to 1000": (lambda m, a: _steps_to(a, 1000), -1), "to 2000": (lambda m, a: _steps_to(a, 2000), -1),
                "eval": (lambda m, a: m["evaluation"]["last"]["mean_return"], +1)}
    sides = {}
    for label, (f, sign) in measures.items():
        batch = [f(*raw[n]) for n in raw if raw[n][0]["config"]["adv_norm"] == "batch"]
        assert len(batch) == 2
        for m, a in raw.values():
            setting = m["config"]["adv_norm"]
            if setting == "batch":
                continue
            v = f(m, a)
            if min(batch) <= v <= max(batch):
                side = "inside"
            else:
                side = "better" if sign * (v - (max(batch) if sign > 0 else min(batch))) > 0 else "worse"
            sides[(setting, label)] = side
    assert [sides[("none", k)] for k in measures] == ["better"] * 3, sides
    assert [sides[("minibatch", k)] for k in measures] == ["inside", "worse", "inside"], sides
    text = _flat(_markdown())
    assert ('"none" lies outside the two batch seeds\' range on all three measures, each time on the better side'
            in text)
    assert ('"minibatch" lies inside the range on two measures and outside on one, on the worse side (later to '
            "2000)" in text)
    assert "it does not rank them either" in text
    code = [c.source for c in _cells() if c.cell_type == "code"]
    i = next(j for j, src in enumerate(code) if "def steps_to(" in src)
    cell = "\n".join(code[i:i + 2])  # the measures, then the table that prints them
    assert "no verdict" in cell and "stats.MIN_SEEDS" in cell


def test_the_critic_error_rises_again_in_the_runs_the_prose_names():
    rose, falls = [], []
    for name in PPO_RUNS:
        _, a = _raw(name)
        e = _trailing_mean(a["critic_error"])
        e = e[np.isfinite(e)]
        falls.append(e[0] / e.min())
        if e[-1] > 2 * e.min():
            rose.append(name)
    assert min(falls) > 10, falls  # "by more than an order of magnitude in every shipped run"
    assert rose == ["ppo_hopper_batch_s1", "ppo_hopper_none_s0", "ppo_halfcheetah_batch_s0"], rose
    text = _flat(_markdown())
    assert (f"ends more than twice above its minimum (10-update averages) in {len(rose)} of the {len(PPO_RUNS)} "
            "shipped runs (Hopper batch seed 1, Hopper without normalisation, HalfCheetah seed 0)") in text
    assert "by more than an order of magnitude in every shipped run" in text


# ------------------------------------------------------------------------------------------------------------
# §6: Δw block by block, recomputed with this file's own code

AGENT = "ppo_hopper_batch_s0"


def _layout(meta):
    """(name, size, shape) of the actor's flat parameters in the order the run stores them: log σ first, then the
    layers' weights (out × in, row-major) and biases."""
    dims = [meta["obs_dim"], *meta["hidden"], meta["act_dim"]]
    out = [("log_std", meta["act_dim"], (meta["act_dim"],))]
    for i in range(len(dims) - 1):
        out += [(f"net.{2 * i}.weight", dims[i + 1] * dims[i], (dims[i + 1], dims[i])),
                (f"net.{2 * i}.bias", dims[i + 1], (dims[i + 1],))]
    assert sum(s for _, s, _ in out) == meta["n_params"]
    return out


def _scores(theta, layout, obs_mean, obs_var, obs, actions):
    """∇θ log π(a_t|s_t) of the tanh-squashed Gaussian at flat weights θ, by a hand-written backward pass: the
    tanh log-determinant does not depend on θ, so only log N(u; μ(x), σ²) with u = atanh(a) counts."""
    params, start = {}, 0
    for name, size, shape in layout:
        params[name] = theta[start:start + size].reshape(shape)
        start += size
    x = np.clip((obs - obs_mean) / np.sqrt(obs_var + 1e-8), -10, 10)
    u = np.arctanh(np.clip(actions, -1 + 1e-6, 1 - 1e-6))
    n_layers = (len(layout) - 1) // 2
    hs = [x]
    for i in range(n_layers - 1):
        hs.append(np.tanh(hs[-1] @ params[f"net.{2 * i}.weight"].T + params[f"net.{2 * i}.bias"]))
    mu = hs[-1] @ params[f"net.{2 * (n_layers - 1)}.weight"].T + params[f"net.{2 * (n_layers - 1)}.bias"]
    var = np.exp(2 * params["log_std"])
    grads = {"log_std": (u - mu) ** 2 / var - 1.0}
    delta = (u - mu) / var  # ∂ log π / ∂ μ
    for i in range(n_layers - 1, -1, -1):
        grads[f"net.{2 * i}.weight"] = (delta[:, :, None] * hs[i][:, None, :]).reshape(len(x), -1)
        grads[f"net.{2 * i}.bias"] = delta
        if i:
            delta = (delta @ params[f"net.{2 * i}.weight"]) * (1 - hs[i] ** 2)
    return np.concatenate([grads[name] for name, _, _ in layout], axis=1)


def _replay_obs(actions, reset_seed=42):
    """Observations in which each action is taken, replayed open-loop in gymnasium from env.reset(seed=42)."""
    import gymnasium as gym

    env = gym.make("Hopper-v5")
    obs, _ = env.reset(seed=reset_seed)
    out = []
    for a in actions:
        out.append(obs)
        obs = env.unwrapped.step(a)[0]
    env.close()
    return np.array(out)


def _projection_cos(G, target):
    """cos(target, span of the columns of G) by numpy's least squares."""
    coef = np.linalg.lstsq(G, target, rcond=None)[0]
    d = G @ coef
    return float(np.linalg.norm(d) / np.linalg.norm(target)), d


def _block_cell():
    return next(c.source for c in _cells() if c.cell_type == "code" and "ppo_core.block_compressibility(" in c.source)


def _first_fraction():
    import re

    src = next(c.source for c in _cells() if c.cell_type == "code" and "FRACTIONS = " in c.source)
    return float(re.search(r"FRACTIONS = np\.array\(config\.pick\(\[([0-9.]+),", src).group(1))


@pytest.fixture(scope="module")
def blocks_recomputed():
    """Everything the block table prints, recomputed independently: per block name, share, part of cos² per
    sequence, own cosine and null cosine per sequence; and the notebook's own numbers (ppo_core, as the cell
    calls it)."""
    meta, a = _raw(AGENT)
    theta0 = a["checkpoints"][0].astype(np.float64)
    w = a["checkpoints"][-1].astype(np.float64) - theta0
    layout = _layout(meta)
    P = meta["n_params"]
    L = max(1, int(round(_first_fraction() * P)))
    seeds = range(10)
    slices, start = {}, 0
    for name, size, _ in layout:
        slices[name] = np.arange(start, start + size)
        start += size
    slices["all but log_std"] = np.arange(meta["act_dim"], P)
    slices["all of Δw"] = np.arange(P)
    mine = {k: {"share": float(np.sum(w[i] ** 2) / np.sum(w**2)), "part": [], "cos": [], "null": []}
            for k, i in slices.items()}
    whole = []
    for s in seeds:
        actions = np.random.default_rng(s).uniform(-1, 1, (L, meta["act_dim"]))
        G = _scores(theta0, layout, a["obs_mean"][-1], a["obs_var"][-1], _replay_obs(actions), actions)
        c, d = _projection_cos(G.T, w)
        whole.append(c)
        for k, i in slices.items():
            mine[k]["part"].append(float(d[i] @ w[i] / (w @ w)))
            mine[k]["cos"].append(_projection_cos(G[:, i].T, w[i])[0])
            mine[k]["null"].append(_projection_cos(G[:, i].T, np.random.default_rng(s).standard_normal(i.size))[0])

    from gc_helpers.training import ppo_core
    from gc_helpers.training.runs import load_run

    cell = _block_cell()
    assert "L_BLOCK = int(curve_ppo.lengths[0])" in cell and "BLOCK_SEEDS = range(config.pick(10," in cell
    assert '"all but log_std": np.flatnonzero(keep)' in cell and '"all of Δw": np.arange(w.size)' in cell
    run = load_run(AGENT, algo="ppo")
    pol0 = run.policy(0)
    pol0.obs_mean, pol0.obs_var = run.obs_mean[-1], run.obs_var[-1]
    blocks = ppo_core.parameter_blocks(pol0.actor)
    keep = np.ones(P, bool)
    keep[blocks["log_std"]] = False
    theirs = ppo_core.block_compressibility(pol0, run.weight_change, "Hopper-v5", L,
                                            blocks | {"all but log_std": np.flatnonzero(keep),
                                                      "all of Δw": np.arange(P)}, seeds=seeds)
    return {"L": L, "P": P, "mine": mine, "whole": np.array(whole), "theirs": theirs, "w": w}


def test_block_table_matches_an_independent_recomputation(blocks_recomputed):
    r = blocks_recomputed
    mine, bc = r["mine"], r["theirs"]
    assert list(bc.names) == list(mine)
    np.testing.assert_allclose(bc.whole, r["whole"], atol=1e-6)
    for j, name in enumerate(bc.names):
        m = mine[name]
        assert bc.share[j] == pytest.approx(m["share"], abs=1e-9), name
        np.testing.assert_allclose(bc.contribution[:, j], m["part"], atol=1e-6, err_msg=name)
        np.testing.assert_allclose(bc.cosines[:, j], m["cos"], atol=1e-6, err_msg=name)
        np.testing.assert_allclose(bc.null[:, j], m["null"], atol=1e-6, err_msg=name)
    # the shares the prose and the issue quote: log σ about 9 % of ‖Δw‖², the hidden layers most of the rest
    assert 0.05 < mine["log_std"]["share"] < 0.15
    hidden = sum(mine[k]["share"] for k in ("net.0.weight", "net.0.bias", "net.2.weight", "net.2.bias"))
    assert hidden > 0.8


def test_block_verdicts_and_the_reading_hold(blocks_recomputed):
    """The cell's verdicts (Welch over the sequences, Holm over the blocks with L < P_b) and the three bullets
    that read them, from the independent numbers."""
    from claims_verdicts import holm_adjusted, welch_p

    r = blocks_recomputed
    mine, L, P = r["mine"], r["L"], r["P"]
    tested = [k for k in mine if _size(k, P) > L]
    adjusted = dict(zip(tested, holm_adjusted([welch_p(mine[k]["cos"], mine[k]["null"]) for k in tested])))
    above = {k for k in tested if adjusted[k] <= 0.05 and np.mean(mine[k]["cos"]) > np.mean(mine[k]["null"])}
    # what the cell prints (its verdict words come from gc_helpers.stats; they must agree with this rule)
    from gc_helpers import stats

    bc = r["theirs"]
    calls = stats.holm_verdicts([stats.compare(bc.cosines[:, j], bc.null[:, j], label_a=n, label_b="its null")
                                 for j, n in enumerate(bc.names) if not bc.spanned[j]])
    assert {c.label_a for c in calls if c.winner == "a"} == above
    # "The headline is mostly log σ": more than half of cos² in every sequence
    part = np.array(mine["log_std"]["part"]) / r["whole"] ** 2
    assert np.all(part > 0.5), part
    # "The weight matrices, each on its own, beat their own null, by far less than the headline ratio, and their
    # part of the whole-vector cos² is about zero" (the hidden ones; the output layer's is small)
    headline_ratio = r["whole"][0] / np.sqrt(L / P)
    for k in ("net.0.weight", "net.2.weight", "net.4.weight"):
        assert k in above, k
        assert np.mean(mine[k]["cos"]) / np.mean(mine[k]["null"]) < headline_ratio / 2, k
    for k in ("net.0.weight", "net.2.weight"):
        assert abs(np.mean(mine[k]["part"])) < 0.005, k
    # "The hidden biases are not distinguishable from their nulls; the output bias, like log σ, is spanned"
    assert {"net.0.bias", "net.2.bias"}.isdisjoint(above)
    assert _size("net.4.bias", P) <= L and _size("log_std", P) <= L
    text = _flat(_markdown())
    for words in ("The headline is mostly $\\log\\sigma$.", "The weight matrices, each on its own, beat their own null",
                  "The hidden biases are not distinguishable from their nulls"):
        assert words in text, words


def _size(name, P):
    meta, _ = _raw(AGENT)
    if name == "all of Δw":
        return P
    if name == "all but log_std":
        return P - meta["act_dim"]
    return next(s for n, s, _ in _layout(meta) if n == name)
