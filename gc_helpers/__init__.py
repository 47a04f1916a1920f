"""gc_helpers: the small, tested package behind the gradient-compression notebooks.

One idea per module: ``envs`` (MuJoCo tasks, replay, rollouts), ``policies`` (Gaussian policies and their
per-step scores), ``training``, ``compression``, ``decompression``, ``video``, ``plots``, ``store``, ``config``.
"""

__version__ = "0.1.0"
