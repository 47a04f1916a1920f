"""Scoring candidate chunks: replay them from a saved MuJoCo state and measure the cos² each adds to the span.

Taught in notebooks/03_cem_compression.ipynb, §5 Longer sequences: grow them chunk by chunk.

EVERY TRAJECTORY IS A VALID EPISODE. A candidate chunk after which the env would end the episode (Ant: the torso
leaves z ∈ [0.2, 1.0], by a jump or a fall) scores −inf, and with ``safety`` = n the robot must also stay healthy
for n further steps of zero action, so that the search never walks into a state with no healthy way on. Without
this rule a search finds that a jump (z > 1) adds cosine: states the trained policy never saw.

ACTIONS STAY IN THE ACTION BOX [-1, 1]. MuJoCo clips controls outside the box, while the score would use the
unclipped value: a sequence with out-of-box actions would be credited with gradients the robot never "took".
"""

from __future__ import annotations

import numpy as np
import torch

from gc_helpers import envs, sim
from gc_helpers.compression.geometry import mean_jacobian
from gc_helpers.policies import GaussianPolicy
from gc_research.incremental_span import IncrementalSpan


def _sub_replay(rep: sim.Replay, rows, n_steps: int | None = None) -> sim.Replay:
    """The replays ``rows`` of ``rep``, cut to their first ``n_steps`` steps (obs and physics keep one more).
    Taught in notebooks/03_cem_compression.ipynb, §5 Longer sequences: grow them chunk by chunk."""
    steps = slice(None) if n_steps is None else slice(n_steps)
    states = slice(None) if n_steps is None else slice(n_steps + 1)
    return sim.Replay(*(getattr(rep, f)[rows, states if f in ("obs", "physics") else steps]
                         for f in sim.Replay.__dataclass_fields__))


def take(rep: sim.Replay, i: int) -> sim.Replay:
    """Replay ``i`` of a batch, kept as a batch of one.
    Taught in notebooks/03_cem_compression.ipynb, §5 Longer sequences: grow them chunk by chunk."""
    return _sub_replay(rep, slice(i, i + 1))


def valid_episode(terminated: np.ndarray) -> np.ndarray:
    """The valid-episode rule for a batch of replays, terminated (B, n): True where no step ended the episode.
    Taught in notebooks/03_cem_compression.ipynb, §5 (What the best settings add)."""
    return ~np.asarray(terminated).any(axis=1)


class Scorer:
    """Replays candidate chunks (B, c, k) from a saved state; a candidate's score is the cos² it adds to the span
    (−inf if it breaks the valid-episode rule within the chunk or the ``safety`` steps of zero action after it).
    With ``future_weight`` > 0 the score also counts, with that weight, what the k free directions of the state
    the chunk ends in could add. ``env_steps`` counts every simulated step.
    Taught in notebooks/03_cem_compression.ipynb, §5 Longer sequences: grow them chunk by chunk."""

    def __init__(self, policy: GaussianPolicy, span: IncrementalSpan, n_threads, future_weight: float = 0.0,
                 safety: int = 0):
        self.policy, self.span, self.n_threads = policy, span, n_threads
        self.env_steps = 0
        self.future_weight, self.safety = future_weight, safety

    def replay(self, state: envs.StartState, A: np.ndarray) -> sim.Replay:
        self.env_steps += A.shape[0] * A.shape[1]
        return envs.replay(state, A, n_threads=self.n_threads)

    def __call__(self, state: envs.StartState, A: np.ndarray) -> tuple[np.ndarray, sim.Replay, torch.Tensor]:
        """(scores (B,), the replays cut to the chunk, the chunk's per-step gradients (B, c, P))."""
        coast = np.zeros((A.shape[0], self.safety, A.shape[2]))  # a chunk must leave a way to carry on
        rep = self.replay(state, np.concatenate([A, coast], axis=1) if self.safety else A)
        valid = valid_episode(rep.terminated)
        rep = _sub_replay(rep, slice(None), A.shape[1])
        G = self.policy.score(rep.obs[:, :-1], A)
        gains = self.span.gains(G).numpy()
        if self.future_weight > 0:  # value of the state the chunk ends in: what its k free directions could add
            J = mean_jacobian(self.policy, rep.obs[:, -1])  # (B, k, P)
            gains = gains + self.future_weight * self.span.gains(J).numpy()
        return np.where(valid, gains, -np.inf), rep, G


class torch_threads:
    """Context manager: run torch on ``n`` threads, then restore. The searches use 1 thread by default: their
    matrices are small, and on a loaded 2-core machine torch's thread pool makes them up to 40× slower."""

    def __init__(self, n: int | None = 1):
        self.n = n

    def __enter__(self):
        self.old = torch.get_num_threads()
        if self.n:
            torch.set_num_threads(int(self.n))
        return self

    def __exit__(self, *exc):
        torch.set_num_threads(self.old)
        return False
