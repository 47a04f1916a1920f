"""Every comparison notebook 05 states, checked against the shipped artifacts of bench/decompression.py
(data/decompressed_seeds/ant_quad_sgd), plus the protocol those artifacts must follow and the bench's bad-input
errors (0 seeds, duplicate seeds, fewer fresh episodes than the requested precision needs)."""

import importlib.util
from types import SimpleNamespace

import numpy as np
import pytest
from claims_verdicts import family

from gc_helpers import recovery, store
from gc_helpers.config import data_dir, project_root

FOLDER = data_dir() / "decompressed_seeds" / "ant_quad_sgd"
KEYS = ("returns", "velocity", "net")
LENGTHS = (50, 100, 200, 490)


def _bench():
    spec = importlib.util.spec_from_file_location("bench_decompression", project_root() / "bench" / "decompression.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def ref():
    return store.load(FOLDER / "reference", "decompressed_seed", run="ant_quad_sgd")


def _table_folder():
    """The folder notebook 05 and the README read: refined/ once it holds every direction of the 4-point table."""
    old = [p.parent.name for p in FOLDER.glob("*/meta.json")
           if p.parent.name != "reference" and not p.parent.name.startswith("search_")]
    want = [n + "_s0" if n.startswith("bc_L") else n for n in old]
    done = all((FOLDER / "refined" / n / "meta.json").is_file() for n in want)
    return FOLDER / "refined" if done else FOLDER


def _read_rows(ref, folder):
    out = []
    for path in sorted(folder.iterdir()):
        if path.name == "reference" or path.name.startswith("search_") or not (path / "meta.json").is_file():
            continue
        a = store.load(path, "decompressed_seed", run="ant_quad_sgd")
        r = dict(a.meta, name=path.name, arrays=a)
        for key in KEYS:
            r[key] = recovery.bootstrap_recovered(a[f"fresh_{key}"], ref[f"first_{key}"], ref[f"last_{key}"])
        out.append(r)
    return out


@pytest.fixture(scope="module")
def rows(ref):
    return _read_rows(ref, _table_folder())


def _by(rows, kind, L=None):
    return [r for r in rows if r["direction"] == kind and (L is None or r["L"] == L)]


def _expected_verdicts(rows):
    """{(L, key): verdict words} by the independent rule (scipy Welch, Holm over every (L, measure), ≥ 5 seeds)."""
    pairs, where = [], []
    for L in LENGTHS:
        for key in KEYS:
            bc = [r[key][0] for r in _by(rows, "bc", L)]
            comp = [r[key][0] for r in _by(rows, "compressed", L)]
            if len(bc) >= 2 and len(comp) >= 2:
                pairs.append((bc, comp, "BC", "compressed"))
                where.append((L, key))
            elif bc and comp:
                where.append((L, key))
                pairs.append(None)
    words = family([p for p in pairs if p is not None])
    it = iter(words)
    return {w: (next(it) if p is not None else
                f"n = {min(len(_by(rows, 'bc', w[0])), len(_by(rows, 'compressed', w[0])))}: no verdict")
            for w, p in zip(where, pairs)}


def test_every_direction_is_shipped(rows):
    for L in LENGTHS:
        assert len(_by(rows, "bc", L)) >= 1, f"behaviour cloning at L = {L}"
        assert len({r["search_seed"] for r in _by(rows, "compressed", L)}) >= 3, f"≥ 3 search seeds at L = {L}"
    assert len(_by(rows, "exact")) == 1 and len(_by(rows, "random")) == 1


def test_protocol_fresh_episodes_and_precision(ref, rows):
    assert ref.meta["gap_stderr"] <= ref.meta["precision"] * ref.meta["gap"]
    first, last = ref.meta["first_seed"], ref.meta["last_seed"]
    n_last = len(ref["last_returns"])
    assert n_last >= ref.meta["episodes_needed"]
    for r in rows:
        assert r["fresh_episodes"] >= 20 and len(r["arrays"]["fresh_returns"]) == r["fresh_episodes"]
        fresh = set(range(r["fresh_seed"], r["fresh_seed"] + r["fresh_episodes"]))
        select = set(range(r["select_seed"], r["select_seed"] + r["select_episodes"]))
        assert not fresh & select, f"{r['name']}: β picked on the episodes that report it"
        assert not fresh & set(range(first, first + len(ref["first_returns"])))
        assert not fresh & set(range(last, last + n_last))
        assert r["best_beta"] == r["arrays"]["betas"][int(np.argmax(r["arrays"]["select_returns"]))]


def test_standing_still_earns_the_alive_bonus(ref):
    # §0: the untrained policy stands and collects about one point per step
    assert np.all(ref["first_lengths"] == 1000)
    assert 950 <= ref["first_returns"].mean() <= 1000
    assert abs(ref["first_net"].mean()) < 50


def test_the_trained_policy_falls_in_some_episodes(ref):
    # §3 and "What we saw": its per-episode returns spread widely; some episodes end early
    assert np.mean(ref["last_lengths"] < 1000) > 0.05
    assert np.std(ref["last_returns"], ddof=1) > 0.5 * ref.meta["gap"]


def test_random_actions_are_the_floor(rows):
    rand = _by(rows, "random")[0]
    for key in KEYS:
        assert rand[key][0] < 0.1, "random actions with their best α teach (almost) nothing"
        assert all(r[key][0] > rand[key][2] for r in _by(rows, "compressed") + _by(rows, "bc"))


def test_bc_direction_is_closer_to_dw_at_490(rows):
    # §4, why BC wins: with 490 expert pairs over 406 features BC nearly reads off W_last
    bc = _by(rows, "bc", 490)[0]["cosine"]
    assert bc > max(r["cosine"] for r in _by(rows, "compressed", 490))


def test_printed_verdicts_match_the_independent_rule(rows):
    """Notebook 05 prints recovery.seed_verdicts' lines (and the README the same); each one's verdict is recomputed here
    from the artifacts' per-seed ρ with scipy's Welch test and a written-out Holm."""
    import nbformat

    src = "\n".join(c.source for c in nbformat.read(project_root() / "notebooks" /
                                                   "05_line_search_decompression.ipynb", 4).cells)
    assert "recovery.seed_verdicts(rows)" in src and "def verdict(" not in src
    from gc_helpers.recovery import seed_rows

    _, pkg_rows = seed_rows(FOLDER, sub="refined" if _table_folder() != FOLDER else None)
    printed = {(L, key.replace("rho_", "")): text for L, key, _, text in recovery.seed_verdicts(pkg_rows)}
    expected = _expected_verdicts(rows)
    assert set(printed) == set(expected)
    for k, words in expected.items():
        assert printed[k].endswith(words), (k, printed[k], words)
    readme = (project_root() / "README.md").read_text()
    names = {"returns": "ρ return", "velocity": "ρ velocity", "net": "ρ return − alive"}
    for (L, key), text in printed.items():
        assert f"- L = {L}, {names[key]}: {text}" in readme


def test_cosines_close_at_short_length_yet_bc_recovers_more(rows):
    # §4: at L = 50 the cosines differ by little, yet BC recovers far more (in the means over seeds; whether that is
    # a verdict is the printed test's business)
    bc = _by(rows, "bc", 50)
    comp = _by(rows, "compressed", 50)
    assert np.mean([r["cosine"] for r in bc]) - np.mean([r["cosine"] for r in comp]) < 0.05
    assert np.mean([r["returns"][0] for r in bc]) > 2 * np.mean([r["returns"][0] for r in comp])


def test_no_pick_at_an_edge_unflagged(ref):
    """Every shipped line search (4-point and refined; notebook 05's folder and the fewest-pairs cells): a pick
    that is the smallest or largest β tried is flagged — in the artifact (refined) or by the loader that prints
    the table (4-point) — and a flag is never set on an inside pick."""
    from gc_helpers.recovery import seed_rows

    for sub in (None, "refined"):
        if sub and not (FOLDER / sub).is_dir():
            continue
        _, loaded = seed_rows(FOLDER, sub=sub)
        for r in loaded:
            a = store.load((FOLDER / sub if sub else FOLDER) / r["name"], "decompressed_seed")
            b = a["betas"]
            at_edge = "low" if r["best_beta"] <= b.min() else "high" if r["best_beta"] >= b.max() else ""
            assert r["edge"] == at_edge, r["name"]
            if sub:
                assert a.meta["edge"] == at_edge and a.meta["select_episodes"] >= 10, r["name"]
    import json

    from gc_helpers import fewest_pairs_table as T

    for table in sorted((data_dir() / "fewest_pairs").glob("*/**/table/meta.json")):
        t = T.load_table(root=table.parent.parent)
        for name in t.meta["cells"]:
            m = json.loads((table.parent.parent / "cells" / name / "meta.json").read_text())
            betas = m["protocol"]["betas"] if "edge" not in m else \
                store.load(table.parent.parent / "cells" / name, T.CELL_KIND)["betas"].tolist()
            at_edge = "low" if m["beta"] <= min(betas) else "high" if m["beta"] >= max(betas) else ""
            assert T.cell_edge(table.parent.parent, name) == at_edge, name
            if "edge" in m:
                assert m["edge"] == at_edge, name


def test_compressed_cosines_match_the_spread_searches(rows):
    # seeds 0-2 are bench/spread.py's searches (RECOMMENDED, same seeds): same cosines at every L. Seeds 3-4 were
    # run later by bench/decompression.py (same settings, one worker thread) and agree with spread's only up to L = 50
    for r in _by(rows, "compressed"):
        if r["search_seed"] > 2 and r["L"] > 50:
            continue
        path = data_dir() / "spread" / "ant_quad_sgd_recommended" / f"weight_change_s{r['search_seed']}"
        if (path / "meta.json").is_file():
            s = store.load(path)
            assert r["cosine"] == pytest.approx(float(s["cosine"][list(s["lengths"]).index(r["L"])]), abs=1e-6)


# ---- bad input ----------------------------------------------------------------------------------------------


def test_zero_seeds_is_an_error():
    with pytest.raises(ValueError, match="seeds=\\[\\]"):
        _bench().check_seeds([], "seeds")


def test_duplicate_seeds_is_an_error():
    with pytest.raises(ValueError, match="seeds=.*repeats \\[1\\]"):
        _bench().check_seeds([0, 1, 1], "seeds")


def test_too_few_fresh_episodes_is_an_error():
    b = _bench()
    needed = b.episodes_needed(std_last=1200.0, std_first=5.0, n_first=20, gap=1000.0, precision=0.05)
    assert needed == pytest.approx(1200.0**2 / (50.0**2 - 25.0 / 20), rel=1e-3, abs=1)
    with pytest.raises(ValueError, match="last_episodes=100"):
        b.check_enough_episodes(100, needed, "last_episodes")
    assert b.check_enough_episodes(needed, needed) == needed


def test_impossible_precision_names_the_argument():
    b = _bench()
    with pytest.raises(ValueError, match="precision"):
        b.episodes_needed(1000.0, 5.0, 20, 800.0, precision=0.0)
    with pytest.raises(ValueError, match="n_first"):
        b.episodes_needed(1000.0, 500.0, 2, 100.0, precision=0.05)


def test_main_rejects_duplicate_seeds(capsys):
    with pytest.raises(SystemExit):
        _bench().main(["--seeds", "0", "0", "--out", "/nonexistent"])
    assert "repeats" in capsys.readouterr().err


def test_reference_tops_up_a_looser_one_and_resumes(tmp_path, monkeypatch):
    """A stored reference at 30 % is topped up to 10 %: the stored episodes are kept as they were, the new ones
    continue the seed block, the artifact is saved after every chunk, and a looser rerun evaluates nothing."""
    b = _bench()
    calls = []

    def fake_stats(policy, n, seed, horizon):  # w_first: "first", returns ~1000 ± 5; w_last ~2000 ± 1500, per seed
        assert horizon == 1000  # reference's default, passed down
        calls.append((policy, n, seed))
        rng = [np.random.default_rng(s) for s in range(seed, seed + n)]
        mean, sd = (1000.0, 5.0) if policy.name == "first" else (2000.0, 1500.0)
        r = np.array([g.normal(mean, sd) for g in rng])
        return {"returns": r, "lengths": np.full(n, 1000.0), "alive": np.full(n, 1000.0),
                "velocity": r / 1000, "net": r - 1000}

    monkeypatch.setattr(b, "episode_stats", fake_stats)
    policies = {0: SimpleNamespace(name="first", env_id="Ant-v5"), -1: SimpleNamespace(name="last", env_id="Ant-v5")}
    monkeypatch.setattr(b.C, "run_policy", lambda run, i: policies[i])
    monkeypatch.setattr(b, "CHUNK", 40)
    b.reference("ant_quad_sgd", tmp_path, 0.3, pilot=4, n_first=5, n_last=None)
    loose = store.load(tmp_path / "reference", "decompressed_seed")
    assert loose.meta["gap_stderr"] <= 0.3 * loose.meta["gap"]
    calls.clear()
    b.reference("ant_quad_sgd", tmp_path, 0.1, pilot=4, n_first=5, n_last=None)
    tight = store.load(tmp_path / "reference", "decompressed_seed")
    n0, n1 = len(loose["last_returns"]), len(tight["last_returns"])
    assert n1 > n0 and tight.meta["gap_stderr"] <= 0.1 * tight.meta["gap"] and tight.meta["precision"] == 0.1
    np.testing.assert_array_equal(tight["last_returns"][:n0], loose["last_returns"])  # nothing stored is lost
    np.testing.assert_array_equal(tight["first_returns"], loose["first_returns"])
    assert calls[0][2] == tight.meta["last_seed"] + n0  # new episodes continue the seed block
    assert all(policy.name == "last" and n <= 40 for policy, n, _ in calls)
    calls.clear()
    b.reference("ant_quad_sgd", tmp_path, 0.2, pilot=4, n_first=5, n_last=None)
    assert calls == []
