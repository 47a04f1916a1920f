"""Policy-gradient trainers that keep a checkpoint per iteration (taught in notebooks/02_train_quadratic_agent.ipynb).

``reinforce``: REINFORCE with a baseline and importance-sampled reuse (the study's trainer).
"""

from .reinforce import (
    Progress,
    Run,
    TrainConfig,
    advantages,
    evaluate_run,
    evaluation_dict,
    fit_normalizer,
    importance_weights,
    load_run,
    notebook_progress,
    policy_at,
    runs_dir,
    save_run,
    surrogate_loss,
    train_reinforce,
    with_evaluation,
)

__all__ = ["Progress", "Run", "TrainConfig", "advantages", "evaluate_run", "evaluation_dict", "fit_normalizer",
           "importance_weights", "load_run", "notebook_progress", "policy_at", "runs_dir", "save_run", "surrogate_loss",
           "train_reinforce", "with_evaluation"]
