"""gc_helpers: the tested package behind the gradient-compression notebooks: what their cells and exercises call.

One idea per module: ``envs`` (MuJoCo tasks, replay, rollouts), ``policies`` (Gaussian policies and their
per-step scores), ``training``, ``compression``, ``line_search``, ``recovery``, ``behaviour_cloning``, ``video``,
``plots``, ``store``, ``config`` (docs/ARCHITECTURE.md lists them all). The code that only makes the research
artifacts under data/ lives in gc_research, which this package never imports.
"""

import os

# Headless rendering for every module: MuJoCo reads MUJOCO_GL when it is first imported, and any
# `import gc_helpers.<module>` runs this file first. Set MUJOCO_GL=osmesa beforehand to use the slower fallback.
os.environ.setdefault("MUJOCO_GL", "egl")

__version__ = "0.1.0"
