"""Every student notebook (``make student``) executed on the fast preset twice: with every exercise skipped (as
generated) and with every exercise answered wrongly (the wrong answers of tests/test_exercises_nb0X.py, written as a
student would). Both times every cell runs without an error, every check reports the exercise as not passed, and no
output presents the reference's numbers as the student's ("your …" / "yours") unless it says the reference was used.

An exercise added to a notebook without a wrong answer below gets a generic one (its solution's numbers × 1.5 + 0.1),
and the test says so. Executed copies go to out/student_notebooks/{skipped,wrong}/ for inspection.
"""

import json
import os
import re

import nbformat
import pytest
from notebook_edits import answer, off_by_half, stubbed_functions, student, top_level_stubs

from gc_helpers.config import project_root
from tools.grade import exercise_map
from tools.runner import execute, notebooks

NOTEBOOKS = notebooks()
CELL_TIMEOUT = int(os.environ.get("GC_CELL_TIMEOUT", "300"))
OUT = project_root() / "out" / "student_notebooks"
# the wrong-answer pass on every notebook; set e.g. GC_WRONG_NOTEBOOKS=00,02,06 to run it on a subset
WRONG_SUBSET = [n for n in os.environ.get("GC_WRONG_NOTEBOOKS", "").split(",") if n.strip()]

WRONG = {  # function -> a wrong body (the mistake it makes, and the checker test it comes from)
    # notebook 00 (tests/test_exercises_nb00.py)
    "my_forward_velocity": "return (x_before - x_after) / dt  # sign flipped",
    "my_step_reward": "return rw.forward * forward_velocity + rw.healthy - rw.ctrl * np.sum(actions**2, axis=-1) "
                      "- contact_cost  # alive bonus after a fall",
    # notebook 01 (tests/test_exercises_nb01.py)
    "my_log_prob": "m = a.shape[-1]\nreturn -0.5 * np.sum((a - mean) ** 2, axis=-1) / sigma**2  # no normaliser",
    "my_score": "resid = (a - phi @ W.T) / sigma  # σ, not σ²\nreturn resid[..., :, None] * phi[..., None, :]",
    "my_reward_to_go": "return np.cumsum(rewards, axis=-1)  # the reward so far",
    "my_reinforce": "G = rewards.sum(axis=1)[:, None, None]  # the whole return, no baseline\n"
                    "return np.sum(scores * G, axis=1)",
    "my_log_weights": "phi = pg.lq_features(states)  # old over new\n"
                      "return (log_prob(actions, phi @ W_old.T, sigma) - log_prob(actions, phi @ W_new.T, sigma))"
                      ".sum(axis=1)",
    # notebook 02 (tests/test_exercises_nb02.py; the loss is the numpy/detached one)
    "quadratic_features": "x = np.asarray(x, dtype=np.float64)  # no constant feature\n"
                          "i, j = np.triu_indices(x.shape[-1])\n"
                          "return np.concatenate([x, x[..., i] * x[..., j]], axis=-1)",
    "reward_to_go": "r = np.where(mask, rewards, 0.0)  # not discounted\nreturn np.cumsum(r[:, ::-1], axis=1)[:, ::-1]",
    "reinforce_loss": "G = np.where(mask, rewards, 0.0).sum(axis=1)  # computed in numpy: no gradient reaches logp\n"
                      "lp = logp.detach().numpy()\n"
                      "per_episode = (lp * mask).sum(axis=1) / mask.sum(axis=1)\n"
                      "return torch.tensor(-((G - G.mean()) * per_episode).mean())",
    # notebook 03 (tests/test_exercises_nb03.py)
    "cem_iteration": "X = mean + std * rng.standard_normal((population, *np.shape(mean)))  # not clipped\n"
                     "X[0] = mean\nscores = np.asarray(score(X))\norder = np.argsort(-scores)\n"
                     "elite = X[order[:elites]]\n"
                     "return elite.mean(0), elite.std(0) + 1e-6, X[order[0]], float(scores[order[0]])",
    "chunk_gain": "U = np.linalg.qr(G)[0]  # not orthogonalised against the prefix\n"
                  "return float(np.sum((U.T @ w) ** 2) / (w @ w))",
    # notebook 04 (tests/test_exercises_nb04.py)
    "best_alpha_and_cosine": "alpha = np.linalg.lstsq(G, w, rcond=None)[0]\nd = G @ alpha\n"
                             "return alpha, float(d @ w)  # the cosine not normalised",
    "simulated_null": "rng = np.random.default_rng(seed)\ncos = []\nfor _ in range(n):\n"
                      "    G, v = rng.standard_normal((P, L)), rng.standard_normal(P)\n"
                      "    Q = np.linalg.qr(G)[0]\n"
                      "    cos.append((np.linalg.norm(Q.T @ v) / np.linalg.norm(v)) ** 2)  # cos², not cos\n"
                      "return float(np.mean(cos))",
    # notebook 05 (tests/test_exercises_nb05.py; the line search is the betas[1:])
    "theta_at": "return np.asarray(w_first, dtype=float) + beta * scale * np.asarray(direction, dtype=float)"
                "  # d not normalised",
    "pick_beta": "scores = [score(theta_at(w_first, direction, b, scale)) for b in betas[1:]]  # skips the first β\n"
                   "return float(betas[1:][int(np.argmax(scores))])",
    "bootstrap_recovered": "rng = np.random.default_rng(seed)  # R(w_first) not subtracted\n"
                           "m = [r[rng.integers(0, r.size, (n_boot, r.size))].mean(axis=1) for r in (r_best, r_last)]\n"
                           "low, high = np.nanquantile(m[0] / m[1], [(1 - level) / 2, (1 + level) / 2])\n"
                           "return r_best.mean() / r_last.mean(), float(low), float(high)",
    # notebook 06 (tests/test_exercises_nb06.py; the surrogate is the numpy one)
    "clipped_surrogate": "r, A = np.asarray(ratio), np.asarray(adv)  # numpy: no gradient\n"
                         "return np.minimum(r * A, np.clip(r, 1 - eps, 1 + eps) * A)",
    "log_det_tanh": "return torch.log(1 - torch.tanh(u) ** 2).sum(-1)  # the naive form: -inf for large |u|",
    "gae": "delta = rewards + gamma * np.where(terminated, 0.0, next_values) - values\n"
           "adv = np.zeros_like(delta)\nrunning = np.zeros(rewards.shape[1])\n"
           "for t in range(len(rewards) - 1, -1, -1):\n"
           "    running = delta[t] + gamma * lam * running  # runs across episode boundaries\n"
           "    adv[t] = running\nreturn adv, adv + values",
    # notebook 07 (exercises 8.1 and 8.2)
    "my_kernel_direction": "phi = policy.features(obs).numpy()\n"
                           "return (phi.T @ np.asarray(coeffs)).reshape(-1)  # (features, actions): wrong order",
    "my_bc_mean": "phi_s = policy.features(support_obs).numpy()\nphi_q = policy.features(obs).numpy()\n"
                  "K = phi_s @ phi_s.T\n"
                  "coeffs = np.linalg.solve(K + ridge * np.eye(len(phi_s)), support_actions)  # ridge not × L\n"
                  "return phi_q @ phi_s.T @ coeffs",
    # notebook 08 (exercises 9.1 and 9.2)
    "my_bc_coefficients": "L = len(phi)  # the ridge not scaled by L\n"
                          "return np.linalg.solve(phi @ phi.T + ridge * np.eye(L), actions)",
    "my_decode_states": "u = np.asarray(u, dtype=np.float64)  # not clipped, quaternion not normalised\n"
                        "s = np.empty_like(u)\n"
                        "s[..., 0] = limits.z_low + (u[..., 0] + 1) / 2 * (limits.z_high - limits.z_low)\n"
                        "s[..., 1:5] = np.array([1.0, 0.0, 0.0, 0.0]) + 2 * u[..., 1:5]\n"
                        "s[..., 5:13] = limits.joint_low + (u[..., 5:13] + 1) / 2 * (limits.joint_high\n"
                        "                                                          - limits.joint_low)\n"
                        "s[..., 13:] = limits.max_velocity * u[..., 13:]\nreturn s",
}

YOUR = re.compile(r"\byours?\b", re.I)
SAYS_REFERENCE = re.compile(r"reference", re.I)  # "your function failed, using the reference"
CHECK_LINE = re.compile(r"^\s*(✗|✓|…|Hint:|\(Fix|Later cells)")


def output_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif "data" in out:
            parts.append(out["data"].get("text/plain", ""))
    return "".join(parts)


def your_lines(nb) -> list[str]:
    """Output lines that call a result the student's ("your", "yours") without saying the reference was used."""
    bad = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for line in output_text(cell).splitlines():
            if YOUR.search(line) and not SAYS_REFERENCE.search(line) and not CHECK_LINE.match(line):
                bad.append(f"cell {i}: {line.strip()[:160]}")
    return bad


def first_error(nb) -> str | None:
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                first = cell.source.strip().splitlines()[0][:100] if cell.source.strip() else ""
                return f"cell {i} ({first!r}) raised {out.get('ename')}: {str(out.get('evalue'))[:300]}"
    return None


def run_student(nb, name: str, kind: str, tmp_path, monkeypatch) -> list[str]:
    """Execute ``nb``; return every problem found (an error, a passed check, a missing check, a 'your' line)."""
    path = tmp_path / name
    nbformat.write(nb, path)
    results = tmp_path / "results.jsonl"
    monkeypatch.setenv("GC_RESULTS", str(results))
    for name_, value in (("GC_PRESET", "fast"), ("GC_CHECKS", "report")):  # execute() sets them; restored after
        monkeypatch.setenv(name_, value)
    monkeypatch.delenv("GC_FAST", raising=False)
    out = OUT / kind / name
    problems = []
    try:
        execute(path, out, timeout=CELL_TIMEOUT, preset="fast", strict_checks=False)
    except Exception as err:  # report the cell, not nbclient's whole traceback
        executed = nbformat.read(out, as_version=4) if out.exists() else None
        where = first_error(executed) if executed is not None else None
        problems.append(f"{where or type(err).__name__ + ': ' + str(err)[-500:]}")
    executed = nbformat.read(out, as_version=4) if out.exists() else nb
    problems += your_lines(executed)
    records = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines()] \
        if results.exists() else []
    ran = {m.group(1): r["status"] for r in records if (m := re.search(r"Exercise (\d+\.\d+)", r["exercise"]))}
    if not problems:  # every check ran (the grader's map agrees) and none passed
        expected = [e.id for e in exercise_map(nbformat.read(project_root() / "notebooks" / name, as_version=4))]
        missing = [e for e in expected if e not in ran]
        if missing:
            problems.append(f"checks of exercise(s) {missing} never ran")
        extra = sorted(set(ran) - set(expected))
        if extra:
            problems.append(f"exercise(s) {extra} ran but tools/grade.py's exercise map does not list them")
    passed = sorted(e for e, status in ran.items() if status == "passed")
    if passed:
        problems.append(f"the check of exercise(s) {passed} passed a {kind} answer")
    return problems


def wrong_version(path):
    """The student version with every stubbed function answered wrongly; also the names given a generic one."""
    instructor = nbformat.read(path, as_version=4)
    nb = student(path)
    generic = []
    for function in stubbed_functions(nb):
        body = WRONG.get(function)
        if body is None:
            body = off_by_half(instructor, function)
            generic.append(function)
        if body is not None:
            answer(nb, function, body)
    return nb, generic


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_student_notebook_with_every_exercise_skipped(path, tmp_path, monkeypatch):
    nb = student(path)
    assert not top_level_stubs(nb), f"{path.name}: a solution region outside a function leaves a top-level " \
        f"raise NotImplementedError in cell(s) {top_level_stubs(nb)}: 'Run all' would stop there"
    problems = run_student(nb, path.name, "skipped", tmp_path, monkeypatch)
    assert not problems, f"{path.name}, every exercise skipped:\n  " + "\n  ".join(problems)


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_student_notebook_with_every_exercise_wrong(path, tmp_path, monkeypatch):
    if WRONG_SUBSET and path.name[:2] not in WRONG_SUBSET:
        pytest.skip(f"GC_WRONG_NOTEBOOKS={','.join(WRONG_SUBSET)}")
    nb, generic = wrong_version(path)
    if generic:
        print(f"{path.name}: generic wrong answers (×1.5 + 0.1) for {generic}; add one to WRONG")
    problems = run_student(nb, path.name, "wrong", tmp_path, monkeypatch)
    assert not problems, f"{path.name}, every exercise answered wrongly:\n  " + "\n  ".join(problems)


def test_every_wrong_answer_fits_a_stub():
    """The table's answers replace a stub in some notebook (a renamed exercise function shows up here)."""
    stubs = {f for p in NOTEBOOKS for f in stubbed_functions(student(p))}
    assert not sorted(set(WRONG) - stubs), f"WRONG answers for functions no notebook has: {sorted(set(WRONG) - stubs)}"


def test_your_lines_are_found():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="cos(yours, package) = 1.000000\n"
                                           "your function failed, using the reference\n"
                                           "✗ Exercise 3.2: case 'x': your function raised ValueError\n")]
    nb.cells = [cell]
    assert your_lines(nb) == ["cell 0: cos(yours, package) = 1.000000"]
