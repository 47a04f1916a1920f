"""gc_helpers.video: rendering saved states, α bar, captions, side by side, mp4/gif writing, inline display.

Small frames (64 × 48) and a few steps keep this fast; one renderer size is shared by all tests.
"""

import dataclasses

import numpy as np
import pytest

from gc_helpers import envs, overlays, rollouts, video

W, H = 64, 48
ENV = "Ant-v5"


@pytest.fixture(scope="module")
def start():
    return envs.reset_state(ENV, 42)


@pytest.fixture(scope="module")
def clip(start):
    actions = np.random.default_rng(0).uniform(-1, 1, (4, envs.env_spec(ENV).act_dim))
    return video.sequence_frames(start, actions, width=W, height=H)


def fake_frames(T=3, h=H, w=W, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (T, h, w, 3), dtype=np.uint8)


# -- rendering ---------------------------------------------------------------------------------------------------


def test_renderer_draws_a_smaller_shadow_map_and_leaves_the_model_as_it_was(start):
    from gc_helpers import sim

    model = sim.model_env(ENV).unwrapped.model
    asked = int(model.vis.quality.shadowsize)
    renderer = video._renderer(ENV, H, W)
    assert renderer._mjr_context.shadowSize == min(asked, video.SHADOW_SIZE) < asked  # Ant asks for 4096
    assert int(model.vis.quality.shadowsize) == asked


def test_render_shape_dtype_not_blank_and_state_dependent(start):
    later = envs.advance(start, np.ones((20, envs.env_spec(ENV).act_dim)))
    frames = video.render_physics(ENV, np.stack([start.physics, later.physics]), width=W, height=H)
    assert frames.shape == (2, H, W, 3) and frames.dtype == np.uint8
    assert frames[0].std() > 10, "a rendered Ant frame should not be blank"
    assert np.abs(frames[0].astype(int) - frames[1].astype(int)).mean() > 1, "different states, same picture"


def test_render_single_state_and_model_camera(start):
    frames = video.render_physics(ENV, start.physics, width=W, height=H, camera="track")
    assert frames.shape == (1, H, W, 3) and frames.std() > 10


def test_sequence_frames_clip(clip):
    assert clip.frames.shape == (5, H, W, 3)
    assert clip.rewards.shape == clip.forward_velocity.shape == clip.terminated.shape == (4,)
    assert clip.returns.shape == (5,) and clip.returns[0] == 0 and np.isclose(clip.returns[-1], clip.total_return)
    captions = clip.captions("random")
    assert len(captions) == 5 and captions[2].startswith("random  t=2")


def test_policy_frames_matches_rollout():
    k = envs.env_spec(ENV).act_dim

    def mean_fn(obs):
        return 0.3 * np.ones((len(obs), k))

    c = video.policy_frames(ENV, mean_fn, seed=3, steps=3, noise_std=0.1, width=W, height=H)
    assert c.frames.shape == (4, H, W, 3) and c.actions.shape == (3, k)
    r = rollouts.rollout(rollouts.EnvPool(ENV, 1), mean_fn, horizon=3, seed=3, noise_std=0.1)
    np.testing.assert_array_equal(c.actions, r.actions[0])
    np.testing.assert_array_equal(c.rewards, r.rewards[0])
    np.testing.assert_array_equal(c.forward_velocity, r.forward_velocity[0])


# -- decorating --------------------------------------------------------------------------------------------------


def test_alpha_bar_adds_rows_below_and_keeps_the_picture():
    f = fake_frames(T=4)
    out = overlays.add_alpha_bar(f, [0.0, 1.0, 2.0, 3.0], bar_height=10)
    assert out.shape == (4, H + 10, W, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[:, :H], f)
    other = overlays.add_alpha_bar(f, [3.0, 2.0, 1.0, 0.0], bar_height=10)
    assert not np.array_equal(out[:, H:], other[:, H:]), "the bar must show α"
    assert not np.array_equal(out[0, H:], out[-1, H:]), "the marker must move with the step"


def test_alpha_bar_per_action_signed_alpha_and_captions():
    f = fake_frames(T=4)
    out = overlays.add_alpha_bar(f, [-1.0, 0.5, 2.0], bar_height=8, captions=["a", "b", "c", "d"], caption_height=12)
    assert out.shape == (4, 12 + H + 8, W, 3)
    np.testing.assert_array_equal(out[:, 12:12 + H], f)
    colors, cmap, lo, hi = overlays.alpha_colors([-1.0, 0.5, 2.0])
    assert cmap == "coolwarm" and (lo, hi) == (-2.0, 2.0) and colors.shape == (3, 3)


def test_captions_and_side_by_side():
    f = fake_frames(T=3)
    out = overlays.add_captions(f, "hello", strip_height=12, position="bottom")
    assert out.shape == (3, H + 12, W, 3)
    np.testing.assert_array_equal(out[:, :H], f)
    g = fake_frames(T=5, h=H - 8, seed=1)
    both = overlays.side_by_side(f, g, labels=["policy", "compressed"], gap=2, label_height=10)
    assert both.shape == (5, H + 10, 2 * W + 2, 3)
    np.testing.assert_array_equal(both[3, 10:, :W], f[-1])  # the shorter video holds its last frame
    np.testing.assert_array_equal(both[4, 10:H + 2, W + 2:], g[4])


# -- writing and showing -----------------------------------------------------------------------------------------


def test_write_video_mp4_roundtrip(tmp_path):
    import imageio.v3 as iio

    f = fake_frames(T=6, h=33, w=47)  # odd sizes are padded to even
    path = video.write_video(f, "clip_test", fps=10, folder=tmp_path)
    assert path == tmp_path / "clip_test.mp4" and path.stat().st_size > 0
    back = iio.imread(path)
    assert back.shape == (6, 34, 48, 3)
    assert not list(tmp_path.glob(".clip_test.*")), "temporary file left behind"


def test_write_video_default_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("GC_ROOT", str(tmp_path))
    path = video.write_video(fake_frames(T=2), "x")
    assert path == tmp_path / "videos" / "x.mp4"


def test_write_video_falls_back_to_gif(monkeypatch, tmp_path):
    from PIL import Image

    def broken(*args, **kwargs):
        raise RuntimeError("no ffmpeg here")

    monkeypatch.setattr(video, "_write_mp4", broken)
    path = video.write_video(fake_frames(T=3), "fallback", folder=tmp_path)
    assert path.suffix == ".gif" and not (tmp_path / "fallback.mp4").exists()
    with Image.open(path) as img:
        assert img.n_frames == 3


def test_show_embeds_base64(tmp_path):
    html = video.show(video.write_video(fake_frames(T=2), "s", folder=tmp_path), width=200).data
    assert "<video" in html and "data:video/mp4;base64," in html and 'width="200"' in html
    assert "data:video/mp4;base64," in video.show(fake_frames(T=2)).data
    gif = tmp_path / "g.gif"
    video._write_gif(fake_frames(T=2), gif, 10)
    assert "<img" in video.show(str(gif)).data and "data:image/gif;base64," in video.show(gif).data


# -- errors ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda s: video.render_physics("Nope-v0", s.physics), "env_id"),
        (lambda s: video.render_physics(ENV, np.zeros((2, 5))), "physics"),
        (lambda s: video.render_physics(ENV, np.full_like(s.physics, np.nan)), "NaN"),
        (lambda s: video.render_physics(ENV, s.physics, width=5000), "width"),
        (lambda s: video.render_physics(ENV, s.physics, width=W, height=H, camera="nope"), "camera"),
        (lambda s: video.Camera(distance=-1.0), "distance"),
        (lambda s: video.sequence_frames(s, np.full((3, 8), np.nan)), "NaN"),
        (lambda s: video.sequence_frames(s, np.zeros((3, 5))), "actions"),
        (lambda s: video.sequence_frames("start", np.zeros((3, 8))), "start"),
        (lambda s: video.policy_frames(ENV, lambda o: np.zeros((1, 8)), seed=0, steps=0), "steps"),
        (lambda s: video.policy_frames(ENV, lambda o: np.zeros((1, 8)), seed=-1, steps=2), "seed"),
        (lambda s: video.policy_frames(ENV, lambda o: np.zeros((1, 8)), 0, 2, noise_std=-1), "noise_std"),
        (lambda s: video.policy_frames(ENV, lambda o: np.zeros((1, 3)), 0, 2, width=W, height=H), "mean_fn"),
        (lambda s: overlays.add_alpha_bar(fake_frames(T=3), [1.0]), "alpha"),
        (lambda s: overlays.add_alpha_bar(fake_frames(T=3), [1.0, np.nan, 2.0]), "NaN"),
        (lambda s: overlays.add_alpha_bar(fake_frames(T=3), [1.0, 2.0, 3.0], cmap="nope"), "cmap"),
        (lambda s: overlays.add_captions(fake_frames(T=3), ["a", "b"]), "captions"),
        (lambda s: overlays.side_by_side(), "at least one"),
        (lambda s: overlays.side_by_side(fake_frames(), labels=["a", "b"]), "labels"),
        (lambda s: video.write_video(fake_frames(), "../escape"), "name"),
        (lambda s: video.write_video(fake_frames(), "a.mp4"), "name"),
        (lambda s: video.write_video(fake_frames().astype(np.float32), "a"), "dtype"),
        (lambda s: video.write_video(np.zeros((0, H, W, 3), np.uint8), "a"), "T >= 1"),
        (lambda s: video.write_video(np.zeros((H, W, 3), np.uint8), "a"), "shape"),
        (lambda s: video.write_video(fake_frames(), "a", fps=0), "fps"),
        (lambda s: video.show("missing.mp4"), "no such file"),
        (lambda s: video.show("clip.avi"), "mp4"),
        (lambda s: video.render_physics(ENV, np.full_like(s.physics, np.inf)), "NaN and inf are not allowed"),
        (lambda s: video.sequence_frames(bad(s, physics=np.nan), np.zeros((3, 8))), "start.physics"),
        (lambda s: video.policy_frames(ENV, lambda o: np.zeros((1, 8)), 0, 2, noise_std=np.nan), "noise_std"),
        (lambda s: video.policy_frames(ENV, lambda o: np.zeros((1, 8)), 0, steps=-3), "steps"),
        (lambda s: overlays.alpha_colors([]), "alpha is empty"),
        (lambda s: overlays.alpha_colors([1.0, np.inf]), "alpha has 1 non-finite"),
        (lambda s: overlays.add_alpha_bar(fake_frames(T=3), np.ones((3, 1))), "alpha"),
    ],
)
def test_errors(start, call, match):
    with pytest.raises(ValueError, match=match):
        call(start)


# -- non-finite states and sizes where they enter envs (the renderer's inputs come from there) ------------------


def bad(start, **fields):
    """``start`` with one entry of each named field replaced (physics=np.nan: its first entry becomes NaN)."""
    changes = {}
    for name, value in fields.items():
        arr = np.array(getattr(start, name), dtype=np.float64)
        if arr.ndim:
            arr[0] = value
        changes[name] = arr if arr.ndim else float(value)
    return dataclasses.replace(start, **changes)


def _zeros(obs):
    return np.zeros((len(obs), 8))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda s: envs.replay(bad(s, physics=np.nan), np.zeros((1, 3, 8))), "start.physics has 1 non-finite"),
        (lambda s: envs.replay(bad(s, obs=np.inf), np.zeros((1, 3, 8))), "start.obs"),
        (lambda s: envs.advance(bad(s, warmstart=-np.inf), np.zeros((3, 8))), "start.warmstart"),
        (lambda s: envs.advance(bad(s, x_read=np.inf), np.zeros((3, 8))), "x_read"),
        (lambda s: envs.advance(dataclasses.replace(s, physics=s.physics[:5]), np.zeros((3, 8))), "start.physics"),
        (lambda s: envs.replay("start", np.zeros((1, 3, 8))), "StartState"),
        (lambda s: envs.obs_from_physics(ENV, np.full((2, s.physics.size), np.nan)), "physics has 60 non-finite"),
        (lambda s: envs.obs_from_physics(ENV, np.zeros((2, 5))), "physics has shape"),
        (lambda s: envs.obs_from_physics(ENV, np.zeros((0, s.physics.size))), "physics is empty"),
        (lambda s: rollouts.evaluate(ENV, _zeros, n_episodes=0), "n_episodes"),
        (lambda s: rollouts.evaluate(ENV, _zeros, n_episodes=-2), "n_episodes"),
        (lambda s: rollouts.evaluate(ENV, _zeros, n_episodes=1, horizon=0), "horizon"),
        (lambda s: rollouts.rollout(rollouts.EnvPool(ENV, 1), _zeros, 3, 0, noise_std=np.nan), "noise_std"),
        (lambda s: rollouts.rollout(rollouts.EnvPool(ENV, 1), "policy", horizon=3, seed=0), "mean_fn"),
    ],
)
def test_non_finite_or_empty_inputs_are_named(start, call, match):
    with pytest.raises(ValueError, match=match):
        call(start)


def test_a_finite_start_with_unknown_x_read_still_replays(start):
    assert np.isnan(start.x_read)
    r = envs.replay(start, np.zeros((1, 2, 8)))
    np.testing.assert_array_equal(envs.obs_from_physics(ENV, r.physics[0]), r.obs[0])
