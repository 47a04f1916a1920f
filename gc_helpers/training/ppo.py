"""PPO with GAE for MuJoCo locomotion (the rl-mujoco seed), keeping a checkpoint of the actor per update.

Taught in notebooks/06_ppo.ipynb, §1–§4; shipped runs live in data/runs/ppo_*/ and bench/ppo.py reproduces them.
``train_ppo`` reads top to bottom (the lines marked ``# ALGO:`` are the algorithm; networks, normalisers and
rollout collection are in ``ppo_core``, the bookkeeping in ``recorder``).

One update (``n_envs`` environments stepped together, ``n_steps`` steps each, batch B = n_envs · n_steps):
1. collect the batch with the current policy. Episodes end inside the batch (terminated: the robot fell;
   truncated: the time limit). For every step we keep the TRUE next observation (at a boundary: the final
   observation of the ended episode, not the reset observation that follows it), so a truncated episode
   bootstraps from V(final observation) and a terminated one from 0;
2. GAE(γ, λ): δ_t = r_t + γ (1 − terminated_t) V(s'_t) − V(s_t), A_t = δ_t + γ λ (1 − ended_t) A_{t+1}
   (ended = terminated or truncated; the last step of the batch bootstraps and A_{T} = 0), returns R = A + V;
3. ``epochs`` passes over shuffled minibatches: maximise the clipped surrogate
   E[min(r A, clip(r, 1 − ε, 1 + ε) A)], r = π_θ(a|s) / π_old(a|s), plus ``ent_coef`` · entropy, minus
   ``vf_coef`` · ½ (V(s) − R)², one Adam optimiser, gradient-norm clipping;
4. keep a copy of the actor's flat parameters (every ``checkpoint_every`` updates) and of the observation
   normaliser it acts with.

Policy: a 64×64 tanh MLP gives the mean μ(s) of a Gaussian over a pre-squash action u, with a learned,
state-independent log-std; the env receives a = low + (tanh(u) + 1)/2 · (high − low). Its density is the
change of variables log π(a|s) = log N(u; μ, σ²) − Σ_i log|da_i/du_i|, da/du = (1 − tanh²u) (high − low)/2
(``squashed_log_prob``). We store u, so the ratio never inverts tanh; the log-det term depends on u only and
cancels in r — it matters for the log-likelihood itself (and the squashed entropy), not for the ratio.
The entropy bonus uses the base Gaussian's entropy Σ (log σ_i + ½ log 2πe) (the squashed entropy has no closed
form); the squashed entropy is reported as the sample estimate −mean log π(a|s).

Observations are normalised with running mean/std (updated after each update with the batch just collected, so
the policy is fixed within a batch and r = 1 at the first minibatch); rewards are divided by the running std of
the discounted return (as gymnasium's NormalizeReward), both clipped to ±10.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from .. import envs
from ..checks import finite_array
from .configs import PPOConfig, in_range
from .ppo_core import (
    Actor,
    Critic,
    ParallelEnvs,
    RewardScaler,
    RunningMeanStd,
    TanhGaussianPolicy,
    collect,
    describe_actor,
    gaussian_entropy,
    squashed_log_prob,
)
from .recorder import Progress, Recorder
from .runs import Run

# ------------------------------------------------------------------------------------------------------------
# Reference functions (notebook exercises check students against these; the loop calls them)


def gae(rewards, values, next_values, terminated, truncated, gamma: float, lam: float):
    """GAE(γ, λ) over a rollout batch of shape (T, N) (T steps of N parallel envs); returns (advantages, returns).

    ``values[t]`` = V(s_t), ``next_values[t]`` = V(s'_t) of the TRUE next observation (for a step that ended an
    episode: the final observation before the reset). ``terminated[t]``: no future after s'_t (bootstrap 0);
    ``truncated[t]``: the episode was cut after this step (bootstrap V(s'_t)) — either way the accumulation
    stops there. The last row bootstraps from next_values[T−1]. returns = advantages + values.

    Taught in notebooks/06_ppo.ipynb, §3 (GAE in a batch of parallel environments)."""
    r = finite_array(rewards, "rewards", ndim=2)
    for name, a in {"values": values, "next_values": next_values, "terminated": terminated,
                    "truncated": truncated}.items():
        if np.shape(a) != r.shape:
            raise ValueError(f"{name} has shape {np.shape(a)}; expected {r.shape} like rewards")
    v = finite_array(values, "values", ndim=2)
    in_range(gamma, "gamma", 0, 1)
    in_range(lam, "lam", 0, 1)
    term = np.asarray(terminated, dtype=bool)
    ended = term | np.asarray(truncated, dtype=bool)
    nv = np.where(term, 0.0, np.asarray(next_values, dtype=np.float64))  # a terminal next state has no value
    if not np.all(np.isfinite(nv)):
        raise ValueError("next_values contains NaN or inf at a non-terminal step")
    delta = r + gamma * nv - v
    adv = np.empty_like(delta)
    running = np.zeros(r.shape[1])
    for t in range(r.shape[0] - 1, -1, -1):
        running = delta[t] + gamma * lam * np.where(ended[t], 0.0, running)
        adv[t] = running
    return adv, adv + v


def clipped_surrogate(ratio: torch.Tensor, adv: torch.Tensor, clip: float) -> torch.Tensor:
    """Per-sample PPO objective min(r A, clip(r, 1 − ε, 1 + ε) A) (to be maximised).

    Taught in notebooks/06_ppo.ipynb, §1 (from the policy gradient to a surrogate objective)."""
    in_range(clip, "clip", 0, 1, low_open=True, high_open=True)
    return torch.minimum(ratio * adv, torch.clamp(ratio, 1.0 - clip, 1.0 + clip) * adv)


# ------------------------------------------------------------------------------------------------------------
# Training


def train_ppo(config: PPOConfig = PPOConfig(), progress: Callable[[Progress], object] | None = None,  # noqa: B008
              path=None, save_every: int = 25) -> Run:
    """Train with PPO (module docstring). If ``path`` (a name under data/runs/ or a folder) is given, the run is
    saved there every ``save_every`` updates and at the end — also when interrupted (KeyboardInterrupt, or the
    ``progress`` callback returning False), in which case the partial run is returned with interrupted=True.

    Taught in notebooks/06_ppo.ipynb, §4 (the trainer)."""
    if not isinstance(config, PPOConfig):
        raise ValueError(f"config={config!r}: must be a PPOConfig")
    c = config
    spec = envs.env_spec(c.env_id)
    with (Recorder(c, progress, path, save_every, c.checkpoint_every) as rec,
          ParallelEnvs(c.env_id, c.n_envs, c.horizon, seed=1_000_000 * (c.seed + 1)) as venv):
        with torch.random.fork_rng():  # seeded initialisation without touching the caller's global torch RNG
            torch.manual_seed(c.seed)
            actor = Actor(spec.obs_dim, spec.act_dim, c.hidden, c.init_log_std)
            critic = Critic(spec.obs_dim, c.hidden)
        gen = torch.Generator().manual_seed(c.seed + 1)  # action noise
        rng = np.random.default_rng(c.seed + 2)  # minibatch order
        params = list(actor.parameters()) + list(critic.parameters())
        opt = torch.optim.Adam(params, lr=c.lr, eps=1e-5)
        obs_rms = RunningMeanStd((spec.obs_dim,))
        scale_rewards = RewardScaler(c.n_envs, c.gamma)
        policy = TanhGaussianPolicy(actor, obs_rms.mean.copy(), obs_rms.var.copy(), spec.act_low, spec.act_high)
        rec.start(lambda: describe_actor(actor, spec), actor.flat(), policy.obs_mean, policy.obs_var)
        steps = 0

        for update in range(1, c.n_updates + 1):
            lr = c.lr * (1.0 - (update - 1) / c.n_updates) if c.anneal_lr else c.lr
            for g in opt.param_groups:
                g["lr"] = lr

            # ALGO: collect a batch: n_steps steps of each of the n_envs envs with the current policy
            batch = collect(venv, policy, c.n_steps, gen, steps)
            steps += c.batch_size
            rew = scale_rewards(batch.rewards, batch.terminated | batch.truncated) if c.reward_scale else batch.rewards

            # ALGO: advantages: GAE(γ, λ) across episode boundaries; returns R = A + V
            T, N = rew.shape
            B = T * N
            x = policy.normalized(batch.obs.reshape(B, -1))
            with torch.no_grad():
                values = critic(x).double().numpy().reshape(T, N)
                next_values = critic(policy.normalized(batch.next_obs.reshape(B, -1))).double().numpy().reshape(T, N)
            adv, ret = gae(rew, values, next_values, batch.terminated, batch.truncated, c.gamma, c.lam)
            adv_t = torch.as_tensor(adv.reshape(B), dtype=torch.float32)
            if c.adv_norm == "batch":
                adv_t = (adv_t - adv_t.mean()) / (adv_t.std() + 1e-8)
            ret_t = torch.as_tensor(ret.reshape(B), dtype=torch.float32)
            u = torch.as_tensor(batch.u.reshape(B, -1))
            logp_old = torch.as_tensor(batch.logp.reshape(B), dtype=torch.float32)

            mb = {k: [] for k in ("policy_loss", "entropy_loss", "value_loss", "approx_kl", "clip_fraction", "norm")}
            for _ in range(c.epochs):
                perm = rng.permutation(B)
                for start in range(0, B - c.minibatch_size + 1, c.minibatch_size):
                    # ALGO: surrogate loss on a minibatch: clipped ratio objective, value loss, entropy bonus
                    idx = torch.as_tensor(perm[start:start + c.minibatch_size])
                    logp = squashed_log_prob(u[idx], actor(x[idx]), actor.log_std, policy.act_low, policy.act_high)
                    log_ratio = logp - logp_old[idx]
                    ratio = torch.exp(log_ratio)
                    a = adv_t[idx]
                    if c.adv_norm == "minibatch":
                        a = (a - a.mean()) / (a.std() + 1e-8)
                    policy_loss = -clipped_surrogate(ratio, a, c.clip).mean()
                    entropy = gaussian_entropy(actor.log_std)
                    entropy_loss = -c.ent_coef * entropy
                    value_loss = 0.5 * ((critic(x[idx]) - ret_t[idx]) ** 2).mean()
                    loss = policy_loss + entropy_loss + c.vf_coef * value_loss

                    # ALGO: optimiser step with gradient-norm clipping
                    opt.zero_grad()
                    loss.backward()
                    mb["norm"].append(float(torch.nn.utils.clip_grad_norm_(params, c.max_grad_norm)))
                    opt.step()
                    with torch.no_grad():
                        mb["policy_loss"].append(float(policy_loss))
                        mb["entropy_loss"].append(float(-entropy))  # −H, as the seed plots it (whatever ent_coef)
                        mb["value_loss"].append(float(value_loss))
                        mb["approx_kl"].append(float(((ratio - 1) - log_ratio).mean()))
                        mb["clip_fraction"].append(float(((ratio - 1).abs() > c.clip).float().mean()))

            if c.obs_norm:  # the next batch acts with the normaliser that includes this one
                obs_rms.update(batch.obs)
                policy.obs_mean, policy.obs_var = obs_rms.mean.copy(), obs_rms.var.copy()
            rec.extend(episode_returns=batch.episode_returns, episode_lengths=batch.episode_lengths,
                       episode_end_steps=batch.episode_end_steps)
            rec.checkpoint(update, actor.flat(), policy.obs_mean, policy.obs_var)
            norms = mb.pop("norm")
            with torch.no_grad():
                base_entropy = float(gaussian_entropy(actor.log_std))
            if not rec.log(update, steps, **{k: sum(v) / len(v) for k, v in mb.items()},
                           mean_return=float(batch.episode_returns.mean()) if batch.episode_returns.size else math.nan,
                           lr=lr, entropy=base_entropy, squashed_entropy=float(-batch.logp.mean()),
                           critic_error=float(np.mean((values - ret) ** 2)),  # of the critic that made the batch
                           explained_variance=float(1 - np.var(ret - values) / max(np.var(ret), 1e-12)),
                           grad_norm=float(np.mean(norms)), grad_norm_std=float(np.std(norms)),
                           log_std=actor.log_std.detach().numpy().astype(np.float64).copy()):
                break
    return rec.run
