"""Gaussian policies with a fixed σ: linear, quadratic and MLP means; per-step scores ∇θ log π(a_t|s_t).

Taught in notebooks/01_policy_gradient.ipynb (the score) and notebooks/02_train_quadratic_agent.ipynb
(the features). Everything is float64 so that scores can be checked against autograd to 1e-6 or better.

Mean of the action distribution, with x = (s − mean) / std the normalised observation:
- ``linear``:    μ(s) = W φ(s), φ(s) = [1, x]                         (1 + d features)
- ``quadratic``: μ(s) = W φ(s), φ(s) = [1, x, x_i x_j for i ≤ j]      (1 + d + d(d+1)/2 features)
- ``mlp``:       μ(s) = W₂ relu(W₁ x + b₁) + b₂
For linear and quadratic means the score is closed form: ∇_W log N(a; Wφ, σ²I) = σ⁻² (a − Wφ) φᵀ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch.func import functional_call, grad, vmap

from .checks import finite_array, int_at_least, positive_float

KINDS = ("linear", "quadratic", "mlp")
DTYPE = torch.float64
DEFAULT_ENV_ID = "Ant-v5"  # the study's task: where a policy that does not know its own task is run


def check_sigma(sigma) -> float:
    """The policy's σ: a finite number > 0. Taught in notebooks/01_policy_gradient.ipynb, §4 The score of a
    Gaussian policy with fixed σ."""
    return positive_float(sigma, "sigma")


@dataclass(frozen=True)
class Normalizer:
    """Observation normalisation x = (s − mean) / std, measured once before training."""

    mean: np.ndarray
    std: np.ndarray

    def __post_init__(self):
        mean, std = np.asarray(self.mean, dtype=np.float64), np.asarray(self.std, dtype=np.float64)
        if mean.ndim != 1 or mean.shape != std.shape:
            raise ValueError(f"mean {mean.shape} and std {std.shape} must be 1-D vectors of the same length")
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std > 0)):
            raise ValueError("std must be finite and > 0 and mean finite in every coordinate")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)

    @classmethod
    def identity(cls, dim: int) -> Normalizer:
        return cls(np.zeros(dim), np.ones(dim))

    @classmethod
    def fit(cls, observations, min_std: float = 1e-3) -> Normalizer:
        """From observations (n, d); tiny stds are raised to ``min_std``."""
        obs = np.asarray(observations, dtype=np.float64).reshape(-1, np.shape(observations)[-1])
        return cls(obs.mean(axis=0), np.maximum(obs.std(axis=0), min_std))


def flat_parameters(module: torch.nn.Module) -> np.ndarray:
    """A module's parameters as one vector (a copy), in ``parameters()`` order.
    Taught in notebooks/02_train_quadratic_agent.ipynb, §4 Trainers and architectures over seeds."""
    return torch.nn.utils.parameters_to_vector(module.parameters()).detach().numpy().copy()


def load_flat_parameters(module: torch.nn.Module, theta, what: str = "module"):
    """Load a vector from ``flat_parameters`` into ``module`` (checked: its length and finite values); returns
    the module.
    Taught in notebooks/02_train_quadratic_agent.ipynb, §4 Trainers and architectures over seeds."""
    params = list(module.parameters())
    t = torch.as_tensor(np.asarray(theta), dtype=params[0].dtype)
    n = sum(p.numel() for p in params)
    if t.shape != (n,):
        raise ValueError(f"theta has shape {tuple(t.shape)}; expected ({n},) for this {what}")
    if not torch.all(torch.isfinite(t)):
        raise ValueError("theta contains NaN or inf")
    with torch.no_grad():
        torch.nn.utils.vector_to_parameters(t.clone(), params)
    return module


def quadratic_features(x):
    """φ = [1, x, x_i x_j for i ≤ j] of normalised observations x (..., d): (..., 1 + d + d(d+1)/2), as a torch
    tensor for a tensor and a numpy array otherwise. Taught in notebooks/02_train_quadratic_agent.ipynb,
    §1 Quadratic features."""
    t = torch.as_tensor(x, dtype=DTYPE)
    i, j = torch.triu_indices(t.shape[-1], t.shape[-1])
    one = torch.ones(t.shape[:-1] + (1,), dtype=DTYPE)
    phi = torch.cat([one, t, t[..., i] * t[..., j]], dim=-1)
    return phi if isinstance(x, torch.Tensor) else phi.numpy()


def n_features(kind: str, obs_dim: int) -> int:
    """Number of features φ(s) of a linear or quadratic mean.
    Taught in notebooks/02_train_quadratic_agent.ipynb, §1 Quadratic features."""
    if kind == "linear":
        return 1 + obs_dim
    if kind == "quadratic":
        return 1 + obs_dim + obs_dim * (obs_dim + 1) // 2
    raise ValueError(f"kind={kind!r} has no feature map; allowed: 'linear', 'quadratic'")


class GaussianPolicy(torch.nn.Module):
    """π(a|s) = N(μ_θ(s), σ² I) with a fixed σ. Build it with ``make_policy``. ``env_id``: the task it was made
    for (None if unknown); searches, replays and evaluations run it there unless told otherwise."""

    def __init__(self, kind, obs_dim, act_dim, sigma, normalizer: Normalizer, hidden: int = 128,
                 env_id: str | None = None):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"kind={kind!r}: allowed: {', '.join(KINDS)}")
        if env_id is not None and not isinstance(env_id, str):
            raise ValueError(f"env_id={env_id!r}: must be a task name such as 'Ant-v5', or None")
        self.kind = kind
        self.env_id = env_id
        self.obs_dim = int_at_least(obs_dim, "obs_dim")
        self.act_dim = int_at_least(act_dim, "act_dim")
        self.sigma = check_sigma(sigma)
        self.hidden = int_at_least(hidden, "hidden")
        if normalizer.mean.shape != (self.obs_dim,):
            raise ValueError(f"normalizer has dimension {normalizer.mean.shape[0]}; obs_dim={self.obs_dim}")
        self.register_buffer("obs_mean", torch.as_tensor(normalizer.mean, dtype=DTYPE))
        self.register_buffer("obs_std", torch.as_tensor(normalizer.std, dtype=DTYPE))
        if kind == "mlp":
            self.net = torch.nn.Sequential(
                torch.nn.Linear(obs_dim, hidden, dtype=DTYPE),
                torch.nn.ReLU(),
                torch.nn.Linear(hidden, act_dim, dtype=DTYPE),
            )
        else:
            self.W = torch.nn.Parameter(torch.zeros(act_dim, n_features(kind, obs_dim), dtype=DTYPE))

    # -- mean and likelihood ------------------------------------------------------------------------------------
    def normalizer(self) -> Normalizer:
        return Normalizer(self.obs_mean.numpy().copy(), self.obs_std.numpy().copy())

    def _obs(self, obs) -> torch.Tensor:
        o = torch.as_tensor(obs, dtype=DTYPE)
        if o.shape[-1] != self.obs_dim:
            task = f" (the policy's task: env_id={self.env_id!r})" if self.env_id else ""
            raise ValueError(f"obs has last dimension {o.shape[-1]}; expected obs_dim={self.obs_dim}{task}; "
                             f"observations of another task need that task's policy (check env_id)")
        return o

    def _finite_obs(self, obs) -> torch.Tensor:
        o = self._obs(obs)
        if not torch.all(torch.isfinite(o)):
            finite_array(o.detach().numpy(), "obs")  # names the first bad entry
        return o

    def features(self, obs) -> torch.Tensor:
        """φ(s) for linear/quadratic means: (..., n_features)."""
        x = (self._obs(obs) - self.obs_mean) / self.obs_std
        one = torch.ones(x.shape[:-1] + (1,), dtype=DTYPE)
        if self.kind == "linear":
            return torch.cat([one, x], dim=-1)
        if self.kind == "quadratic":
            return quadratic_features(x)
        raise ValueError("features() is defined for the linear and quadratic policies only")

    def mean(self, obs) -> torch.Tensor:
        """μ_θ(s): (..., act_dim)."""
        if self.kind == "mlp":
            return self.net((self._obs(obs) - self.obs_mean) / self.obs_std)
        return self.features(obs) @ self.W.T

    forward = mean

    def _actions(self, actions, n) -> torch.Tensor:
        a = torch.as_tensor(actions, dtype=DTYPE)
        if a.shape[-1] != self.act_dim or a.shape[:-1] != n:
            raise ValueError(f"actions has shape {tuple(a.shape)}; expected {tuple(n) + (self.act_dim,)}")
        if not torch.all(torch.isfinite(a)):
            finite_array(a.detach().numpy(), "actions")  # names the first bad entry
        return a

    def log_prob(self, obs, actions) -> torch.Tensor:
        """log π(a|s) for each row: (...,). Taught in notebooks/01_policy_gradient.ipynb, §4."""
        mu = self.mean(self._finite_obs(obs))
        a = self._actions(actions, mu.shape[:-1])
        k, s = self.act_dim, self.sigma
        return -0.5 * ((a - mu) ** 2).sum(-1) / s**2 - k * math.log(s) - 0.5 * k * math.log(2 * math.pi)

    # -- parameters -----------------------------------------------------------------------------------------------
    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def flat(self) -> np.ndarray:
        """θ as one float64 vector (a copy)."""
        return flat_parameters(self)

    def set_flat(self, theta) -> GaussianPolicy:
        """Load θ from a vector of length ``n_params``; returns self."""
        return load_flat_parameters(self, theta, "policy")

    def with_flat(self, theta) -> GaussianPolicy:
        """A copy of this policy with parameters θ."""
        import copy

        return copy.deepcopy(self).set_flat(theta)

    # -- the per-step score ---------------------------------------------------------------------------------------
    def score(self, obs, actions) -> torch.Tensor:
        """The L × P matrix of per-step gradients ∇θ log π(a_t|s_t) for obs (L, d) and actions (L, k).

        Closed form for linear/quadratic means (one einsum), torch.func (vmap of grad) for the MLP.
        """
        if self.kind != "mlp":
            phi = self.features(self._finite_obs(obs))
            a = self._actions(actions, phi.shape[:-1])
            with torch.no_grad():
                resid = (a - phi @ self.W.T) / self.sigma**2
            return torch.einsum("...k,...f->...kf", resid, phi).reshape(*phi.shape[:-1], -1)
        o = self._finite_obs(obs)
        a = self._actions(actions, o.shape[:-1])
        params = {name: p.detach() for name, p in self.named_parameters()}
        buffers = dict(self.named_buffers())

        per_step = vmap(grad(lambda p, oi, ai: _log_prob_call(self, p, buffers, oi, ai)), in_dims=(None, 0, 0))
        g = per_step(params, o.reshape(-1, self.obs_dim), a.reshape(-1, self.act_dim))
        flat = torch.cat([g[name].reshape(g[name].shape[0], -1) for name, _ in self.named_parameters()], dim=1)
        return flat.reshape(*o.shape[:-1], -1)

    def mean_fn(self):
        """A numpy callable obs (n, d) -> action means (n, k), for ``rollouts.rollout`` and ``rollouts.evaluate``."""

        def fn(obs):
            with torch.no_grad():
                return self.mean(obs).numpy()

        return fn


def _log_prob_call(policy, params, buffers, obs, action):
    mu = functional_call(policy, (params, buffers), (obs[None],))[0]
    return -0.5 * ((action - mu) ** 2).sum() / policy.sigma**2


def make_policy(
    kind: str,
    obs_dim: int,
    act_dim: int,
    sigma: float,
    normalizer: Normalizer | None = None,
    hidden: int = 128,
    init: str | None = None,
    seed: int = 0,
    init_std: float = 0.1,
    env_id: str | None = None,
) -> GaussianPolicy:
    """A Gaussian policy with fixed ``sigma`` for the task ``env_id`` (None: not recorded).
    Taught in notebooks/02_train_quadratic_agent.ipynb, §1 Quadratic features.

    ``init`` (default: "zero" for linear/quadratic, "study" for the MLP): "zero" (all weights 0: the mean
    is 0 everywhere, as in the study's quad model) or "study" (MLP:
    N(0, 1/fan_in) weights, zero biases, then every layer rescaled so that the output std over random normal
    inputs is ``init_std``; for linear/quadratic the same as "zero").
    """
    if normalizer is None:
        normalizer = Normalizer.identity(int_at_least(obs_dim, "obs_dim"))
    policy = GaussianPolicy(kind, obs_dim, act_dim, sigma, normalizer, hidden, env_id)
    init = init or ("study" if kind == "mlp" else "zero")
    if init not in ("zero", "study"):
        raise ValueError(f"init={init!r}: allowed: 'zero', 'study'")
    if kind == "mlp":
        gen = torch.Generator().manual_seed(int(seed))
        with torch.no_grad():
            for layer in (policy.net[0], policy.net[2]):
                if init == "zero":
                    layer.weight.zero_()
                else:
                    layer.weight.normal_(0.0, 1.0 / math.sqrt(layer.in_features), generator=gen)
                layer.bias.zero_()
            if init == "study":
                x = torch.randn(4096, obs_dim, generator=gen, dtype=DTYPE)
                out_std = policy.net(x).std()
                scale = (init_std / out_std) ** 0.5  # split the rescale over the two layers
                policy.net[0].weight.mul_(scale)
                policy.net[2].weight.mul_(scale)
    return policy


def describe(policy: GaussianPolicy) -> dict:
    """The JSON-able description that ``from_description`` rebuilds the policy from (weights not included);
    "env_id" only if the policy knows its task. Taught in notebooks/02_train_quadratic_agent.ipynb, §3."""
    desc = {"policy_kind": policy.kind, "obs_dim": policy.obs_dim, "act_dim": policy.act_dim,
            "sigma": policy.sigma, "hidden": policy.hidden, "n_params": policy.n_params,
            "obs_mean": policy.obs_mean.tolist(), "obs_std": policy.obs_std.tolist()}
    return desc if policy.env_id is None else {**desc, "env_id": policy.env_id}


def from_description(desc: dict, theta=None) -> GaussianPolicy:
    """A policy from ``describe``'s dict, with parameters ``theta`` if given. A run's metadata works too (it
    holds the same keys, and "env_id": older artifacts record the task there only). Taught in
    notebooks/02_train_quadratic_agent.ipynb, §3 The shipped runs."""
    missing = {"policy_kind", "obs_dim", "act_dim", "sigma", "obs_mean", "obs_std"} - set(desc)
    if missing:
        raise ValueError(f"policy description lacks {sorted(missing)}")
    norm = Normalizer(np.array(desc["obs_mean"]), np.array(desc["obs_std"]))
    policy = make_policy(desc["policy_kind"], desc["obs_dim"], desc["act_dim"], desc["sigma"], norm,
                         hidden=desc.get("hidden", 128), env_id=desc.get("env_id"))
    if "n_params" in desc and desc["n_params"] != policy.n_params:
        raise ValueError(f"description says n_params={desc['n_params']}, the rebuilt policy has {policy.n_params}")
    return policy if theta is None else policy.set_flat(theta)


def task_of(policy: GaussianPolicy, env_id: str | None = None) -> str:
    """The task to run ``policy`` on: ``env_id`` if given, else the policy's own (``policy.env_id``), else the
    study's Ant-v5. A given env_id that contradicts the policy's task, or a task whose observation or action
    size does not fit the policy, is a ValueError naming env_id. Taught in notebooks/03_cem_compression.ipynb,
    §1 The target."""
    from . import envs, sim

    own = policy.env_id
    if env_id is None:
        env_id = own or DEFAULT_ENV_ID
    elif own is not None and env_id != own:
        raise ValueError(f"env_id={env_id!r} but the policy was trained on {own!r}; leave env_id out to use the "
                         f"policy's task")
    spec = envs.env_spec(sim.check_env_id(env_id))
    if (spec.obs_dim, spec.act_dim) != (policy.obs_dim, policy.act_dim):
        raise ValueError(f"env_id={env_id!r} has obs_dim={spec.obs_dim} and act_dim={spec.act_dim}, but the policy "
                         f"expects obs_dim={policy.obs_dim} and act_dim={policy.act_dim}: pass the env_id of the "
                         f"task the policy was made for")
    return env_id
