"""Videos of trajectories: render saved MuJoCo states, an α colour bar, side-by-side comparison, inline mp4/gif.

Taught in notebooks/00_setup.ipynb; used in notebooks 02–05 (a trained policy, a compressed action sequence
with its coefficients α_t, decompression along β).

- ``render_physics``: frames (T, H, W, 3) uint8 of saved full-physics states, with a camera that follows
  the torso.
- ``sequence_frames`` / ``policy_frames``: play an open-loop action sequence (``envs.replay``) or a policy
  closed-loop, and render it; they return a ``Clip`` (frames + rewards, return so far, forward velocity).
- frames are decorated and combined (an α colour bar, captions, side by side) by ``gc_helpers.overlays``.
- ``write_video`` writes videos/<name>.mp4 (H.264, yuv420p; a .gif if ffmpeg fails), ``show`` embeds it inline.

Headless rendering needs ``MUJOCO_GL=egl`` (or ``osmesa``) before mujoco is first imported: ``gc_helpers``
sets it to egl unless it is already set (in the package's ``__init__``, which runs before any of its modules).
"""

from __future__ import annotations

import base64
import math
import os
import re
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import mujoco
import numpy as np

from . import envs, sim
from .checks import check_seed, finite_array, int_at_least, non_negative_float
from .config import video_dir
from .overlays import check_frames, check_px

# ----------------------------------------------------------------------------------------------------------------
# Cameras


@dataclass(frozen=True)
class Camera:
    """A free camera looking at the torso: ``distance`` (m), ``elevation``/``azimuth`` (degrees).

    ``height``: a fixed height (m) for the point looked at, so that a hopping body doesn't shake the picture;
    None follows the torso's height too.
    """

    distance: float = 4.0
    elevation: float = -25.0
    azimuth: float = 90.0
    height: float | None = None

    def __post_init__(self):
        for name in ("distance", "elevation", "azimuth"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"Camera {name}={value!r}: must be a finite number")
        if self.distance <= 0:
            raise ValueError(f"Camera distance={self.distance!r}: must be > 0")
        if self.height is not None and (not isinstance(self.height, int | float) or not math.isfinite(self.height)):
            raise ValueError(f"Camera height={self.height!r}: must be a finite number or None")


# Per-task defaults: side views for the planar walkers, a view from above for the swimmer.
CAMERAS: dict[str, Camera] = {
    "Ant-v5": Camera(distance=4.5, elevation=-25.0, azimuth=90.0),
    "HalfCheetah-v5": Camera(distance=4.0, elevation=-15.0, azimuth=90.0, height=0.5),
    "Hopper-v5": Camera(distance=3.0, elevation=-15.0, azimuth=90.0, height=1.0),
    "Walker2d-v5": Camera(distance=3.5, elevation=-15.0, azimuth=90.0, height=1.0),
    "Swimmer-v5": Camera(distance=3.5, elevation=-60.0, azimuth=90.0, height=0.0),
}
TORSO = "torso"


def _camera(env_id: str, camera) -> Camera | str:
    if camera is None:
        return CAMERAS[env_id]
    if isinstance(camera, Camera):
        return camera
    model = sim.model_env(env_id).unwrapped.model
    names = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_CAMERA, i) for i in range(model.ncam)]
    if isinstance(camera, str) and camera in names:
        return camera
    raise ValueError(f"camera={camera!r}: allowed: None (the default for {env_id}), a video.Camera, "
                     f"or a camera of the model: {names}")


# ----------------------------------------------------------------------------------------------------------------
# Rendering

_RENDERERS: dict[tuple, mujoco.Renderer] = {}
_MAX_RENDERERS = 4
# The shadow map's side in texels. The Ant model asks for 4096², which software OpenGL (a machine without a GPU)
# redraws for every frame; at 1024² frames draw several times faster and differ only at shadow edges
# (bench/render_speed.py measures both).
SHADOW_SIZE = 1024


def new_renderer(model: mujoco.MjModel, height: int, width: int, shadow_size: int = SHADOW_SIZE) -> mujoco.Renderer:
    """A renderer of ``model`` whose shadow map is at most ``shadow_size`` texels a side (read when the GL context
    is made); the model keeps its own setting."""
    asked = int(model.vis.quality.shadowsize)
    model.vis.quality.shadowsize = min(asked, int(shadow_size))
    try:
        return mujoco.Renderer(model, height=height, width=width)
    finally:
        model.vis.quality.shadowsize = asked


def _renderer(env_id: str, height: int, width: int) -> mujoco.Renderer:
    """One renderer per (task, size, thread), kept: making a GL context costs most of a second. Its shadow map is
    at most ``SHADOW_SIZE`` texels a side (``new_renderer``)."""
    key = (env_id, height, width, threading.get_ident())
    if key not in _RENDERERS:
        if len(_RENDERERS) >= _MAX_RENDERERS:
            old_key = next(iter(_RENDERERS))
            _RENDERERS.pop(old_key).close()
        _RENDERERS[key] = new_renderer(sim.model_env(env_id).unwrapped.model, height, width)
    return _RENDERERS[key]


def _check_size(env_id: str, width, height) -> tuple[int, int]:
    model = sim.model_env(env_id).unwrapped.model
    limits = {"width": model.vis.global_.offwidth, "height": model.vis.global_.offheight}
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 16 <= value <= limits[name]:
            raise ValueError(f"{name}={value!r}: must be an integer from 16 to {limits[name]} "
                             f"(the offscreen buffer of {env_id})")
    return int(width), int(height)


def render_physics(env_id: str, physics, width: int = 320, height: int = 240, camera=None) -> np.ndarray:
    """Frames (T, height, width, 3) uint8 of saved full-physics states ``physics`` (T, state_dim).

    ``physics`` is what ``envs.replay(...).physics[b]`` or ``envs.reset_state(...).physics`` hold
    (mjSTATE_FULLPHYSICS). ``camera``: None (a free camera following the torso, per-task defaults in
    ``CAMERAS``), a ``Camera``, or the name of a camera in the model (e.g. "track").
    """
    spec = envs.env_spec(sim.check_env_id(env_id))
    p = np.asarray(physics, dtype=np.float64)
    if p.ndim == 1:
        p = p[None]
    if p.ndim != 2 or p.shape[1] != spec.state_dim or p.shape[0] < 1:
        raise ValueError(f"physics has shape {np.shape(physics)}; expected (T, {spec.state_dim}) full-physics states "
                         f"of {env_id} with T >= 1 (for a replay batch pick one row: replay.physics[b])")
    finite_array(p, "physics")
    width, height = _check_size(env_id, width, height)
    cam = _camera(env_id, camera)
    model = sim.model_env(env_id).unwrapped.model
    data = mujoco.MjData(model)
    renderer = _renderer(env_id, height, width)
    free = None
    if isinstance(cam, Camera):
        free = mujoco.MjvCamera()
        free.type = mujoco.mjtCamera.mjCAMERA_FREE
        free.distance, free.elevation, free.azimuth = cam.distance, cam.elevation, cam.azimuth
    torso = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, TORSO)
    frames = np.empty((p.shape[0], height, width, 3), dtype=np.uint8)
    for t, state in enumerate(p):
        mujoco.mj_setState(model, data, state, sim.FULLPHYSICS)
        mujoco.mj_forward(model, data)
        if free is not None:
            free.lookat[:] = data.xpos[torso]
            if cam.height is not None:
                free.lookat[2] = cam.height
            renderer.update_scene(data, free)
        else:
            renderer.update_scene(data, cam)
        frames[t] = renderer.render()
    return frames


@dataclass(frozen=True)
class Clip:
    """Rendered frames of one trajectory and what captions need.

    frames[t] shows the state in which actions[t] is taken; frames[-1] the state after the last action.
    """

    env_id: str
    frames: np.ndarray  # (L+1, H, W, 3) uint8
    actions: np.ndarray  # (L, act_dim)
    rewards: np.ndarray  # (L,)
    forward_velocity: np.ndarray  # (L,) m/s
    terminated: np.ndarray  # (L,) bool: the body had fallen after step t (closed loop: the episode ended there)
    dt: float

    @property
    def returns(self) -> np.ndarray:
        """Return so far at each frame: (L+1,), 0 at the first frame."""
        return np.concatenate([[0.0], np.cumsum(self.rewards)])

    @property
    def total_return(self) -> float:
        return float(self.rewards.sum())

    def captions(self, label: str = "") -> list[str]:
        """One caption per frame: step, time, return so far and forward velocity of the last step."""
        out = []
        ret = self.returns
        for t in range(len(self.frames)):
            v = self.forward_velocity[t - 1] if t > 0 else 0.0
            fell = "  fallen" if t > 0 and self.terminated[t - 1] else ""
            prefix = f"{label}  " if label else ""
            out.append(f"{prefix}t={t}  {t * self.dt:4.1f} s  return {ret[t]:.1f}  v {v:+.2f} m/s{fell}")
        return out


def sequence_frames(start: envs.StartState, actions, width: int = 320, height: int = 240, camera=None) -> Clip:
    """Replay one open-loop action sequence (L, act_dim) from ``start`` (``envs.replay``) and render it.

    Open loop: the sequence is played to the end even if the body falls (see ``Clip.terminated``).
    """
    spec = envs.env_spec(envs.check_start(start).env_id)
    a = envs.check_actions(actions, spec.act_dim, ndim=2)  # (L, act_dim); a single action becomes L = 1
    _check_size(start.env_id, width, height)
    r = envs.replay(start, a[None], n_threads=1)
    frames = render_physics(start.env_id, r.physics[0], width, height, camera)
    return Clip(start.env_id, frames, a, r.reward[0], r.forward_velocity[0], r.terminated[0], spec.dt)


def policy_frames(env_id: str, mean_fn: Callable[[np.ndarray], np.ndarray], seed: int, steps: int,
                  noise_std: float = 0.0, width: int = 320, height: int = 240, camera=None) -> Clip:
    """Run a policy closed-loop for at most ``steps`` steps in one env and render every state.

    a_t = mean_fn(s_t) + noise_std · N(0, I); ``mean_fn`` maps (n, obs_dim) to (n, act_dim) (e.g.
    ``policy.mean_fn()``). The env is reset with ``seed``, the noise comes from ``default_rng(seed)`` (as in
    ``rollouts.rollout`` for env 0). The clip stops early if the episode terminates (the body fell).
    """
    spec = envs.env_spec(sim.check_env_id(env_id))
    seed = check_seed(seed)
    steps = int_at_least(steps, "steps")
    noise_std = non_negative_float(noise_std, "noise_std")
    if not callable(mean_fn):
        raise ValueError(f"mean_fn={mean_fn!r}: must be a callable obs (n, obs_dim) -> means (n, act_dim)")
    _check_size(env_id, width, height)
    rng = np.random.default_rng(seed)
    env = sim.make_env(env_id, max_episode_steps=int(steps))
    try:
        u = env.unwrapped
        obs, _ = env.reset(seed=seed)
        physics = [_physics(u)]
        actions, rewards, velocity, terminated = [], [], [], []
        for t in range(steps):
            obs = finite_array(obs, f"observation at step {t} (the simulation diverged)")
            mean = np.asarray(mean_fn(obs[None]), dtype=np.float64)
            if mean.shape != (1, spec.act_dim) or not np.all(np.isfinite(mean)):
                raise ValueError(f"mean_fn returned shape {mean.shape} or non-finite values; "
                                 f"expected finite (1, {spec.act_dim})")
            act = mean[0] + noise_std * rng.standard_normal(spec.act_dim)
            obs, reward, term, trunc, info = env.step(act)
            physics.append(_physics(u))
            actions.append(act)
            rewards.append(float(reward))
            velocity.append(float(info.get("x_velocity", 0.0)))
            terminated.append(bool(term))
            if term or trunc:
                break
    finally:
        env.close()
    frames = render_physics(env_id, np.stack(physics), width, height, camera)
    return Clip(env_id, frames, np.array(actions), np.array(rewards), np.array(velocity),
                np.array(terminated, dtype=bool), spec.dt)


def _physics(u) -> np.ndarray:
    state = np.empty(mujoco.mj_stateSize(u.model, sim.FULLPHYSICS))
    mujoco.mj_getState(u.model, u.data, state, sim.FULLPHYSICS)
    return state


# ----------------------------------------------------------------------------------------------------------------
# Writing and showing


def _check_name(name) -> str:
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_\-]+", name):
        raise ValueError(f"name={name!r}: use letters, digits, '_' or '-' only (no folder, no extension)")
    return name


def _check_fps(fps) -> float:
    if isinstance(fps, bool) or not isinstance(fps, int | float | np.integer | np.floating) \
            or not math.isfinite(fps) or not 1 <= fps <= 120:
        raise ValueError(f"fps={fps!r}: must be a number from 1 to 120")
    return float(fps)


def _even(frames: np.ndarray) -> np.ndarray:
    """Pad with black to even height and width (H.264 with yuv420p needs both even)."""
    _, H, W, _ = frames.shape
    if H % 2 or W % 2:
        frames = np.pad(frames, ((0, 0), (0, H % 2), (0, W % 2), (0, 0)))
    return frames


def _write_mp4(frames: np.ndarray, path: Path, fps: float) -> None:
    import imageio_ffmpeg

    writer = imageio_ffmpeg.write_frames(str(path), (frames.shape[2], frames.shape[1]), fps=fps, codec="libx264",
                                         pix_fmt_out="yuv420p", macro_block_size=1, quality=7,
                                         ffmpeg_log_level="error")
    writer.send(None)
    for frame in frames:
        writer.send(np.ascontiguousarray(frame))
    writer.close()


def _write_gif(frames: np.ndarray, path: Path, fps: float) -> None:
    from PIL import Image

    images = [Image.fromarray(f) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0)


def write_video(frames, name: str, fps: float = 20, folder=None) -> Path:
    """Write ``frames`` (T, H, W, 3) uint8 to videos/<name>.mp4 (H.264, yuv420p) and return the path.

    Odd sizes are padded to even. If ffmpeg fails, writes videos/<name>.gif instead (and says so).
    ``folder`` overrides videos/ (``config.video_dir()``).
    """
    f = _even(check_frames(frames))
    name = _check_name(name)
    fps = _check_fps(fps)
    folder = Path(folder) if folder is not None else video_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.mp4"
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".mp4", dir=folder)
    os.close(fd)
    try:
        _write_mp4(f, Path(tmp), fps)
        os.replace(tmp, path)
        return path
    except Exception as err:  # ffmpeg missing or failing: a gif plays everywhere
        print(f"write_video: ffmpeg failed ({type(err).__name__}: {err}); writing a gif instead")
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    path = folder / f"{name}.gif"
    _write_gif(f, path, fps)
    return path


def show(path_or_frames, width: int | None = None, fps: float = 20):
    """An ``IPython.display.HTML`` playing a video inline: an .mp4/.gif path, or frames (encoded in memory).

    The video is embedded as base64 (the notebook stays self-contained), looping and muted.
    """
    from IPython.display import HTML

    if width is not None:
        check_px(width, "width", 16, 4096)
    if isinstance(path_or_frames, str | os.PathLike):
        path = Path(path_or_frames)
        if path.suffix not in (".mp4", ".gif"):
            raise ValueError(f"path_or_frames={str(path)!r}: expected an .mp4 or .gif file")
        if not path.is_file():
            raise ValueError(f"path_or_frames={str(path)!r}: no such file (write it with write_video)")
        data, kind = path.read_bytes(), path.suffix[1:]
    else:
        f = check_frames(path_or_frames, "path_or_frames")
        with tempfile.TemporaryDirectory() as tmp:
            path = write_video(f, "inline", fps=fps, folder=tmp)
            data, kind = path.read_bytes(), path.suffix[1:]
    b64 = base64.b64encode(data).decode("ascii")
    size = f' width="{width}"' if width else ""
    if kind == "mp4":
        return HTML(f'<video{size} controls autoplay loop muted playsinline>'
                    f'<source src="data:video/mp4;base64,{b64}" type="video/mp4"></video>')
    return HTML(f'<img{size} src="data:image/gif;base64,{b64}"/>')
