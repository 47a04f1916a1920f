"""Policy-gradient trainers that keep a checkpoint per iteration, and the runs they make.

Taught in notebooks/02_train_quadratic_agent.ipynb (REINFORCE) and notebooks/06_ppo.ipynb (PPO).

- ``reinforce``: REINFORCE with a baseline and importance-sampled reuse (the study's trainer), ``train_reinforce``.
- ``ppo``: PPO with GAE, ``train_ppo``; its networks, normalisers and rollout collection in ``ppo_core``.
- ``recorder``: the bookkeeping both loops share (history, checkpoints, progress, saving).
- ``runs``: one ``Run`` type for both, ``save_run`` / ``load_run`` (data/runs/<name>/, kind "run").
"""

from .configs import PPOConfig, TrainConfig
from .recorder import Progress, Recorder, notebook_progress
from .reinforce import (
    advantages,
    episode_advantages,
    fit_normalizer,
    importance_weights,
    reward_to_go,
    reward_to_go_advantages,
    surrogate_loss,
    train_reinforce,
)
from .runs import Run, evaluate_run, load_run, policy_at, runs_dir, save_run

__all__ = ["PPOConfig", "Progress", "Recorder", "Run", "TrainConfig", "advantages", "episode_advantages",
           "evaluate_run", "fit_normalizer", "importance_weights", "load_run", "notebook_progress",
           "policy_at", "reward_to_go", "reward_to_go_advantages", "runs_dir", "save_run", "surrogate_loss",
           "train_reinforce"]
