"""Gradient compression: find ONE open-loop action sequence whose per-step score vectors g_t = ∇θ log π(a_t|s_t),
weighted by coefficients α_t, point along a target direction in weight space (the training weight change,
a random direction, or the policy gradient).

Taught in notebooks/03_cem_compression.ipynb (targets, searches, valid episodes, staged selection) and
notebooks/04_alpha_optimisation.ipynb (best α, cosine vs length, the √(L/P) null model, SGD vs Adam targets).

Pieces, each a function (arrays in, small frozen dataclasses out):

- targets: ``weight_change_target`` (w_last − w_first of a stored run), ``random_target`` (seeded N(0, I)),
  ``policy_gradient_target`` (REINFORCE estimate at the initial weights from many on-policy rollouts).
- best α for a fixed set of per-step gradients G (L × P): ``best_alpha_exact`` (the projection of the target on
  the span of G: max_α cos = ‖P_G w‖/‖w‖, a least-squares solve), ``best_alpha_lbfgs`` (the study's L-BFGS on the
  cosine), ``no_alpha`` (plain sum Σ_t g_t, the study's Algorithm 1) and ``l2_objective`` (‖Σ α_t g_t − w‖²).
- ``IncrementalSpan``: an orthonormal basis of the span grown column by column (Gram–Schmidt twice), so that a
  candidate chunk of new gradients costs only its own columns.
- searches over action sequences replayed open-loop from fixed reset seeds (the study: 42):
  ``chunk_search`` grows the sequence chunk by chunk from the saved MuJoCo state (``envs.advance``), with the
  per-chunk optimisers "project" (the least-squares action directions, see below), "cem" (cross-entropy method,
  optional linear-regression gradient step) and "project+cem"; ``hill_climb`` is the study's random hill
  climbing (the faithful baseline); ``refine_whole`` re-optimises a whole sequence pass by pass;
  ``staged_search`` runs several chunk searches and branches from the best prefixes (``search`` dispatches).
- ``sweep`` records cosine vs length, env steps and wall time and saves ``data/compressed/<name>/``.

ACTIONS STAY IN THE ACTION BOX [-1, 1]. MuJoCo clips controls outside the box, while the score would use the
unclipped value: a sequence with out-of-box actions would be credited with gradients the simulated robot never
"took". Every search clips its candidates into the box before replaying and scoring them.

EVERY TRAJECTORY IS A VALID EPISODE. A candidate chunk after which the env would end the episode (Ant: the torso
leaves z ∈ [0.2, 1.0], by a jump or a fall) scores −inf, and with ``safety`` = n the robot must also stay healthy
for n further steps of zero action, so that the search never walks into a state with no healthy way on. Without
this rule a search finds that a jump (z > 1) adds cosine: states the trained policy never saw.

Why greedy chunks: the open-loop dynamics are chaotic (a 1e-3 change of a few actions moves the next
observation by ≈0.6), so a sequence can only be planned where its states are known: the prefix. Each chunk is
chosen with the prefix fixed; whole-sequence re-planning (``refine_whole``) loses.

The "project" idea. At the study's zero initial weights the score is g_t = σ⁻² a_t ⊗ φ(s_t); with α_t free,
α_t a_t is ANY vector u_t along a_t. For fixed states the best combination solves a linear least-squares problem
in u_t (the rows of the target projected on the span of the features φ(s_t)); setting a_t ∝ u_t (scaled to the
box; sign and size go into α_t) attains it, as long as the states do not move. They do move (a_t changes
s_{t+1}, …), so the chunk is replayed and the solve repeated. In general (non-zero weights, the MLP)
g_t = J_tᵀ (a_t − μ_t) / σ² with J_t = ∂μ(s_t)/∂θ, and the same holds with a_t − μ_t ∝ u_t.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import envs, store
from .checks import int_at_least, positive_float
from .policies import GaussianPolicy, check_sigma, from_description

COMPRESSED_KIND = "compressed"
STUDY_RESET_SEED = 42
STUDY_GRID = tuple(range(10, 500, 10))  # 10, 20, …, 490


# ------------------------------------------------------------------------------------------------------------
# Input checks


def _check_vector(x, name: str, size: int | None = None, nonzero: bool = True) -> np.ndarray:
    v = np.asarray(x, dtype=np.float64)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"{name} has shape {np.shape(x)}; expected a non-empty vector (P,)")
    if size is not None and v.size != size:
        raise ValueError(f"{name} has {v.size} entries; expected P={size} (one per policy parameter)")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} contains NaN or inf; every entry must be finite")
    if nonzero and not np.any(v):
        raise ValueError(f"{name} is the zero vector; a direction needs a non-zero norm")
    return v


def _check_grads(grads, name: str = "grads") -> np.ndarray:
    g = np.asarray(grads.detach().numpy() if isinstance(grads, torch.Tensor) else grads, dtype=np.float64)
    if g.ndim == 1:
        g = g[None]
    if g.ndim != 2:
        raise ValueError(f"{name} has shape {np.shape(grads)}; expected (L, P): one gradient per step")
    if g.shape[0] < 1:
        raise ValueError(f"{name} has L={g.shape[0]} rows; L must be >= 1")
    if not np.all(np.isfinite(g)):
        raise ValueError(f"{name} contains NaN or inf; every entry must be finite")
    return g


def _check_pair(grads, target):
    g = _check_grads(grads)
    w = _check_vector(target, "target", size=g.shape[1])
    return g, w


def cosine(a, b) -> float:
    """cos(a, b); 0 if either is the zero vector."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return 0.0 if na == 0 or nb == 0 else float(a @ b / (na * nb))


def null_cosine(length, n_params) -> np.ndarray:
    """The null model: a fixed direction projected on a random L-dimensional subspace of R^P has cos ≈ √(L/P)."""
    return np.sqrt(np.minimum(np.asarray(length, dtype=np.float64) / n_params, 1.0))


# ------------------------------------------------------------------------------------------------------------
# Targets


@dataclass(frozen=True)
class Target:
    """A direction to compress: ``vector`` (P,), a name ("weight_change", "random", "policy_gradient"), the run it
    comes from (or None) and how it was made."""

    name: str
    vector: np.ndarray
    run: str | None = None
    info: dict = field(default_factory=dict)

    @property
    def n_params(self) -> int:
        return int(self.vector.size)


def load_run_artifact(name_or_path) -> store.Artifact:
    """A training run stored by gc_helpers.training (data/runs/<name>/ or a path), read with store.load."""
    from .config import data_dir

    p = Path(name_or_path)
    if not (p / "meta.json").is_file():
        p = data_dir() / "runs" / str(name_or_path)
    art = store.load(p)
    if "checkpoints" not in art.arrays:
        raise ValueError(f"{p} holds no 'checkpoints' array; is it a training run?")
    return art


def run_policy(name_or_path, iteration: int = 0) -> GaussianPolicy:
    """The policy of a stored run at checkpoint ``iteration`` (0: w_first, where the study takes the gradients)."""
    art = load_run_artifact(name_or_path)
    ck = art["checkpoints"]
    n = len(ck)
    if isinstance(iteration, bool) or not isinstance(iteration, int | np.integer) or not -n <= iteration < n:
        raise ValueError(f"iteration={iteration!r}: must be an integer in [{-len(ck)}, {len(ck) - 1}]")
    return from_description(art.meta, ck[int(iteration)].astype(np.float64))


def weight_change_target(name_or_path, first: int = 0, last: int = -1) -> Target:
    """w_last − w_first of a stored run (checkpoints ``last`` and ``first``): what training did to the weights."""
    art = load_run_artifact(name_or_path)
    ck = art["checkpoints"].astype(np.float64)
    w = _check_vector(ck[last] - ck[first], "weight change")
    return Target("weight_change", w, run=Path(art.path).name,
                  info={"first": int(first), "last": int(last), "optimizer": art.meta.get("optimizer"),
                        "n_checkpoints": int(len(ck))})


def random_target(n_params: int, seed: int) -> Target:
    """A random direction in weight space: N(0, I) from ``numpy.random.default_rng(seed)`` (study, experiment 2)."""
    n = int_at_least(n_params, "n_params")
    rng = np.random.default_rng(envs.check_seed(seed))
    return Target("random", rng.standard_normal(n), info={"seed": int(seed)})


def policy_gradient_target(policy: GaussianPolicy, env_id: str = "Ant-v5", n_episodes: int = 256,
                           horizon: int = 200, seed: int = 0, n_envs: int = 64) -> Target:
    """The policy gradient at ``policy``'s weights estimated from ``n_episodes`` on-policy rollouts of ``horizon``
    steps (REINFORCE with reward-to-go and a per-time-step mean baseline), in batches of ``n_envs`` envs."""
    int_at_least(n_episodes, "n_episodes")
    int_at_least(horizon, "horizon")
    seed = envs.check_seed(seed)
    pool = envs.EnvPool(env_id, min(int_at_least(n_envs, "n_envs"), n_episodes))
    total = np.zeros(policy.n_params)
    steps, done, batch = 0, 0, 0
    while done < n_episodes:
        r = envs.rollout(pool, policy.mean_fn(), horizon, seed=seed + 100_003 * batch, noise_std=policy.sigma)
        n = min(len(pool), n_episodes - done)
        mask = r.mask[:n]
        rtg = np.cumsum(r.rewards[:n, ::-1], axis=1)[:, ::-1] * mask
        base = rtg.sum(0) / np.maximum(mask.sum(0), 1)
        adv = (rtg - base) * mask
        g = policy.score(r.obs[:n][mask], r.actions[:n][mask]).numpy()
        total += adv[mask] @ g
        steps += int(r.lengths[:n].sum())
        done += n
        batch += 1
    pool.close()
    return Target("policy_gradient", _check_vector(total / n_episodes, "policy gradient"),
                  info={"n_episodes": n_episodes, "horizon": horizon, "seed": seed, "env_steps": steps})


# ------------------------------------------------------------------------------------------------------------
# Best α for fixed per-step gradients


@dataclass(frozen=True)
class AlphaFit:
    """Coefficients α (L,), the compressed direction Σ_t α_t g_t (P,) and its cosine with the target."""

    cosine: float
    alpha: np.ndarray
    direction: np.ndarray
    method: str


def best_alpha_exact(grads, target) -> AlphaFit:
    """The best α exactly: the least-squares solution of min_α ‖Gᵀα − w‖ (QR-based ``lstsq``).

    Its direction is P_G w, the projection of the target on the span of the gradients, so its cosine
    ‖P_G w‖/‖w‖ is the maximum over all α (no α can do better). α is scaled to reproduce w's length.
    """
    g, w = _check_pair(grads, target)
    alpha = np.linalg.lstsq(g.T, w, rcond=None)[0]
    direction = g.T @ alpha
    return AlphaFit(cosine(direction, w), alpha, direction, "exact")


def best_alpha_lbfgs(grads, target, alpha0=None, history_size: int = 10, max_iter: int = 20) -> AlphaFit:
    """The study's α: maximise cos(w, Σ α_t g_t) with torch.optim.LBFGS (history 10, max_iter 20, strong-Wolfe
    line search, α initialised to ones, ONE ``step`` call), then α normalised to unit norm.

    It only approaches ``best_alpha_exact``'s cosine. ``alpha0`` overrides the initial α (the study's hill
    climbing keeps the previous length's α, with zeros for the new steps).
    """
    g, w = _check_pair(grads, target)
    if alpha0 is None:
        a0 = np.ones(g.shape[0])
    else:
        a0 = _check_vector(alpha0, "alpha0", size=g.shape[0], nonzero=False)
    G = torch.as_tensor(g)
    wt = torch.as_tensor(w / np.linalg.norm(w))
    # The cosine is scale-invariant; scale the gradients to unit average norm so that L-BFGS' tolerances behave.
    scale = float(torch.linalg.norm(G) / math.sqrt(g.shape[0])) or 1.0
    Gs = G / scale
    alpha = torch.tensor(a0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([alpha], lr=1, history_size=history_size, max_iter=max_iter,
                            line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        d = Gs.T @ alpha
        loss = -(d @ wt) / (torch.linalg.norm(d) + 1e-300)
        loss.backward()
        return loss

    opt.step(closure)
    a = alpha.detach().numpy().copy()
    if not np.all(np.isfinite(a)):
        a = a0.copy()
    n = np.linalg.norm(a)
    a = a / n if n > 0 else a
    direction = g.T @ a
    return AlphaFit(cosine(direction, w), a, direction, "lbfgs")


def no_alpha(grads, target) -> AlphaFit:
    """The study's Algorithm 1: the plain sum Σ_t g_t (every α_t = 1) and its cosine with the target."""
    g, w = _check_pair(grads, target)
    alpha = np.ones(g.shape[0])
    direction = g.sum(axis=0)
    return AlphaFit(cosine(direction, w), alpha, direction, "none")


def l2_objective(grads, target, alpha=None) -> float:
    """‖Σ_t α_t g_t − w‖² (the report's Algorithm 1 objective; α = ones by default). Unlike the cosine it also
    asks the compressed gradient to match the target's length."""
    g, w = _check_pair(grads, target)
    a = np.ones(g.shape[0]) if alpha is None else _check_vector(alpha, "alpha", size=g.shape[0], nonzero=False)
    return float(np.sum((g.T @ a - w) ** 2))


def fit_alpha(grads, target, method: str = "exact", **kw) -> AlphaFit:
    """Dispatch on ``method``: "exact", "lbfgs" or "none"."""
    if method == "exact":
        return best_alpha_exact(grads, target)
    if method == "lbfgs":
        return best_alpha_lbfgs(grads, target, **kw)
    if method == "none":
        return no_alpha(grads, target)
    raise ValueError(f"method={method!r}: allowed: 'exact', 'lbfgs', 'none'")


# ------------------------------------------------------------------------------------------------------------
# The span of the gradients, grown incrementally


class IncrementalSpan:
    """An orthonormal basis Q (m × P) of the span of the gradients added so far, and the target's residual
    r = w − QᵀQ w (w normalised to unit length), so cos² = 1 − ‖r‖².

    ``gains(cands)`` scores a batch of candidate column blocks (B, c, P) by the cos² each would add, at the cost
    of orthogonalising their c columns against Q (no fresh least squares of the whole span per candidate).
    Columns whose component outside the span is below ``tol`` times their norm count as dependent (no gain).
    """

    def __init__(self, target, capacity: int = 64, tol: float = 1e-9):
        w = _check_vector(target, "target")
        self.w = torch.as_tensor(w / np.linalg.norm(w))
        self.P = w.size
        self.tol = tol
        self._Q = torch.zeros(max(capacity, 1), self.P, dtype=torch.float64)
        self.m = 0
        self.r = self.w.clone()

    @property
    def Q(self) -> torch.Tensor:
        return self._Q[: self.m]

    @property
    def cosine(self) -> float:
        return float(math.sqrt(max(0.0, 1.0 - float(self.r @ self.r))))

    def copy(self) -> IncrementalSpan:
        new = IncrementalSpan.__new__(IncrementalSpan)
        new.w, new.P, new.tol, new.m = self.w, self.P, self.tol, self.m
        new._Q = self._Q.clone()
        new.r = self.r.clone()
        return new

    def _orth(self, C: torch.Tensor, passes: int = 1) -> torch.Tensor:
        """C (..., c, P) minus its projection on span(Q) (classical Gram–Schmidt, ``passes`` times)."""
        Q = self.Q
        if self.m == 0:
            return C
        for _ in range(passes):
            C = C - (C @ Q.T) @ Q
        return C

    def gains(self, cands) -> torch.Tensor:
        """cos² added by each candidate block cands (B, c, P) (or (c, P)): ‖projection of r on its new columns‖²."""
        C = torch.as_tensor(np.asarray(cands, dtype=np.float64)) if not isinstance(cands, torch.Tensor) else cands
        single = C.ndim == 2
        C = C[None] if single else C
        norms = torch.linalg.norm(C, dim=-1, keepdim=True).clamp_min(1e-300)
        Cn = self._orth(C / norms)
        gram = Cn @ Cn.transpose(-1, -2)
        evals, evecs = torch.linalg.eigh(gram)
        b = evecs.transpose(-1, -2) @ (Cn @ self.r)[..., None]
        keep = evals > self.tol * 1e3
        gain = torch.where(keep, b[..., 0] ** 2 / evals.clamp_min(1e-300), torch.zeros_like(evals)).sum(-1)
        return gain[0] if single else gain

    def add(self, cols) -> int:
        """Append the columns cols (c, P) (dependent ones are skipped); returns how many were added."""
        C = torch.as_tensor(np.asarray(cols, dtype=np.float64)) if not isinstance(cols, torch.Tensor) else cols
        C = C.reshape(-1, self.P)
        added = 0
        for c in C:
            n0 = float(torch.linalg.norm(c))
            if n0 == 0:
                continue
            v = c / n0
            for _ in range(2):
                if self.m:
                    v = v - (self.Q @ v) @ self.Q
            nv = float(torch.linalg.norm(v))
            if nv <= math.sqrt(self.tol):
                continue
            if self.m == self._Q.shape[0]:
                self._Q = torch.cat([self._Q, torch.zeros_like(self._Q)])
            q = v / nv
            self._Q[self.m] = q
            self.m += 1
            self.r = self.r - (q @ self.r) * q
            added += 1
        return added


# ------------------------------------------------------------------------------------------------------------
# Per-step gradients and mean Jacobians of a policy


def step_grads(policy: GaussianPolicy, obs, actions) -> torch.Tensor:
    """Per-step scores for obs (..., L, d) and actions (..., L, k): (..., L, P)."""
    return policy.score(obs, actions)


def mean_jacobian(policy: GaussianPolicy, obs) -> torch.Tensor:
    """J_t = ∂μ(s_t)/∂θ for obs (n, d): (n, k, P). Closed form (e_i ⊗ φ_t) for linear/quadratic policies."""
    o = torch.as_tensor(np.asarray(obs, dtype=np.float64))
    if policy.kind != "mlp":
        phi = policy.features(o)  # (n, F)
        k = policy.act_dim
        eye = torch.eye(k, dtype=torch.float64)
        return torch.einsum("ij,nf->nijf", eye, phi).reshape(o.shape[0], k, -1)
    from torch.func import functional_call, jacrev, vmap

    params = {name: p.detach() for name, p in policy.named_parameters()}
    buffers = dict(policy.named_buffers())

    def mu(p, x):
        return functional_call(policy, (p, buffers), (x[None],))[0]

    jac = vmap(jacrev(mu), in_dims=(None, 0))(params, o)
    return torch.cat([jac[name].reshape(o.shape[0], policy.act_dim, -1) for name, _ in policy.named_parameters()],
                     dim=-1)


def _policy_mean(policy, obs) -> np.ndarray:
    with torch.no_grad():
        return policy.mean(torch.as_tensor(obs)).numpy()


def _box_step(mu: np.ndarray, u: np.ndarray, lo: float, hi: float, reach: float = 1.0) -> np.ndarray:
    """a = μ + s·u with the largest |s| (either sign) keeping a in [lo, hi]^k, times ``reach`` ∈ (0, 1].
    Then a − μ ∝ u exactly (when μ is inside the box). Rows with u = 0 keep a = μ."""
    mu = np.clip(mu, lo, hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        up = np.where(u > 0, (hi - mu) / u, np.where(u < 0, (lo - mu) / u, np.inf)).min(-1)  # largest s > 0
        dn = np.where(u > 0, (mu - lo) / u, np.where(u < 0, (mu - hi) / u, np.inf)).min(-1)  # largest −s
    s = np.where(up >= dn, up, -dn)
    s = np.where(np.isfinite(s), s, 0.0) * reach
    return np.clip(mu + s[..., None] * u, lo, hi)


# ------------------------------------------------------------------------------------------------------------
# Searches


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


@dataclass(frozen=True)
class SearchResult:
    """Action sequence(s) found by a search and the cosine of their best combination with the target.

    actions (K, L_k, k): one row per trajectory (K = 1 for a single sequence; NaN-padded if lengths differ);
    obs (K, L_k + 1, d) and physics (K, L_k + 1, state_dim): obs[:, t] is the state where actions[:, t] is taken;
    order (L, 2): (trajectory, step) of each gradient in the order the steps were added, which is alpha's order;
    alpha (L,) and direction = Σ α_t g_t (P,) from the exact projection; cosine: its cosine with the target.
    lengths (n,): total lengths on the grid; curve (n,): exact best-α cosine at each; curve_lbfgs (n,): the study's
    L-BFGS cosine where the search used it (else NaN); seconds, env_steps (n,): wall time and env steps used
    until each length was reached. complete: False if the search was interrupted.
    """

    actions: np.ndarray
    obs: np.ndarray
    physics: np.ndarray
    order: np.ndarray
    alpha: np.ndarray
    direction: np.ndarray
    cosine: float
    lengths: np.ndarray
    curve: np.ndarray
    curve_lbfgs: np.ndarray
    seconds: np.ndarray
    env_steps: np.ndarray
    reset_seeds: tuple
    method: str
    settings: dict
    complete: bool = True

    @property
    def length(self) -> int:
        return int(self.order.shape[0])

    def grads(self, policy: GaussianPolicy) -> np.ndarray:
        """The per-step gradients (L, P) in alpha's order (recomputed from the stored obs and actions)."""
        K = self.actions.shape[0]
        out = []
        for i in range(K):
            n = int(np.sum(self.order[:, 0] == i))
            out.append(policy.score(self.obs[i, :n], self.actions[i, :n]).numpy())
        return np.stack([out[i][t] for i, t in self.order]) if len(self.order) else np.zeros((0, policy.n_params))


class _Traj:
    """One trajectory under construction: its saved end state and its actions, observations, physics."""

    def __init__(self, start: envs.StartState):
        self.state = start
        self.actions: list[np.ndarray] = []
        self.obs: list[np.ndarray] = [start.obs[None]]
        self.physics: list[np.ndarray] = [start.physics[None]]

    @property
    def length(self) -> int:
        return sum(len(a) for a in self.actions)


class _Scorer:
    """Replays candidate chunks (B, c, k) from a saved state; scores = cos² each adds to the span."""

    def __init__(self, policy, span: IncrementalSpan, n_threads, future_weight: float = 0.0, safety: int = 0):
        self.policy, self.span, self.n_threads = policy, span, n_threads
        self.env_steps = 0
        self.future_weight, self.safety = future_weight, safety

    def replay(self, state, A):
        self.env_steps += A.shape[0] * A.shape[1]
        return envs.replay(state, A, n_threads=self.n_threads)

    def __call__(self, state, A):
        # the chunk, then ``safety`` steps of zero action: a chunk must leave a way to carry on
        coast = np.zeros((A.shape[0], self.safety, A.shape[2]))
        rep = self.replay(state, np.concatenate([A, coast], axis=1) if self.safety else A)
        ended = rep.terminated.any(axis=1)
        rep = _sub_replay(rep, slice(None), A.shape[1])
        G = self.policy.score(rep.obs[:, :-1], A)
        gains = self.span.gains(G).numpy()
        if self.future_weight > 0:  # value of the state the chunk ends in: what its k free directions could add
            J = mean_jacobian(self.policy, rep.obs[:, -1])  # (B, k, P)
            gains = gains + self.future_weight * self.span.gains(J).numpy()
        # A compressed trajectory must be a valid episode: candidates after which the env would end it (Ant: the
        # torso leaves z ∈ [0.2, 1.0], a jump or a fall), within the chunk or the safety margin, score −inf.
        return np.where(ended, -np.inf, gains), rep, G


def _project_directions(policy, span: IncrementalSpan, obs: np.ndarray, ridge: float) -> np.ndarray:
    """The least-squares u_t (c, k) for one chunk's states obs (c, d): min ‖Σ_t J_tᵀ u_t − r‖ with r the target's
    part outside the prefix span (so the prefix's α can still adjust), ridge-regularised."""
    J = mean_jacobian(policy, obs)  # (c, k, P)
    c, k, P = J.shape
    C = J.reshape(c * k, P)
    norms = torch.linalg.norm(C, dim=-1, keepdim=True).clamp_min(1e-300)
    Cn = span._orth(C / norms)
    gram = Cn @ Cn.T
    lam = ridge * float(torch.linalg.eigvalsh(gram)[-1]) + 1e-300
    coef = torch.linalg.solve(gram + lam * torch.eye(c * k, dtype=torch.float64), Cn @ span.r)
    return (coef / norms[:, 0]).reshape(c, k).numpy()


def _project_actions(policy, span, obs, ridge, reach, lo, hi):
    u = _project_directions(policy, span, obs, ridge)
    return _box_step(_policy_mean(policy, obs), u, lo, hi, reach)


def _chunk_project(ctx, state, init):
    """Fixed-point iteration: replay the chunk, solve for the best u_t at those states, set a_t ∝ u_t, repeat
    ``iters`` times, from ``restarts`` random initial chunks at once (one replay call for all of them). ``reach``
    may be a tuple: restart b then scales its actions to reach[b % len(reach)] of the box (at least one restart
    per value), so the chunk also chooses how vigorously the robot moves.
    Returns the best chunk seen: (actions, gain, replay, grads)."""
    o = ctx.opts
    reaches = tuple(np.atleast_1d(o["reach"]).astype(float))
    R = max(o["restarts"], len(reaches))
    A = np.clip(init, ctx.lo, ctx.hi)
    A = np.concatenate([A[None], ctx.rng.uniform(ctx.lo, ctx.hi, (R - 1, *A.shape))]) if R > 1 else A[None]
    best = None
    for it in range(o["iters"] + 1):
        gains, rep, G = ctx.scorer(state, A)
        i = int(np.argmax(gains))
        if best is None or gains[i] > best[1]:
            best = (A[i].copy(), float(gains[i]), _take(rep, i), G[i])
        if it == o["iters"]:
            break
        for b in range(R):
            reach = reaches[b % len(reaches)]
            obs = rep.obs[b, :-1]
            new = _project_actions(ctx.policy, ctx.span, obs, o["ridge"], reach, ctx.lo, ctx.hi)
            if o["align"] and it > 0:  # keep each action's sign (α_t absorbs it): the states move less
                mu = np.clip(_policy_mean(ctx.policy, obs), ctx.lo, ctx.hi)
                flip = np.sum((new - mu) * (A[b] - mu), axis=1) < 0
                new[flip] = np.clip(2 * mu[flip] - new[flip], ctx.lo, ctx.hi)
            A[b] = np.clip((1 - o["damping"]) * new + o["damping"] * A[b], ctx.lo, ctx.hi)
    return best


def _chunk_cem(ctx, state, mean, best=None):
    """Cross-entropy method on one chunk: sample ``population`` around the mean, keep ``elites``, move the mean to
    their average, shrink σ by ``sigma_decay`` per iteration (floor ``sigma_min``). ``regression_step`` > 0 also
    moves the mean along the gradient of a linear fit of score on actions (the report's suggestion);
    ``project_refine`` replaces every candidate by its own least-squares action directions before scoring."""
    o, rng = ctx.opts, ctx.rng
    c, k = mean.shape
    pop = o["population"]
    std = o["sigma0"]
    mean = np.clip(mean, ctx.lo, ctx.hi)
    for _ in range(o["cem_iters"]):
        X = mean + std * rng.standard_normal((pop, c, k))
        X[0] = mean
        X = np.clip(X, ctx.lo, ctx.hi)
        if o["project_refine"]:
            rep = ctx.scorer.replay(state, X)
            for b in range(pop):
                reach = float(np.atleast_1d(o["reach"])[0])
                X[b] = _project_actions(ctx.policy, ctx.span, rep.obs[b, :-1], o["ridge"], reach, ctx.lo, ctx.hi)
        gains, rep, G = ctx.scorer(state, X)
        order = np.argsort(-gains)
        i = int(order[0])
        if best is None or gains[i] > best[1]:
            best = (X[i].copy(), float(gains[i]), _take(rep, i), G[i])
        new_mean = X[order[: o["elites"]]].mean(0)
        if o["regression_step"] > 0 and gains.std() > 0:
            Z = (X - mean).reshape(pop, -1)
            coef = np.linalg.lstsq(np.c_[np.ones(pop), Z], gains, rcond=None)[0][1:]
            nrm = np.linalg.norm(coef)
            if nrm > 0 and np.all(np.isfinite(coef)):
                new_mean = new_mean + o["regression_step"] * std * (coef / nrm).reshape(c, k) * math.sqrt(c * k)
        mean = np.clip(new_mean, ctx.lo, ctx.hi)
        std = max(std * o["sigma_decay"], o["sigma_min"])
    return best


def _chunk_hill(ctx, state, init):
    """The study's random hill climbing on one chunk (the prefix and its α kept): new actions start at
    0.01 × uniform; each of ``hill_iterations`` iterations adds N(0, std²) to every new action (clipped to the
    box), keeps the candidate if its cosine improves, halves std after ``hill_patience`` failures in a row and
    stops when std < ``hill_std_min``. The cosine uses α from L-BFGS (``hill_alpha="lbfgs"``: the study; started
    from the kept α with zeros for the new steps) or the exact projection (``hill_alpha="exact"``)."""
    o, rng = ctx.opts, ctx.rng
    A = np.clip(0.01 * init, ctx.lo, ctx.hi)
    lbfgs = o["hill_alpha"] == "lbfgs"
    prefix = np.concatenate(ctx.cols) if ctx.cols else np.zeros((0, ctx.span.P))
    alpha_prev = ctx.alpha if ctx.alpha is not None else np.zeros(0)

    def evaluate(A):
        gains, rep, G = ctx.scorer(state, A[None])
        if not lbfgs or not np.isfinite(gains[0]):
            return float(gains[0]), None, rep, G[0]
        Gall = np.concatenate([prefix, G[0].numpy()])
        a0 = np.concatenate([alpha_prev, np.zeros(len(A))]) if len(prefix) and len(alpha_prev) == len(prefix) \
            else None  # (after a fallback chunk the kept α is gone: start from ones, as at L = 0)
        fit = best_alpha_lbfgs(Gall, ctx.w, alpha0=a0)
        return fit.cosine, fit.alpha, rep, G[0]

    score, alpha, rep, G = evaluate(A)
    std, fails = o["hill_std"], 0
    for _ in range(o["hill_iterations"]):
        if std < o["hill_std_min"]:
            break
        cand = np.clip(A + std * rng.standard_normal(A.shape), ctx.lo, ctx.hi)
        s2, a2, r2, g2 = evaluate(cand)
        if s2 > score:
            A, score, alpha, rep, G, fails = cand, s2, a2, r2, g2, 0
        else:
            fails += 1
            if fails >= o["hill_patience"]:
                std, fails = std / 2, 0
    if lbfgs:  # no healthy candidate: the search falls back to another chunk, whose α L-BFGS has not seen
        ctx.alpha, ctx.lbfgs_cos = (alpha, score) if np.isfinite(score) else (None, float("nan"))
    return A, score, rep, G


def _healthy_fallback(ctx, state, shape, best, tries: int = 4, batch: int = 64):
    """When every candidate chunk ended unhealthy: random chunks of shrinking size (half the box, then a quarter,
    …), the healthy one adding the most. If none is healthy the best candidate is kept; the search records the
    step in ``settings["unhealthy_steps"]``."""
    for j in range(tries):
        A = ctx.rng.uniform(ctx.lo, ctx.hi, (batch, *shape)) * 0.5 ** (j + 1)
        gains, rep, G = ctx.scorer(state, A)
        i = int(np.argmax(gains))
        if np.isfinite(gains[i]):
            return A[i].copy(), float(gains[i]), _take(rep, i), G[i]
    return best


def _sub_replay(rep: envs.Replay, rows, n_steps: int | None = None) -> envs.Replay:
    """The replays ``rows`` of ``rep``, cut to their first ``n_steps`` steps (obs and physics keep one more)."""
    steps = slice(None) if n_steps is None else slice(n_steps)
    states = slice(None) if n_steps is None else slice(n_steps + 1)
    return envs.Replay(*(getattr(rep, f)[rows, states if f in ("obs", "physics") else steps]
                         for f in envs.Replay.__dataclass_fields__))


def _take(rep: envs.Replay, i: int) -> envs.Replay:
    return _sub_replay(rep, slice(i, i + 1))


def _check_grid(lengths, max_length) -> np.ndarray:
    try:
        g = np.asarray(sorted({int(x) for x in lengths}), dtype=int)
    except (TypeError, ValueError):
        raise ValueError(f"lengths={lengths!r}: must be an iterable of integers >= 1") from None
    if g.size == 0 or g[0] < 1:
        raise ValueError(f"lengths={lengths!r}: needs lengths >= 1")
    g = g[g <= max_length]
    return g if g.size and g[-1] == max_length else np.append(g, max_length)


def _seeds(reset_seeds) -> tuple[int, ...]:
    seeds = (reset_seeds,) if isinstance(reset_seeds, int | np.integer) else tuple(reset_seeds)
    if not seeds:
        raise ValueError("reset_seeds is empty; give at least one reset seed")
    return tuple(envs.check_seed(s) for s in seeds)


class _Ctx:
    pass


CHUNK_METHODS = ("project", "cem", "project+cem", "random", "hill")
DEFAULTS = dict(iters=3, restarts=1, lookahead=0, align=False, future_weight=0.0, safety=0,
                ridge=1e-6, reach=1.0, damping=0.0, population=32, elites=6, cem_iters=4, sigma0=0.3,
                sigma_decay=0.6, sigma_min=0.02, regression_step=0.0, project_refine=False, hill_alpha="lbfgs",
                hill_iterations=200, hill_std=0.5, hill_patience=5, hill_std_min=1e-5)


# Settings measured on the SGD-trained quad Ant weight change (bench/compression.py; the log is in the module's
# report). RECOMMENDED: the fast default (seconds to L = 490). BEST: the shipped full-preset sweeps (minutes).
# BEST: one search to L = 490 with future_weight 2 and safety 10 ends between 0.86 and 0.91 depending on its seed
# (0.908, 0.864, 0.869 for seeds 0–2; future_weight 0.3 / 1 / 4: 0.865 / 0.876 / 0.865 for seed 0); staged
# selection over 2 × 2 runs with stages at 200 and 350 reached 0.905 (0.767 at L = 200) in 282 s on 2 workers.
RECOMMENDED = dict(method="project", chunk=5, reach=0.3, iters=3, safety=3)  # safety 10 would cost 1.5× here
BEST = dict(method="project+cem", chunk=5, reach=0.3, iters=3, restarts=4, population=64, elites=8, cem_iters=4,
            sigma0=0.1, future_weight=2.0, safety=10,
            staged=dict(stages=(200, 350), width=2, branch=2, n_workers=2))


def search(policy: GaussianPolicy, target, staged: dict | None = None, **kw) -> SearchResult:
    """``chunk_search(policy, target, **kw)``, or with ``staged`` (a dict of stages, width, branch, n_workers)
    ``staged_search`` over such searches: the one call that takes ``RECOMMENDED`` or ``BEST``."""
    if staged is None:
        return chunk_search(policy, target, **kw)
    if not isinstance(staged, dict):
        raise ValueError(f"staged={staged!r}: must be None or a dict of staged_search options")
    return staged_search(policy, target, **staged, **kw)


def chunk_search(policy: GaussianPolicy, target, max_length: int = 490, chunk: int = 10,
                 method: str = "project", reset_seeds=(STUDY_RESET_SEED,), lengths=None, seed: int = 0,
                 env_id: str = "Ant-v5", n_threads: int | None = None, torch_n_threads: int | None = 1,
                 callback: Callable[[dict], object] | None = None, prefix=None, **options) -> SearchResult:
    """Grow action sequences ``chunk`` steps at a time up to ``max_length`` steps in total, greedily: each chunk is
    optimised with the prefix fixed, replayed from the prefix's saved MuJoCo state (``envs.advance``), and scored
    by the cos² it adds to the span of the prefix's gradients (``IncrementalSpan``: only its own columns cost).

    method (``options`` in brackets, defaults in ``DEFAULTS``):
    - "project": least-squares action directions, fixed-point iterated (iters, restarts, ridge, reach, damping);
    - "cem": cross-entropy method from mean 0 (population, elites, cem_iters, sigma0, sigma_decay, sigma_min,
      regression_step, project_refine);
    - "project+cem": CEM started at the "project" solution;
    - "random": uniform random actions (the baseline of baselines);
    - "hill": the study's random hill climbing (hill_alpha "lbfgs" or "exact", hill_iterations, hill_std,
      hill_patience, hill_std_min); see ``hill_climb``.
    ``lookahead`` > 0 optimises ``chunk + lookahead`` steps but commits only the first ``chunk`` (receding horizon).
    With several ``reset_seeds`` the chunks go round-robin to K trajectories sharing one α-span.
    ``lengths``: the total lengths at which the curve is recorded (default: every chunk boundary).
    ``prefix`` (L0, k): actions to start from (one reset seed only): they are replayed and kept, and the search
    grows the sequence from L0 to ``max_length`` (``staged_search`` branches this way).
    ``callback(info)`` runs after each grid length with {"length", "cosine", "seconds", "env_steps",
    "partial"}, where ``partial()`` builds the SearchResult so far (``sweep`` saves it). A KeyboardInterrupt
    returns what was built so far with ``complete=False``. Actions are kept inside the box [-1, 1].
    """
    unknown = set(options) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown options {sorted(unknown)}; allowed: {sorted(DEFAULTS)}")
    if method not in CHUNK_METHODS:
        raise ValueError(f"method={method!r}: allowed: {', '.join(CHUNK_METHODS)}")
    opts = {**DEFAULTS, **options}
    if opts["hill_alpha"] not in ("lbfgs", "exact"):
        raise ValueError(f"hill_alpha={opts['hill_alpha']!r}: allowed: 'lbfgs', 'exact'")
    max_length = int_at_least(max_length, "max_length")
    chunk = int_at_least(chunk, "chunk")
    int_at_least(opts["iters"], "iters", 0)
    int_at_least(opts["restarts"], "restarts")
    int_at_least(opts["lookahead"], "lookahead", 0)
    int_at_least(opts["safety"], "safety", 0)
    check_sigma(policy.sigma)
    w = _check_vector(target.vector if isinstance(target, Target) else target, "target", size=policy.n_params)
    if prefix is not None:
        prefix = envs.check_actions(prefix, envs.env_spec(env_id).act_dim, ndim=2)
        n_seeds = len(_seeds(reset_seeds))
        if n_seeds != 1 or len(prefix) >= max_length:
            raise ValueError(f"prefix of {len(prefix)} steps: needs one reset seed (got {n_seeds}) and fewer "
                             f"steps than max_length={max_length}")
    grid = _check_grid(lengths if lengths is not None else range(chunk, max_length + 1, chunk), max_length)
    seeds = _seeds(reset_seeds)
    with torch_threads(torch_n_threads):
        return _chunk_search(policy, w, max_length, chunk, method, seeds, grid, seed, env_id, n_threads, callback,
                             opts, prefix)


def _chunk_search(policy, w, max_length, chunk, method, seeds, grid, seed, env_id, n_threads, callback, opts,
                  prefix=None):
    spec = envs.env_spec(env_id)
    ctx = _Ctx()
    ctx.policy, ctx.w, ctx.opts = policy, w, opts
    ctx.lo, ctx.hi = spec.act_low, spec.act_high
    ctx.rng = np.random.default_rng(envs.check_seed(seed))
    ctx.span = IncrementalSpan(w, capacity=max_length + 8)
    ctx.scorer = _Scorer(policy, ctx.span, n_threads, float(opts["future_weight"]), int(opts["safety"]))
    ctx.cols, ctx.alpha, ctx.lbfgs_cos = [], None, float("nan")
    trajs = [_Traj(envs.reset_state(env_id, s)) for s in seeds]
    settings = {"max_length": max_length, "chunk": chunk, "seed": seed, "env_id": env_id, **opts}
    order, rec = [], {"lengths": [], "curve": [], "curve_lbfgs": [], "seconds": [], "env_steps": []}
    t0 = time.perf_counter()
    total, j, gi = 0, 0, 0

    unhealthy = []  # steps where no healthy chunk was found (the trajectory would have ended there)

    def commit(ti, A, rep, G):
        """Keep the chunk A (c, k) of trajectory ti: its gradients G join the span, the state moves on."""
        tr, c = trajs[ti], len(A)
        if rep.terminated[0, :c].any():
            unhealthy.append(tr.length + int(np.argmax(rep.terminated[0, :c])))
        ctx.span.add(G)
        ctx.cols.append(G.numpy())
        order.extend((ti, tr.length + i) for i in range(c))
        tr.actions.append(A)
        tr.obs.append(rep.obs[0, 1 : c + 1])
        tr.physics.append(rep.physics[0, 1 : c + 1])
        tr.state = envs.advance(tr.state, A)  # the saved state after the chunk, warm start included
        ctx.scorer.env_steps += c

    if prefix is not None:  # replay the given start of the sequence and take its gradients as the span so far
        rep = ctx.scorer.replay(trajs[0].state, prefix[None])
        commit(0, prefix.copy(), rep, policy.score(rep.obs[0, :-1], prefix))
        total = len(prefix)
        gi = int(np.searchsorted(grid, total, side="right"))

    def partial(complete=True):
        return _result(trajs, ctx.cols, w, order, rec, seeds, method, {**settings, "unhealthy_steps": unhealthy},
                       complete)

    try:
        while total < max_length:
            ti = j % len(trajs)
            tr = trajs[ti]
            j += 1
            c = max(1, min(chunk, int(grid[gi]) - total))
            init = ctx.rng.uniform(ctx.lo, ctx.hi, (c + opts["lookahead"], spec.act_dim))
            if method == "random":
                gains, rep, G = ctx.scorer(tr.state, init[None])
                best = (init, float(gains[0]), rep, G[0])
            elif method == "project":
                best = _chunk_project(ctx, tr.state, init)
            elif method == "cem":
                best = _chunk_cem(ctx, tr.state, np.zeros_like(init))
            elif method == "project+cem":
                proj = _chunk_project(ctx, tr.state, init)
                best = _chunk_cem(ctx, tr.state, proj[0], best=proj)
            else:
                best = _chunk_hill(ctx, tr.state, init)
            if not np.isfinite(best[1]):
                best = _healthy_fallback(ctx, tr.state, init.shape, best)
            A, _, rep, G = best
            # commit c steps (with lookahead, more were optimised)
            commit(ti, A[:c], rep, torch.as_tensor(G).reshape(-1, w.size)[:c])
            total += c
            if gi < grid.size and total >= grid[gi]:
                gi += 1
                rec["lengths"].append(total)
                rec["curve"].append(ctx.span.cosine)
                rec["curve_lbfgs"].append(ctx.lbfgs_cos)
                rec["seconds"].append(time.perf_counter() - t0)
                rec["env_steps"].append(ctx.scorer.env_steps)
                if callback is not None:
                    callback({"length": total, "cosine": ctx.span.cosine, "cosine_lbfgs": ctx.lbfgs_cos,
                              "seconds": rec["seconds"][-1], "env_steps": ctx.scorer.env_steps, "partial": partial})
    except KeyboardInterrupt:
        return partial(complete=False)
    return partial()


def _result(trajs, cols, w, order, rec, seeds, method, settings, complete) -> SearchResult:
    K = len(trajs)
    Lmax = max(t.length for t in trajs)
    k = next((t.actions[0].shape[1] for t in trajs if t.actions), 0)
    acts = np.full((K, Lmax, k), np.nan)
    obs = np.full((K, Lmax + 1, trajs[0].obs[0].shape[1]), np.nan)
    phys = np.full((K, Lmax + 1, trajs[0].physics[0].shape[1]), np.nan)
    for i, t in enumerate(trajs):
        if t.actions:
            acts[i, : t.length] = np.concatenate(t.actions)
        obs[i, : t.length + 1] = np.concatenate(t.obs)
        phys[i, : t.length + 1] = np.concatenate(t.physics)
    if cols:
        fit = best_alpha_exact(np.concatenate(cols), w)
        alpha, direction, cos = fit.alpha, fit.direction, fit.cosine
    else:
        alpha, direction, cos = np.zeros(0), np.zeros_like(w), 0.0
    arr = {key: np.asarray(v) for key, v in rec.items()}
    return SearchResult(acts, obs, phys, np.asarray(order, dtype=int).reshape(-1, 2), alpha, direction, cos,
                        arr["lengths"].astype(int), arr["curve"].astype(float), arr["curve_lbfgs"].astype(float),
                        arr["seconds"].astype(float), arr["env_steps"].astype(np.int64), seeds, method,
                        dict(settings), complete)


def hill_climb(policy: GaussianPolicy, target, max_length: int = 490, alpha: str = "lbfgs", chunk: int = 10,
               reset_seed: int = STUDY_RESET_SEED, iterations: int = 200, std: float = 0.5, patience: int = 5,
               std_min: float = 1e-5, **kw) -> SearchResult:
    """The study's search, as a faithful baseline: lengths grown ``chunk`` = 10 at a time, the prefix and its α
    kept, the new actions hill-climbed for ``iterations`` = 200 iterations (std halved after ``patience`` = 5
    failures, stop when std < ``std_min`` = 1e-5), α by L-BFGS (``alpha="lbfgs"``) or exact (``alpha="exact"``).
    The initial std is not recorded in the study's description; ``std`` = 0.5 here (actions are clipped to the
    box before replay and scoring). Other keywords go to ``chunk_search``."""
    return chunk_search(policy, target, max_length=max_length, chunk=chunk, method="hill",
                        reset_seeds=(reset_seed,), hill_alpha=alpha, hill_iterations=iterations, hill_std=std,
                        hill_patience=patience, hill_std_min=std_min, **kw)


def staged_search(policy: GaussianPolicy, target, max_length: int = 490, stages=(160, 330), width: int = 2,
                  branch: int = 2, seed: int = 0, lengths=None, n_workers: int = 1,
                  callback: Callable[[dict], object] | None = None, **search_kw) -> SearchResult:
    """Successive selection over whole searches: ``width`` × ``branch`` independent ``chunk_search`` runs (seeds
    ``seed``, ``seed`` + 1, …) grow sequences to the first stage length; the ``width`` best (healthy first, then
    by cosine) are kept, each is continued by ``branch`` runs (``prefix``) to the next stage, and so on to
    ``max_length``. The cost is about width × branch single searches, spread over ``n_workers`` processes.

    Why: one greedy search is a chaotic process (a change of 1e-8 in one action changes the states 150 steps
    later), so its final cosine varies from seed to seed; the cosine reached at an early stage predicts the final
    one, so branching from the best prefixes spends the budget where it pays. The returned curve is the winning
    lineage's; ``seconds`` and ``env_steps`` count every run up to the end of the stage that reached each length.
    ``settings["stage_cosines"]`` lists every run's cosine per stage. ``callback(info)`` runs after each stage
    with {"length", "cosine", "seconds", "env_steps", "partial"} as in ``chunk_search``. Other keywords go to
    ``chunk_search``.
    """
    max_length = int_at_least(max_length, "max_length")
    width, branch = int_at_least(width, "width"), int_at_least(branch, "branch")
    n_workers = int_at_least(n_workers, "n_workers")
    ends = sorted({int_at_least(e, "stages") for e in stages if int(e) < max_length}) + [max_length]
    grid = _check_grid(lengths if lengths is not None else range(10, max_length + 1, 10), max_length)
    t0, steps, run = time.perf_counter(), 0, 0
    nodes = [(None, {k: [] for k in ("lengths", "curve", "curve_lbfgs", "seconds", "env_steps")})]
    stage_cosines = []
    pool = None
    if n_workers > 1:
        import concurrent.futures
        import multiprocessing

        pool = concurrent.futures.ProcessPoolExecutor(n_workers, mp_context=multiprocessing.get_context("spawn"))

    def stitched_result(node, complete=True):
        best, rec = node
        settings = {**best.settings, "stages": list(ends), "width": width, "branch": branch, "seed": seed,
                    "runs": run, "stage_cosines": stage_cosines}
        return SearchResult(best.actions, best.obs, best.physics, best.order, best.alpha, best.direction,
                            best.cosine, np.asarray(rec["lengths"], dtype=int), np.asarray(rec["curve"], dtype=float),
                            np.asarray(rec["curve_lbfgs"], dtype=float), np.asarray(rec["seconds"], dtype=float),
                            np.asarray(rec["env_steps"], dtype=np.int64), best.reset_seeds, best.method,
                            settings, complete and best.complete)

    try:
        for end in ends:
            jobs = []
            for parent, rec in nodes:
                for _ in range(width * branch if parent is None else branch):
                    kw = dict(search_kw, max_length=end, seed=seed + run, lengths=grid[grid <= end],
                              prefix=None if parent is None else parent.actions[0])
                    if pool is not None:
                        kw["n_threads"] = 1
                    jobs.append((rec, pool.submit(chunk_search, policy, target, **kw) if pool else kw))
                    run += 1
            children = []
            for rec, job in jobs:
                res = job.result() if pool else chunk_search(policy, target, **job)
                steps += int(res.env_steps[-1]) if res.env_steps.size else 0
                children.append((res, rec))
            secs = time.perf_counter() - t0
            stitched = []
            for res, rec in children:
                new = {k: list(v) for k, v in rec.items()}
                for k, v in (("lengths", res.lengths), ("curve", res.curve), ("curve_lbfgs", res.curve_lbfgs),
                             ("seconds", [secs] * res.lengths.size), ("env_steps", [steps] * res.lengths.size)):
                    new[k] += list(v)
                stitched.append((res, new))
            stitched.sort(key=lambda x: (not x[0].settings.get("unhealthy_steps"), x[0].cosine), reverse=True)
            stage_cosines.append([round(float(r.cosine), 4) for r, _ in stitched])
            nodes = stitched[:width]
            if callback is not None:
                callback({"length": end, "cosine": nodes[0][0].cosine, "cosine_lbfgs": float("nan"),
                          "seconds": secs, "env_steps": steps,
                          "partial": lambda complete=False, n=nodes[0]: stitched_result(n, complete)})
    except KeyboardInterrupt:
        if nodes[0][0] is None:
            raise
        return stitched_result(nodes[0], complete=False)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return stitched_result(nodes[0])


# ------------------------------------------------------------------------------------------------------------
# Sweeps: cosine vs length, saved as data/compressed/<name>/


def compressed_dir():
    from .config import data_dir

    return data_dir() / "compressed"


def save_compressed(result: SearchResult, path, target: Target, policy: GaussianPolicy, extra: dict | None = None):
    """Write a search result to the folder ``path`` (kind "compressed"): actions, obs, physics, order, alpha,
    direction, target, and the curve (lengths, cosine, cosine_lbfgs, seconds, env_steps, null = √(L/P))."""
    from .policies import describe

    P = policy.n_params
    arrays = {"actions": result.actions, "obs": result.obs, "physics": result.physics, "order": result.order,
              "alpha": result.alpha, "direction": result.direction, "target": target.vector,
              "lengths": result.lengths, "cosine": result.curve, "cosine_lbfgs": result.curve_lbfgs,
              "seconds": result.seconds, "env_steps": result.env_steps, "null": null_cosine(result.lengths, P)}
    meta = {"env_id": result.settings.get("env_id", "Ant-v5"), "target_name": target.name, "run": target.run,
            "target_info": target.info, "n_params": P, "method": result.method, "settings": result.settings,
            "reset_seeds": list(result.reset_seeds), "complete": result.complete, "final_cosine": result.cosine,
            "length": result.length, "policy": describe(policy), **(extra or {})}
    return store.save(Path(path), COMPRESSED_KIND, arrays, meta)


def load_compressed(name_or_path, **expect) -> store.Artifact:
    """A saved sweep (data/compressed/<name>/ or a path); ``expect`` as in store.load (e.g. n_params=3248)."""
    p = Path(name_or_path)
    if not (p / "meta.json").is_file():
        p = compressed_dir() / str(name_or_path)
    return store.load(p, COMPRESSED_KIND, **expect)


def sweep(policy: GaussianPolicy, target: Target, name: str | None = None, method: str = "project",
          lengths=STUDY_GRID, path=None, progress: bool = True, callback=None, save_every: float = 5.0,
          **search_kw) -> SearchResult:
    """Cosine vs length: one chunk-grown search up to max(lengths), the curve recorded at every length on the grid
    (default 10, 20, …, 490), with env steps and wall time. Saved under data/compressed/<name>/ (or ``path``)
    every ``save_every`` seconds and at the end, so an interrupt (KeyboardInterrupt) keeps what was found
    (``complete=False``). ``progress`` shows a tqdm bar; ``callback(info)`` as in ``chunk_search``."""
    grid = _check_grid(lengths, max(int(x) for x in lengths))
    out = Path(path) if path is not None else (compressed_dir() / name if name else None)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=int(grid[-1]), desc=f"compress ({method})", unit="step")
    last = [time.perf_counter()]

    def on_length(info):
        if bar is not None:
            bar.n = info["length"]
            bar.set_postfix(cos=f"{info['cosine']:.3f}", null=f"{null_cosine(info['length'], policy.n_params):.3f}")
            bar.refresh()
        if out is not None and time.perf_counter() - last[0] > save_every:
            save_compressed(info["partial"](complete=False), out, target, policy)
            last[0] = time.perf_counter()
        if callback is not None:
            callback(info)

    try:
        res = search(policy, target, max_length=int(grid[-1]), method=method, lengths=grid, callback=on_length,
                     **search_kw)
    finally:
        if bar is not None:
            bar.close()
    if out is not None:
        save_compressed(res, out, target, policy)
    return res


# ------------------------------------------------------------------------------------------------------------
# Whole-sequence refinement (linear/quadratic policies)


def _row_space_residual(Phi: np.ndarray, rtol: float = 1e-10) -> np.ndarray:
    """I − (projection on the row span of Phi (n, F)): (F, F)."""
    F = Phi.shape[1]
    if Phi.shape[0] == 0:
        return np.eye(F)
    _, s, Vt = np.linalg.svd(Phi, full_matrices=False)
    V = Vt[s > rtol * s[0]].T if s.size and s[0] > 0 else np.zeros((F, 0))
    return np.eye(F) - V @ V.T


def refine_whole(policy: GaussianPolicy, target, actions, reset_seed: int = STUDY_RESET_SEED, passes: int = 2,
                 chunk: int = 5, reach: float = 0.3, env_id: str = "Ant-v5", n_threads: int | None = None,
                 torch_n_threads: int | None = 1, callback=None) -> SearchResult:
    """Re-optimise a whole sequence of L actions (L, k), chunk by chunk from the start, ``passes`` times, planning
    with the FUTURE in view (not greedily): at chunk t0 the prefix's gradients are fixed, and every later step is
    a free u_t at the states the current sequence visits there. Because J_t = I ⊗ φ(s_t) for linear/quadratic
    means, the future's part decouples by action dimension: the rows of the target minus the prefix's
    combination are projected on the span of the future's features. The chunk's actions are set along their u_t
    (a_t − μ_t ∝ u_t, scaled to ``reach`` of the box), the rest of the sequence is replayed, and the next chunk
    is solved with the new future states. The best sequence seen (exact α) is returned. Actions stay in [-1, 1].

    Measured on the quad SGD run (L = 490, from the greedy "project" sequence at 0.797): the passes reached 0.627
    and 0.677, so the input was returned unchanged. The open-loop Ant dynamics are chaotic (perturbing five
    actions by 1e-3 moves the next observation by ≈0.6 and later ones by several units), so the future states
    the plan relies on do not survive the change. Kept as a teaching counter-example: greedy chunks win.
    """
    if policy.kind == "mlp":
        raise ValueError("refine_whole needs a linear or quadratic policy (J_t = I ⊗ φ(s_t)); got kind='mlp'")
    w = _check_vector(target.vector if isinstance(target, Target) else target, "target", size=policy.n_params)
    spec = envs.env_spec(env_id)
    A = envs.check_actions(actions, spec.act_dim, ndim=2).copy()
    A = np.clip(A, spec.act_low, spec.act_high)
    L, k = A.shape
    chunk = int_at_least(chunk, "chunk")
    passes = int_at_least(passes, "passes", 0)
    positive_float(reach, "reach")
    Wt = w.reshape(k, -1)
    start = envs.reset_state(env_id, envs.check_seed(reset_seed))
    t_start = time.perf_counter()
    steps = 0

    def evaluate(A):
        nonlocal steps
        rep = envs.replay(start, A[None], n_threads=n_threads)
        steps += L
        G = policy.score(rep.obs[0, :-1], A).numpy()
        return best_alpha_exact(G, w), rep

    with torch_threads(torch_n_threads):
        fit, rep = evaluate(A)
        best = (fit.cosine, A.copy(), rep, fit)
        history = [fit.cosine]
        for _ in range(passes):
            state = start
            obs = rep.obs[0].copy()
            for t0 in range(0, L, chunk):
                c = min(chunk, L - t0)
                phi = policy.features(obs[:L]).numpy()  # (L, F)
                mu = _policy_mean(policy, obs[:L])
                D = A[:t0] - mu[:t0]
                R = _row_space_residual(phi[t0:])
                if t0:
                    Gp = np.einsum("sk,sf->skf", D, phi[:t0] @ R).reshape(t0, -1)
                    beta = np.linalg.lstsq(Gp.T, (Wt @ R).ravel(), rcond=None)[0]
                    resid = Wt - np.einsum("s,sk,sf->kf", beta, D, phi[:t0])
                else:
                    resid = Wt
                U = np.linalg.lstsq(phi[t0:].T, resid.T, rcond=None)[0]  # (L − t0, k), min-norm
                A[t0 : t0 + c] = _box_step(mu[t0 : t0 + c], U[:c], spec.act_low, spec.act_high, reach)
                r2 = envs.replay(state, A[None, t0:], n_threads=n_threads)
                steps += L - t0
                obs[t0:] = r2.obs[0]
                state = envs.advance(state, A[t0 : t0 + c])
                steps += c
            fit, rep = evaluate(A)
            history.append(fit.cosine)
            if fit.cosine > best[0]:
                best = (fit.cosine, A.copy(), rep, fit)
            if callback is not None:
                callback({"pass": len(history) - 1, "cosine": fit.cosine, "best": best[0],
                          "seconds": time.perf_counter() - t_start, "env_steps": steps})
    cos, A, rep, fit = best
    settings = {"passes": passes, "chunk": chunk, "reach": reach, "env_id": env_id, "history": history}
    secs = time.perf_counter() - t_start
    return SearchResult(A[None], rep.obs, rep.physics, np.c_[np.zeros(L, int), np.arange(L)], fit.alpha,
                        fit.direction, cos, np.array([L]), np.array([cos]), np.array([np.nan]), np.array([secs]),
                        np.array([steps], dtype=np.int64), (int(reset_seed),), "refine_whole", settings)
