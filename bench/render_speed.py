"""Rendering speed with the model's own shadow map against the package's smaller one (gc_helpers.video.SHADOW_SIZE),
in the same process, on frames of notebook 05's video size:

    .venv/bin/python bench/render_speed.py            # Ant-v5, 224 × 168, 20 frames each, 3 repeats

Prints seconds per frame (min / median / max over repeats) for each shadow size, the ratio, and how many pixels
differ by more than 10 levels between the two renderings of the same state. Not run in CI.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("MUJOCO_GL", "egl")  # as gc_helpers does, before mujoco is first imported

import mujoco  # noqa: E402
import numpy as np  # noqa: E402

from gc_helpers import envs, sim, video  # noqa: E402


def seconds_per_frame(model, data, width: int, height: int, frames: int, repeats: int,
                      shadow_size: int) -> tuple[list, np.ndarray]:
    renderer = video.new_renderer(model, height, width, shadow_size)
    try:
        renderer.update_scene(data)
        renderer.render()  # the first frame builds the scene's buffers
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(frames):
                renderer.update_scene(data)
                image = renderer.render()
            times.append((time.perf_counter() - t0) / frames)
        return times, image
    finally:
        renderer.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--env", default="Ant-v5")
    ap.add_argument("--size", type=int, nargs=2, default=[224, 168], metavar=("WIDTH", "HEIGHT"))
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    if args.frames < 1 or args.repeats < 1:
        ap.error("--frames and --repeats must be >= 1")
    model = sim.model_env(sim.check_env_id(args.env)).unwrapped.model
    data = mujoco.MjData(model)
    mujoco.mj_setState(model, data, envs.reset_state(args.env, 42).physics, sim.FULLPHYSICS)
    mujoco.mj_forward(model, data)
    asked = int(model.vis.quality.shadowsize)
    results = {}
    for size in (asked, min(asked, video.SHADOW_SIZE)):
        results[size] = seconds_per_frame(model, data, *args.size, args.frames, args.repeats, size)
    for size, (times, _) in results.items():
        print(f"shadow map {size:5d}²: {min(times):.3f} / {statistics.median(times):.3f} / {max(times):.3f} s a frame "
              f"(min / median / max of {args.repeats} × {args.frames} frames, {args.size[0]} × {args.size[1]})")
    (t_big, a), (t_small, b) = results[asked], results[min(asked, video.SHADOW_SIZE)]
    diff = np.abs(a.astype(int) - b.astype(int)).max(axis=-1)
    print(f"median ratio {statistics.median(t_big) / statistics.median(t_small):.2f}× faster; pixels differing by "
          f"more than 10 levels: {(diff > 10).mean():.3%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
