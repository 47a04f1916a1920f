"""Checkers for notebooks/00_setup.ipynb (§3 the Ant-v5 task): the student's lines are compared with what the
package's exact replay of ``env.step`` (``envs.replay`` / ``envs.advance``) records for random actions.

The reference of each checker returns the recorded values for the case's inputs (looked up by the number of
steps in the case), so a student's formula is judged against the simulator, not against a second formula.
"""

from __future__ import annotations

import numpy as np

from .. import envs
from .core import Case, CheckResult, check

ENV_ID = "Ant-v5"

VELOCITY_HINTS = [
    "a velocity is a displacement over the time it took. Which two positions bound one step, and how long does ONE "
    "env step last (an action is held for several physics steps)?",
    "v_t = (x after step t − x before step t) / Δt, with Δt = frame_skip × the physics time step: the duration of "
    "one env step printed in §3, not of one physics step."]
REWARD_HINTS = [
    "which terms depend on the step's torques, which on the state after it? The alive bonus is paid only while the "
    "robot is healthy, and the control cost is a sum over the 8 torques of ONE step.",
    "r_t = w_f·v_t + h·[healthy after step t] − w_c·Σ_i a_t,i² − c_t, with the weights printed in §3; healthy is a "
    "boolean per step (1 or 0)."]


def _episode(seed: int, steps: int, sigma: float):
    """Random actions N(0, σ²) clipped to the action box, replayed from reset(seed): (actions, Replay, x positions)."""
    spec = envs.env_spec(ENV_ID)
    rng = np.random.default_rng(seed)
    a = np.clip(sigma * rng.standard_normal((steps, spec.act_dim)), spec.act_low, spec.act_high)
    state = envs.reset_state(ENV_ID, seed)
    x = []
    for t in range(steps):  # the x position the env reads before each step, and after the last one
        after = envs.advance(state, a[t : t + 1])
        x.append((state.x_read if t else _start_x(state), after.x_read))
        state = after
    return a, envs.replay(envs.reset_state(ENV_ID, seed), a[None], n_threads=1), np.array(x)


def _start_x(start: envs.StartState) -> float:
    """The x position the env reads right after reset (the torso's x coordinate)."""
    return float(start.physics[1])


def _recorded(table: dict):
    """A reference that returns the recorded output for a case, looked up by its number of steps."""

    def reference(first, *rest):
        return table[np.shape(first)[0]]

    return reference


def check_forward_velocity(fn) -> CheckResult:
    """Exercise 0.1 (§3): forward velocity from the torso's x position before and after each step, and dt."""
    dt = envs.env_spec(ENV_ID).dt
    cases, table = [], {}
    for name, seed, steps, sigma in [("3 steps after reset(seed=0), σ = 0.3", 0, 3, 0.3),
                                     ("20 steps after reset(seed=1), σ = 1", 1, 20, 1.0)]:
        _, replay, x = _episode(seed, steps, sigma)
        cases.append(Case(name, (x[:, 0], x[:, 1], dt)))
        table[steps] = replay.forward_velocity[0]
    return check("Exercise 0.1 (forward velocity)", fn, _recorded(table), cases,
                 hint=VELOCITY_HINTS)


def check_step_reward(fn) -> CheckResult:
    """Exercise 0.2 (§3): Ant's reward = forward velocity + alive bonus − control cost − contact cost."""
    cases, table = [], {}
    for name, seed, steps, sigma in [("5 steps after reset(seed=2), σ = 0.5", 2, 5, 0.5),
                                     ("60 steps after reset(seed=3), σ = 1 (the robot may fall)", 3, 60, 1.0)]:
        a, r, _ = _episode(seed, steps, sigma)
        cases.append(Case(name, (r.forward_velocity[0], r.healthy[0], a, r.contact_cost[0])))
        table[steps] = r.reward[0]
    return check("Exercise 0.2 (Ant's reward from its parts)", fn, _recorded(table), cases,
                 hint=REWARD_HINTS)
