"""A run's stored evaluations: what bench/training.py, bench/ppo.py and bench/trainer_grid.py write into a run's
metadata after training (notebooks read them through ``gc_helpers.training.runs.load_run``).
"""

from __future__ import annotations

import dataclasses

from gc_helpers import rollouts
from gc_helpers.training.runs import Run


def evaluation_dict(ev: rollouts.Evaluation) -> dict:
    """The JSON-able summary of an Evaluation that a run stores."""
    return {"mean_return": ev.mean_return, "stderr": ev.stderr, "mean_length": ev.mean_length,
            "mean_forward_velocity": ev.mean_forward_velocity, "n_episodes": len(ev.returns),
            "horizon": ev.horizon, "noise_std": ev.noise_std, "returns": [float(x) for x in ev.returns]}



def with_evaluation(run: Run, evaluations: dict) -> Run:
    """A copy of ``run`` whose ``evaluation`` also holds ``evaluations`` ({label: Evaluation or dict})."""
    ev = {k: (evaluation_dict(v) if isinstance(v, rollouts.Evaluation) else dict(v)) for k, v in evaluations.items()}
    return dataclasses.replace(run, evaluation={**run.evaluation, **ev})
