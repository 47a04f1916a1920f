"""Unit tests of the core modules: envs (exact replay, rollouts), policies (scores, parameters), store, config."""

import json

import numpy as np
import pytest
import torch

from gc_helpers import config, envs, policies, rollouts, sim, store
from gc_helpers.rollouts import EnvPool

ENV_IDS = sim.supported_env_ids()


def random_actions(env_id, shape, seed=0):
    spec = envs.env_spec(env_id)
    return np.random.default_rng(seed).uniform(spec.act_low, spec.act_high, (*shape, spec.act_dim))


# ================================================================================================================
# envs


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_replay_matches_env_step(env_id):
    start = envs.reset_state(env_id, 42)
    actions = random_actions(env_id, (2, 15), seed=1)
    r = envs.replay(start, actions)
    env = sim.make_env(env_id)
    try:
        for b in range(len(actions)):
            obs, _ = env.reset(seed=42)
            assert np.array_equal(r.obs[b, 0], obs)
            for t, a in enumerate(actions[b]):
                obs, reward, terminated, _, info = env.step(a)
                assert np.array_equal(r.obs[b, t + 1], obs), f"obs differ at b={b}, t={t}"
                assert r.reward[b, t] == reward, f"reward differs at b={b}, t={t}"
                assert r.forward_velocity[b, t] == info["x_velocity"]
                assert r.terminated[b, t] == terminated
                if terminated:  # gymnasium's episode ends here; the replay keeps going open loop
                    break
    finally:
        env.close()


def _split_replay(env_id, cut=5):
    start = envs.reset_state(env_id, 42)
    actions = random_actions(env_id, (12,), seed=2)
    whole = envs.replay(start, actions[None])
    mid = envs.advance(start, actions[:cut])
    return whole, mid, envs.replay(mid, actions[None, cut:])


@pytest.mark.parametrize("env_id", ["Ant-v5", "HalfCheetah-v5"])
def test_replay_from_advanced_state_equals_one_shot(env_id):
    whole, mid, rest = _split_replay(env_id)
    assert np.array_equal(mid.physics, whole.physics[0, 5])
    assert np.array_equal(mid.obs, whole.obs[0, 5])
    assert np.array_equal(rest.physics[0], whole.physics[0, 5:])
    assert np.array_equal(rest.obs[0], whole.obs[0, 5:])
    # rewards too, including the first resumed step (StartState carries the x position the env reads)
    for field in ("reward", "forward_velocity", "ctrl_cost", "contact_cost", "terminated"):
        assert np.array_equal(getattr(rest, field)[0], getattr(whole, field)[0, 5:]), field


def test_replay_does_not_depend_on_threads():
    start = envs.reset_state("Ant-v5", 42)
    actions = random_actions("Ant-v5", (5, 8), seed=3)
    one, two = envs.replay(start, actions, n_threads=1), envs.replay(start, actions, n_threads=2)
    for field in ("obs", "physics", "reward", "forward_velocity", "terminated"):
        assert np.array_equal(getattr(one, field), getattr(two, field)), field


def test_spec_of_ant():
    spec = envs.env_spec("Ant-v5")
    assert (spec.obs_dim, spec.act_dim, spec.frame_skip) == (27, 8, 5)
    assert spec.dt == pytest.approx(0.05)


def test_rollout_is_reproducible_and_masks_after_the_end():
    pool = rollouts.EnvPool("Hopper-v5", 2)
    fn = lambda obs: np.ones((len(obs), 3))  # noqa: E731  (a policy that makes Hopper fall)
    a, b = rollouts.rollout(pool, fn, horizon=60, seed=5, noise_std=0.1), rollouts.rollout(pool, fn, horizon=60, seed=5,
                                                                                   noise_std=0.1)
    assert np.array_equal(a.rewards, b.rewards)
    assert np.all(a.rewards[~a.mask] == 0) and np.all(a.lengths == a.mask.sum(1))
    assert np.all(a.lengths[a.terminated] < 60)


def _zero_fn(obs):
    return np.zeros((len(obs), 8))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: envs.reset_state("Ant-v4", 0), "env_id"),
        (lambda: envs.env_spec("CartPole-v1"), "env_id"),
        (lambda: sim.make_env("nope"), "env_id"),
        (lambda: rollouts.EnvPool("nope", 1), "env_id"),
        (lambda: envs.replay(envs.reset_state("Ant-v5", 0), np.full((1, 3, 8), np.nan)), "NaN"),
        (lambda: envs.replay(envs.reset_state("Ant-v5", 0), np.zeros((1, 3, 7))), "shape"),
        (lambda: envs.replay(envs.reset_state("Ant-v5", 0), np.zeros((1, 0, 8))), "shape"),
        (lambda: envs.replay(envs.reset_state("Ant-v5", 0), np.zeros((1, 3, 8)), n_threads=0), "n_threads"),
        (lambda: envs.advance(envs.reset_state("Ant-v5", 0), np.zeros((2, 3, 8))), "shape"),
        (lambda: rollouts.rollout(EnvPool("Ant-v5", 1), _zero_fn, horizon=0, seed=0), "horizon"),
        (lambda: rollouts.rollout(EnvPool("Ant-v5", 1), _zero_fn, horizon=5, seed=-1), "seed"),
        (lambda: rollouts.rollout(EnvPool("Ant-v5", 1), _zero_fn, horizon=5, seed=0, noise_std=-1), "noise_std"),
        (lambda: rollouts.rollout(rollouts.EnvPool("Ant-v5", 1), lambda o: np.zeros((1, 3)), 5, 0), "mean_fn"),
        (lambda: rollouts.EnvPool("Ant-v5", 0), "n_envs"),
        (lambda: envs.reset_state("Ant-v5", -1), "seed"),
        (lambda: envs.reset_state("Ant-v5", 1.5), "seed"),
    ],
)
def test_env_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ================================================================================================================
# policies


def random_policy(kind, obs_dim=6, act_dim=3, sigma=0.3, seed=0):
    rng = np.random.default_rng(seed)
    norm = policies.Normalizer(rng.normal(size=obs_dim), rng.uniform(0.5, 2.0, obs_dim))
    policy = policies.make_policy(kind, obs_dim, act_dim, sigma, norm, hidden=8, seed=seed)
    return policy.set_flat(0.1 * rng.normal(size=policy.n_params))


@pytest.mark.parametrize("kind", policies.KINDS)
def test_score_matches_autograd_loop(kind):
    policy = random_policy(kind)
    rng = np.random.default_rng(1)
    obs, actions = rng.normal(size=(7, 6)), rng.normal(size=(7, 3))
    score = policy.score(obs, actions).detach().numpy()
    assert score.shape == (7, policy.n_params)
    for t in range(7):
        policy.zero_grad()
        policy.log_prob(obs[t], actions[t]).backward()
        loop = torch.cat([p.grad.reshape(-1) for p in policy.parameters()]).numpy()
        assert np.linalg.norm(score[t] - loop) <= 1e-6 * np.linalg.norm(loop), f"step {t}"


def test_quadratic_feature_count():
    for d in (1, 2, 5, 27):
        assert policies.n_features("quadratic", d) == 1 + d + d * (d + 1) // 2
        assert policies.n_features("linear", d) == 1 + d
    ant = policies.make_policy("quadratic", 27, 8, 0.1)
    assert policies.n_features("quadratic", 27) == 406 and ant.n_params == 3248
    assert ant.features(np.zeros(27)).shape == (406,)


@pytest.mark.parametrize("kind, init", [("linear", None), ("quadratic", None), ("mlp", "zero")])
def test_zero_init_gives_zero_mean(kind, init):
    policy = policies.make_policy(kind, 6, 3, 0.5, init=init)
    mean = policy.mean(np.random.default_rng(0).normal(size=(4, 6)))
    assert mean.shape == (4, 3) and torch.all(mean == 0)
    assert np.all(policy.mean_fn()(np.ones((2, 6))) == 0)


@pytest.mark.parametrize("kind", policies.KINDS)
def test_flat_roundtrip(kind):
    policy = random_policy(kind)
    theta = np.random.default_rng(3).normal(size=policy.n_params)
    assert np.array_equal(policy.set_flat(theta).flat(), theta)
    other = policy.with_flat(np.zeros(policy.n_params))
    assert np.array_equal(policy.flat(), theta) and np.all(other.flat() == 0)


@pytest.mark.parametrize("kind", policies.KINDS)
def test_description_roundtrip(kind):
    policy = random_policy(kind)
    desc = json.loads(json.dumps(policies.describe(policy)))
    rebuilt = policies.from_description(desc, policy.flat())
    assert policies.describe(rebuilt) == policies.describe(policy)
    obs = np.random.default_rng(4).normal(size=(5, 6))
    assert torch.equal(rebuilt.mean(obs), policy.mean(obs))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: policies.make_policy("linear", 4, 2, 0.0), "sigma"),
        (lambda: policies.make_policy("linear", 4, 2, -1.0), "sigma"),
        (lambda: policies.make_policy("linear", 4, 2, float("nan")), "sigma"),
        (lambda: policies.make_policy("cubic", 4, 2, 0.1), "kind"),
        (lambda: policies.make_policy("linear", 4, 2, 0.1).mean(np.zeros((3, 5))), "obs"),
        (lambda: policies.make_policy("mlp", 4, 2, 0.1).mean(np.zeros(5)), "obs"),
        (lambda: policies.make_policy("linear", 4, 2, 0.1).log_prob(np.zeros((3, 4)), np.full((3, 2), np.nan)), "NaN"),
        (lambda: policies.make_policy("quadratic", 4, 2, 0.1).score(np.zeros((3, 4)), np.full((3, 2), np.nan)), "NaN"),
        (lambda: policies.make_policy("mlp", 4, 2, 0.1).score(np.zeros((3, 4)), np.full((3, 2), np.nan)), "NaN"),
        (lambda: policies.make_policy("linear", 4, 2, 0.1).score(np.zeros((3, 4)), np.zeros((2, 2))), "actions"),
        (lambda: policies.make_policy("linear", 4, 2, 0.1).set_flat(np.zeros(9)), "theta"),
        (lambda: policies.make_policy("linear", 4, 2, 0.1).set_flat(np.full(10, np.nan)), "theta"),
        (lambda: policies.make_policy("linear", 4, 2, 0.1, init="random"), "init"),
        (lambda: policies.from_description({"policy_kind": "linear"}), "lacks"),
    ],
)
def test_policy_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ================================================================================================================
# store


def _save_example(path, **meta):
    arrays = {"theta": np.arange(6.0).reshape(2, 3), "steps": np.array([1, 2, 3]), "names": np.array(["a", "bc"])}
    meta = {"env_id": "Ant-v5", "n_params": 3248, "seed": np.int64(7), "nested": {"x": [1, 2]}, **meta}
    return store.save(path, "run", arrays, meta), arrays


def test_store_roundtrip(tmp_path):
    path, arrays = _save_example(tmp_path / "runs" / "demo")
    art = store.load(path, kind="run", env_id="Ant-v5", n_params=3248)
    assert set(art.arrays) == set(arrays)
    for name, value in arrays.items():
        assert np.array_equal(art[name], value) and art[name].dtype == value.dtype
    assert art.meta["seed"] == 7 and art.meta["nested"] == {"x": [1, 2]}
    assert art.meta["kind"] == "run" and art.meta["format_version"] == store.FORMAT_VERSION
    assert "torch" in art.meta["versions"]
    with pytest.raises(KeyError, match="theta"):
        art["missing"]


@pytest.mark.parametrize(
    "expect, match",
    [({"kind": "compressed"}, "kind='run'; expected kind='compressed'"), ({"env_id": "Hopper-v5"}, "env_id"),
     ({"n_params": 406}, "n_params")],
)
def test_store_load_mismatch(tmp_path, expect, match):
    path, _ = _save_example(tmp_path / "demo")
    with pytest.raises(ValueError, match=match):
        store.load(path, **expect)


def test_store_failed_save_keeps_previous(tmp_path, monkeypatch):
    path, arrays = _save_example(tmp_path / "demo")
    with pytest.raises((TypeError, ValueError)):
        store.save(path, "run", {"theta": np.zeros(2)}, {"bad": object()})

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(store.np, "savez_compressed", broken)
    with pytest.raises(OSError):
        store.save(path, "run", {"theta": np.zeros(2)}, {"env_id": "Ant-v5"})
    art = store.load(path, kind="run")
    assert np.array_equal(art["theta"], arrays["theta"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"], "temporary folders left behind"


def test_store_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        store.load(tmp_path / "nothing")
    with pytest.raises(ValueError, match="kind"):
        store.save(tmp_path / "x", "", {}, {})
    with pytest.raises(ValueError, match="array name"):
        store.save(tmp_path / "x", "run", {"not a name": np.zeros(1)}, {})
    store.save(tmp_path / "x", "run", {}, {})
    with pytest.raises(FileExistsError):
        store.save(tmp_path / "x", "run", {}, {}, overwrite=False)


# ================================================================================================================
# config


@pytest.mark.parametrize("value", ["1", "true", "yes", "TRUE", " Yes "])
def test_gc_fast_on(monkeypatch, value):
    monkeypatch.delenv("GC_PRESET", raising=False)
    monkeypatch.setenv("GC_FAST", value)
    assert config.preset_name() == "fast" and config.pick("f", "F") == "f"


@pytest.mark.parametrize("value", [None, "", "0", "false", "no"])
def test_gc_fast_off(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("GC_FAST", raising=False)
    else:
        monkeypatch.setenv("GC_FAST", value)
    monkeypatch.delenv("GC_PRESET", raising=False)
    assert config.preset_name() == "class" and config.pick("f", "F") == "f"
    assert config.pick("f", "F", classroom="c") == "c"


@pytest.mark.parametrize("preset,expected", [("fast", "f"), ("class", "c"), ("full", "F"), (" FULL ", "F")])
def test_gc_preset(monkeypatch, preset, expected):
    monkeypatch.delenv("GC_FAST", raising=False)
    monkeypatch.setenv("GC_PRESET", preset)
    assert config.pick("f", "F", classroom="c") == expected


@pytest.mark.parametrize("fast,preset", [("1", "class"), ("yes", "full")])
def test_gc_fast_and_gc_preset_contradict(monkeypatch, fast, preset):
    monkeypatch.setenv("GC_FAST", fast)
    monkeypatch.setenv("GC_PRESET", preset)
    with pytest.raises(ValueError, match="GC_FAST.*GC_PRESET"):
        config.preset_name()


@pytest.mark.parametrize("preset", ["paper", "lecture", "2"])
def test_unknown_preset(monkeypatch, preset):
    monkeypatch.delenv("GC_FAST", raising=False)
    monkeypatch.setenv("GC_PRESET", preset)
    with pytest.raises(ValueError, match="GC_PRESET=.*allowed values are fast, class, full"):
        config.preset_name()


@pytest.mark.parametrize("value", ["2", "maybe", "fast"])
def test_gc_fast_garbage(monkeypatch, value):
    monkeypatch.setenv("GC_FAST", value)
    with pytest.raises(ValueError, match="GC_FAST"):
        config.preset_name()


def test_folders_follow_gc_root(monkeypatch, tmp_path):
    monkeypatch.setenv("GC_ROOT", str(tmp_path))
    assert config.video_dir() == tmp_path / "videos" and config.figure_dir() == tmp_path / "figures"
    assert config.data_dir() == tmp_path / "data" and config.out_dir() == tmp_path / "out"


def test_root_found_from_the_working_directory(monkeypatch, tmp_path):
    """A package installed outside the repository finds data/ from a notebook's folder inside a clone."""
    monkeypatch.delenv("GC_ROOT", raising=False)
    (tmp_path / "data" / "runs").mkdir(parents=True)
    (tmp_path / "notebooks").mkdir()
    monkeypatch.setattr(config, "_has_data", lambda folder: (folder / "data" / "runs").is_dir()
                        and folder.resolve() == tmp_path.resolve())
    monkeypatch.chdir(tmp_path / "notebooks")
    assert config.project_root() == tmp_path.resolve()


@pytest.mark.parametrize("env_id", sim.supported_env_ids())
def test_rollout_equals_a_plain_gymnasium_loop(env_id):
    """Threaded rollouts give exactly the rewards of env.step on the clipped actions, and record the samples."""
    k = envs.env_spec(env_id).act_dim
    mean_fn = lambda o: 2.0 * np.tanh(o[:, :k])  # noqa: E731  (means outside the box on purpose)
    N, T, seed, noise = 3, 40, 3, 0.3
    r = rollouts.rollout(rollouts.EnvPool(env_id, N), mean_fn, T, seed, noise)
    rng = np.random.default_rng(seed)
    gyms = [sim.make_env(env_id) for _ in range(N)]
    current = np.stack([e.reset(seed=seed + i)[0] for i, e in enumerate(gyms)])
    alive = np.ones(N, dtype=bool)
    for t in range(T):
        idx = np.flatnonzero(alive)
        if idx.size == 0:
            break
        act = mean_fn(current[idx]) + noise * rng.standard_normal((idx.size, k))
        assert np.array_equal(r.actions[idx, t], act)
        for j, i in enumerate(idx):
            obs, reward, term, _, info = gyms[i].step(np.clip(act[j], -1, 1))
            assert reward == r.rewards[i, t] and info.get("x_velocity", 0.0) == r.forward_velocity[i, t]
            current[i] = obs
            alive[i] = not term
    assert np.array_equal(r.lengths, r.mask.sum(axis=1))


def test_with_overrides():
    from dataclasses import dataclass

    from gc_research.config_overrides import with_overrides

    @dataclass(frozen=True)
    class Cfg:
        lr: float = 1.0
        name: str = "a"
        seed: int = 0

    c = with_overrides(Cfg(), ["lr=0.5", "name=xyz"], seed=3)
    assert c == Cfg(0.5, "xyz", 3)
    with pytest.raises(ValueError, match="unknown field"):
        with_overrides(Cfg(), ["nope=1"])
    with pytest.raises(ValueError, match="KEY=VALUE"):
        with_overrides(Cfg(), ["lr"])


@pytest.mark.parametrize("seeds,says", [([], r"seeds=\[\]: give at least one seed"),
                                        ([0, 1, 0], r"repeats \[0\]"), ([0, -1], "non-negative"),
                                        ([True], "non-negative"), (None, "at least one")])
def test_seed_lists_are_checked(seeds, says):
    from gc_research.seeds import seed_list

    with pytest.raises(ValueError, match=says):
        seed_list(seeds)
    assert seed_list([3, 1, 2]) == [3, 1, 2]


@pytest.mark.parametrize("script", ["bench/spread.py", "bench/trainer_grid.py"])
@pytest.mark.parametrize("seeds", [["0", "0"], []])
def test_bench_scripts_refuse_bad_seed_lists(script, seeds):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, script, "--out", "/nonexistent", "--seeds", *seeds],
                         capture_output=True, text=True, cwd=config.project_root(), timeout=120)
    assert out.returncode == 2 and "--seeds" in out.stderr, out.stderr[-500:]


@pytest.mark.parametrize("env_id", ["Ant-v5", "HalfCheetah-v5"])
def test_reward_weights_rebuild_gymnasiums_reward_terms(env_id):
    """notebook 00 §2 computes Ant's reward from envs.reward_weights: each term must equal the env's own."""
    rw = envs.reward_weights(env_id)
    env = sim.make_env(env_id)
    env.reset(seed=3)
    a = np.linspace(-0.9, 0.9, env.action_space.shape[0])
    _, reward, _, _, info = env.step(a)
    assert info["reward_ctrl"] == pytest.approx(-rw.ctrl * np.sum(a**2))
    assert info["reward_forward"] == pytest.approx(rw.forward * info["x_velocity"])
    assert info.get("reward_survive", 0.0) == pytest.approx(rw.healthy)
    assert reward == pytest.approx(info["reward_forward"] + info["reward_ctrl"] + info.get("reward_survive", 0.0)
                                   + info.get("reward_contact", 0.0))
    with pytest.raises(ValueError, match="env_id"):
        envs.reward_weights("Walker9-v0")


def test_gc_threads_sets_the_worker_threads(monkeypatch):
    monkeypatch.setenv("GC_THREADS", "1")
    assert sim.default_threads() == 1
    monkeypatch.setenv("GC_THREADS", "0")
    with pytest.raises(ValueError, match="GC_THREADS"):
        sim.default_threads()
    monkeypatch.setenv("GC_THREADS", "two")
    with pytest.raises(ValueError, match="GC_THREADS"):
        sim.default_threads()
    monkeypatch.delenv("GC_THREADS")
    assert 1 <= sim.default_threads() <= 8
