"""The README's results tables, built from the shipped artifacts only (``python tools/report.py``).

Every number in the README's results section comes from here; tests/test_readme.py checks that the README holds
exactly what the artifacts say, so a figure cannot drift from the data behind it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from gc_helpers import store
from gc_helpers.compression.span import null_cosine
from gc_helpers.config import data_dir, project_root

BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
GRID = (50, 100, 200, 490)
GROUP_NAMES = ("quad_sgd", "quad_adam", "linear_sgd", "mlp_sgd")  # bench/trainer_grid.py's groups, in table order


def _artifacts(kind: str, folder: str) -> list[store.Artifact]:
    """Every artifact of ``kind`` in data/<folder>/ (hidden folders, e.g. a save's leftovers, are skipped)."""
    root = data_dir() / folder
    out = []
    for path in sorted(root.glob("*/meta.json")) if root.is_dir() else []:
        if path.parent.name.startswith("."):
            continue
        try:
            out.append(store.load(path.parent, kind))
        except ValueError:
            continue
    return out


def _fmt_time(seconds) -> str:
    if seconds is None or not np.isfinite(seconds):
        return "–"
    return f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"


def runs_table() -> list[str]:
    """The trained agents' table: one row per evaluation of every run in data/runs/ (either trainer), read with
    the one run loader (gc_helpers.training.load_run). The runs are shown in notebooks/02_train_quadratic_agent.ipynb,
    §3 and notebooks/06_ppo.ipynb, §5."""
    from gc_helpers.training import load_run, runs_dir

    lines = ["| run | task | trainer | evaluation | return ± s.e. | episode length | forward velocity | env steps | "
             "wall time |", "|---|---|---|---|---|---|---|---|---|"]
    for path in sorted(runs_dir().glob("*/meta.json")):
        try:
            run = load_run(path.parent)
        except ValueError:
            continue
        trainer = f"{run.algo} ({run.config.optimizer})"
        steps = run.env_steps
        for label, ev in run.evaluation.items():
            n, horizon = ev.get("n_episodes", "?"), ev.get("horizon", 1000)
            sigma = ev.get("noise_std")
            what = f"{label}: {n} × {horizon} steps" + (f", σ = {sigma:g}" if sigma is not None else "")
            lines.append(f"| {run.path.name} | {run.env_id} | {trainer} | {what} | {ev['mean_return']:.0f} ± "
                         f"{ev['stderr']:.0f} | {ev['mean_length']:.0f} | {ev['mean_forward_velocity']:.2f} m/s | "
                         f"{steps if steps is not None else '–'} | {_fmt_time(run.wall_time)} |")
    return lines


def _study_curves() -> dict:
    """{series: {length: cosine}} from the one reader of the study's curves (``plots.study_curves``)."""
    from gc_helpers.plots import study_curves

    path = data_dir() / "reference" / "paper_cos_vs_len.csv"
    if not path.is_file():
        return {}
    return {k: {int(L): float(c) for L, c in zip(*v)} for k, v in study_curves(path).items()}


def compression_table() -> list[str]:
    """The compression sweeps' table (data/compressed/); the sweeps are made in notebooks/04_alpha_optimisation.ipynb,
    §3."""
    study = _study_curves()
    head = " | ".join(f"cos L={L}" for L in GRID)
    lines = [f"| sweep | run | target | method | {head} | √(L/P) at 490 | study at 490 | wall time |",
             "|---|---|---|---|" + "---|" * len(GRID) + "---|---|---|"]
    for art in _artifacts("compressed", "compressed"):
        m = art.meta
        if not m.get("complete", True):
            continue
        lengths, cos = art["lengths"], art["cosine"]
        at = {int(L): float(c) for L, c in zip(lengths, cos)}
        cells = " | ".join(f"{at[L]:.3f}" if L in at else "–" for L in GRID)
        null = float(null_cosine(490, m["n_params"]))
        random = m.get("target_name") != "weight_change"
        series = "quad model, random direction" if random else "quad model, alpha-optim"
        ref = study.get(series, {}).get(490)
        ref_txt = f"{ref:.3f}" if ref is not None and m.get("policy", {}).get("policy_kind") == "quadratic" else "–"
        seconds = art["seconds"]
        st = m.get("settings", {})
        method = m.get("method") + (f" (staged {st['width']}×{st['branch']})" if "stages" in st else "")
        lines.append(f"| {art.path.name} | {m.get('run') or '–'} | {m.get('target_name')} | {method} | "
                     f"{cells} | {null:.3f} | {ref_txt} | {_fmt_time(float(seconds[-1]) if len(seconds) else None)} |")
    return lines


def decompression_table() -> list[str]:
    """The decompression results (data/decompressed/), made in notebooks/05_line_search_decompression.ipynb,
    §7 Iterated decompression."""
    lines = []
    for art in _artifacts("decompressed", "decompressed"):
        m = art.meta
        r0, r1 = m["r_first"], m["r_last"]
        n = int(art["n_episodes"][0])
        lines += [f"Run `{m['run']}`, {n} episodes × {m['horizon']} steps, σ = 0: R(w_first) = {r0:.0f} ± "
                  f"{m['r_first_stderr']:.0f}, R(w_last) = {r1:.0f} ± {m['r_last_stderr']:.0f}.", "",
                  "| direction | cos(d, Δw) | best β | return ± s.e. | episode length | forward velocity | recovered |",
                  "|---|---|---|---|---|---|---|"]
        cosines = m.get("cosines", {})
        for i, label in enumerate(art["labels"]):
            j = int(np.argmax(art["returns"][i]))
            ret, se = art["returns"][i, j], art["stderrs"][i, j]
            c = cosines.get(str(label))
            lines.append(f"| {label} | {c:.3f} | {art['betas'][i, j]:.2f} | {ret:.0f} ± {se:.0f} | "
                         f"{art['episode_lengths'][i, j]:.0f} | {art['velocities'][i, j]:.2f} m/s | "
                         f"{(ret - r0) / (r1 - r0):.2f} |" if c is not None else
                         f"| {label} | – | {art['betas'][i, j]:.2f} | {ret:.0f} ± {se:.0f} | "
                         f"{art['episode_lengths'][i, j]:.0f} | {art['velocities'][i, j]:.2f} m/s | "
                         f"{(ret - r0) / (r1 - r0):.2f} |")
        if len(art["round_returns"]):
            grid = m.get("round_betas")
            picked = art.arrays.get("round_picked_betas", [None] * len(art["round_returns"]))
            lines += ["", f"Iterated decompression ({m.get('round_step', '?')} over β ∈ {grid}, L = "
                      f"{m.get('round_length')} per trajectory; * marks a β at the grid's edge):", "",
                      "| trajectories | cos | picked β | residual ‖w_last − θ‖/‖Δw‖ | return ± s.e. | recovered |",
                      "|---|---|---|---|---|---|"]
            for k, beta in enumerate(picked):
                ret = art["round_returns"][k]
                edge = "*" if grid and beta in (min(grid), max(grid)) else ""
                lines.append(f"| {k + 1} | {art['round_cosines'][k]:.3f} | "
                             f"{'–' if beta is None else f'{beta:g}{edge}'} | {art['round_residuals'][k]:.3f} | "
                             f"{ret:.0f} ± {art['round_stderrs'][k]:.0f} | {(ret - r0) / (r1 - r0):.2f} |")
    return lines


def _mean_spread(values) -> str:
    v = np.asarray(values, dtype=float)
    return f"{v.mean():.3f} ± {v.std(ddof=1) if v.size > 1 else 0:.3f} [{v.min():.3f}–{v.max():.3f}]"


def spread_table(folder: str = "ant_quad_sgd_recommended") -> list[str]:
    """Cosine vs length over search seeds with its controls (notebooks/04_alpha_optimisation.ipynb, §4): the
    searched random direction (same settings, seeds and lengths), the fixed-state ceiling, √(L/P), the compression
    ratio (k+1)·L/P and the study's values, with whether each falls inside the seeds' min–max."""
    from gc_helpers.search_spread import (
        compression_ratio,
        load_spread,
        not_a_compression_length,
        study_tests,
        study_vs_band,
    )

    try:
        wc, rnd = load_spread("weight_change", folder), load_spread("random", folder)
    except FileNotFoundError:
        return []
    P, k = wc.n_params, wc.act_dim
    ref = _study_curves().get("quad model, alpha-optim", {})
    verdict = {row[0]: row for row in study_vs_band(wc, list(ref), list(ref.values()))}
    tests = dict(study_tests(wc, list(ref), list(ref.values()))) if ref else {}
    lines = [f"Run `ant_quad_sgd`, {len(wc.seeds)} search seeds for the weight change and {len(rnd.seeds)} for a "
             f"random direction (one per seed), settings `{folder.rsplit('_', 1)[-1]}`; mean ± s.d. [min–max] over "
             f"seeds. Past L = P/k = {not_a_compression_length(P, k):.0f} the trajectory carries more numbers than "
             "the policy: not a compression. Last column: our seeds' mean minus the study's value, one-sample t over "
             "our seeds, Holm over the lengths, level 0.05. The study's side is one digitised curve (no spread) of its "
             "own trained target (another training run with another return; data/reference holds only the curves), "
             "measured with P = 6056 features "
             "(x_i x_j and x_j x_i both kept, their coefficients move together) against our P = 3248: its cosine is "
             "in another metric, so a verdict locates the study's number among our seeds; it does not rank the "
             "methods.", "",
             "| L | weight change | searched random direction | fixed-state ceiling | √(L/P) | (k+1)·L/P | "
             "study (α-optim) | study vs our min–max | ours − study, test |", "|---|---|---|---|---|---|---|---|---|"]
    for j, L in enumerate(wc.lengths):
        v = verdict.get(int(L))
        lines.append(f"| {int(L)} | {_mean_spread(wc.cosine[:, j])} | {_mean_spread(rnd.cosine[:, j])} | "
                     f"{wc.ceiling[:, j].mean():.3f} | {float(null_cosine(L, P)):.3f} | "
                     f"{compression_ratio(L, P, k):.2f} | "
                     f"{f'{v[1]:.3f}' if v else '–'} | {v[4] if v else '–'} | {_test_cell(tests.get(int(L)))} |")
    return lines


def _test_cell(c) -> str:
    """A one-sample comparison in one table cell: difference [interval], (Holm) p, verdict."""
    if c is None:
        return "–"
    return (f"{c.diff:+.3f} [{c.low:+.3f}, {c.high:+.3f}], p = {c.p_adjusted:.3f} (Holm, n = {c.n_a}): "
            f"{c.verdict.replace(' (at level 0.05)', '')}")


REFINED_GRID = (0.05, 0.1, 0.2, 0.45, 0.7, 0.95, 1.3)  # read from the artifacts below; this is only the caption


def decompression_seeds_table(run: str = "ant_quad_sgd") -> list[str]:
    """Decompression that measures learning (notebooks/05_line_search_decompression.ipynb, §4): β picked on some
    episodes, reported on fresh ones; fresh-seed denominators; recovered fractions with 90 % bootstrap intervals."""
    from gc_helpers.recovery import refined_complete, seed_rows, seed_verdicts

    folder = data_dir() / "decompressed_seeds" / run
    if not (folder / "reference" / "meta.json").is_file():
        return []
    refined = refined_complete(folder)
    ref, rows = seed_rows(folder, sub="refined" if refined else None)
    m = ref.meta
    first, last = ref["first_returns"], ref["last_returns"]
    se = lambda x: x.std(ddof=1) / np.sqrt(x.size)  # noqa: E731
    fresh = rows[0]["n"]
    lines = [f"Run `{run}`, {m['horizon']}-step episodes, σ = 0, fresh seeds: R(w_first) = {first.mean():.0f} ± "
             f"{se(first):.0f} (n = {first.size}), R(w_last) = {last.mean():.0f} ± {se(last):.0f} (n = {last.size}); "
             f"gap {m['gap']:.0f} ± {m['gap_stderr']:.0f}. β picked on other episodes, each row reported on {fresh} "
             f"fresh episodes; ρ = recovered fraction [90 % bootstrap interval] of the return, the forward velocity "
             "and the return minus the alive bonus. "
             + (f"Line search (`bench/decompression.py --refined`): β on the grid "
                f"{', '.join(f'{b:g}' for b in REFINED_GRID)} (units of ‖Δw‖), extended while the pick sat at an "
                f"edge, refined around the best, picked on {min(r['select_episodes'] for r in rows)} episodes; "
                "the number of β tried in brackets; *edge* marks a pick that is still the smallest or largest β "
                "tried. Seed: search seed (compressed; seeds 0–2 are bench/spread.py's searches, seeds 3–4 were run "
                "later with the same settings on one worker thread and agree with spread's only up to L = 50), "
                "expert episode from reset seed 42 + s (BC), rng seed (random)." if refined else
                "β picked on 4 episodes from the grid 0.2, 0.45, 0.7, 0.95; *edge* marks a pick at the grid's edge."),
             "",
             "| direction | seed | cos(d, Δw) | β* | return ± s.e. | episode length | forward velocity | "
             "ρ return | ρ velocity | ρ return − alive |", "|---|---|---|---|---|---|---|---|---|---|"]
    fmt = lambda t: f"{t[0]:.2f} [{t[1]:.2f}, {t[2]:.2f}]"  # noqa: E731
    order = {"compressed": 0, "bc": 1, "exact": 2, "random": 3}
    has = lambda v: v is not None and v >= 0  # noqa: E731  (the bench stores -1 where there is no L or seed)
    for r in sorted(rows, key=lambda r: (r["L"] if has(r["L"]) else 10**6, order.get(r["direction"], 9),
                                         r["search_seed"] if has(r["search_seed"]) else -1)):
        label = r["direction"] + (f" L={r['L']}" if has(r["L"]) and r["L"] else "")
        seed = r["search_seed"] if has(r["search_seed"]) else "–"
        beta = f"{r['best_beta']:.3g}" + (f" ({r['n_betas']})" if refined else "") + \
            (f" *edge {r['edge']}*" if r["edge"] else "")
        lines.append(f"| {label} | {seed} | {r['cosine']:.3f} | {beta} | {r['ret']:.0f} ± "
                     f"{r['se']:.0f} | {r['length']:.0f} | {r['velocity']:.2f} m/s | {fmt(r['rho_returns'])} | "
                     f"{fmt(r['rho_velocity'])} | {fmt(r['rho_net'])} |")
    names = {"rho_returns": "ρ return", "rho_velocity": "ρ velocity", "rho_net": "ρ return − alive"}
    lines += ["", "Behaviour cloning vs the compressed direction at each L (per-seed ρ, Welch's t, Holm over every "
              "line, level 0.05, a verdict only with ≥ 5 seeds a side). Search env steps: BC reads L expert steps; "
              "the compressed search's steps were not recorded for the shipped seeds (its wall time is in the "
              "search artifacts).", ""]
    lines += [f"- L = {L}, {names[key]}: {text}" for L, key, _, text in seed_verdicts(rows)]
    return lines


def trainer_grid_table() -> list[str]:
    """Trainers and architectures over training seeds (notebooks 02 §4, 04 §5, 06 §5): each complete group of
    bench/trainer_grid.py at its picked learning rate, mean ± s.d. [min–max] over seeds."""
    from gc_helpers.envs import env_spec
    from gc_helpers.search_spread import not_a_compression_length
    from gc_helpers.trainer_grid import grid_metrics, picked_group, seed0_returns

    groups = {g: arts for g in GROUP_NAMES if (arts := picked_group(g))}
    if not groups:
        return []
    c = next(iter(groups.values()))[0].meta["config"]
    steps = [int(a["env_steps"][-1]) for arts in groups.values() for a in arts]
    lines = [f"Same budget for every run ({c['n_iterations']} iterations × {c['n_envs']} episodes × {c['horizon']} "
             f"steps and the normaliser's random episodes: {min(steps)}–{max(steps)} env steps; actions clipped "
             "to the box), σ = 0 evaluation on 20 "
             "fresh 1000-step episodes; compressibility of w_last − w_first with the RECOMMENDED search and with "
             "random actions (exact α). A cosine at L ≥ P/k (k = 8 actions per step) is not a compression. Groups "
             "whose seeds are not all trained yet are left out.", "",
             "| group | P (P/k) | lr (picked on seed 0 from the grid) | seeds | return | forward velocity | "
             "searched cos L=200 | "
             "random-action cos L=200 |", "|---|---|---|---|---|---|---|---|"]
    for g, arts in groups.items():
        m = grid_metrics(arts)
        ret = m["return"]
        P, k = int(arts[0].meta["n_params"]), env_spec(arts[0].meta["env_id"]).act_dim
        tried = ", ".join(f"{lr:g}" for lr in seed0_returns(g))
        lines.append(f"| {g} | {P} ({not_a_compression_length(P, k):.0f}) | {arts[0].meta['lr']:g} of {tried} | "
                     f"{[a.meta['seed'] for a in arts]} | "
                     f"{ret.mean():.0f} ± "
                     f"{ret.std(ddof=1):.0f} [{ret.min():.0f}–{ret.max():.0f}] | {m['velocity'].mean():.2f} ± "
                     f"{m['velocity'].std(ddof=1):.2f} m/s | {_mean_spread(m['searched L=200'])} | "
                     f"{_mean_spread(m['random L=200'])} |")
    return lines


def _velocity_rows(t) -> list[str]:
    """One fewest-pairs table as markdown rows: per method, mean ± s.d. (n) at each L, †k for k edge picks."""
    from gc_helpers import fewest_pairs_table as T

    Ls = sorted(set(t["L"].tolist()))
    lines = ["| method | " + " | ".join(f"L={L}" for L in Ls) + " |", "|---" * (len(Ls) + 1) + "|"]
    edges = T.edge_counts(t)
    for m in sorted(set(t["method"].tolist())):
        rows = [T.row(t, m, L) for L in Ls]
        mark = lambda L, m=m: f" †{edges[(m, L)]}" if edges.get((m, L)) else ""  # noqa: E731
        cells = ["" if r is None else f"{r['velocity']:.2f} ({r['n']}){mark(L)}" if r["n"] < 2 else
                 f"{r['velocity']:.2f} ± {r['velocity_sd']:.2f} ({r['n']}){mark(L)}" for r, L in zip(rows, Ls)]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return lines + [""] + [f"- {v}" for v in T.verdicts(t)] + [f"- Note: {v}" for v in T.seed_notes(t)]


def fewest_pairs_tables(runs=("ant_quad_sgd", "ant_quad_best")) -> list[str]:
    """Forward velocity vs the number L of pairs per method (notebooks/07_fewest_pairs.ipynb, §5, §7): mean ± s.d.
    over seeds (n) on fresh episodes, and the verdicts ``fewest_pairs_table.verdicts`` computes from each table;
    then, for each run that has one, the table of the same directions walked by the refined line search."""
    from gc_helpers import fewest_pairs_table as T

    tables = [T.load_table(r) for r in runs if (T.results_dir(r) / "table" / "meta.json").is_file()]
    if not tables:
        return []
    p = tables[0].meta["protocol"]
    lines = [f"σ = 0, {p['horizon']}-step episodes, β picked on {p['pick_episodes']} episodes, forward velocity (m/s) "
             f"on {p['fresh_episodes']} fresh ones: mean ± s.d. over seeds (n). Tables made by "
             f"`bench/fewest_pairs.py`; cells not run yet are blank. β grid {', '.join(f'{b:g}' for b in p['betas'])} "
             "(multiples of the direction's length); †k: k of the seeds picked β at the grid's edge (the best β "
             "may lie beyond it)."]
    for t in tables:
        tr, ref = t.meta["trained"], T.reference_velocity(t.meta["run"])
        lines += ["", f"`{t.meta['run']}` (trained policy {ref['velocity']:.2f} m/s on {ref['n_episodes']} fresh "
                      f"episodes, its one reference velocity; on this table's {tr['n_episodes']} episodes "
                      f"{tr['velocity']:.2f} m/s, return {tr['return']:.0f}):", "", *_velocity_rows(t)]
    for run in runs:
        t = T.load_refined(run)
        if t is not None:
            q, how = t.meta["protocol"], T.line_search_text(t)
            lines += ["", f"#### `{run}`, the same directions walked by the refined line search "
                          f"(`data/fewest_pairs/{run}/refined/`)", "",
                      f"{how[0].upper()}{how[1:]}. σ = 0, {q['horizon']}-step episodes, forward velocity (m/s) on "
                      f"{q['fresh_episodes']} fresh ones: mean ± s.d. over seeds (n); †k: k of the seeds' picks "
                      "still at the edge of the β tried. Made by `bench/fewest_pairs.py --refined`: only the "
                      "(method, L) cells it has run.", "", *_velocity_rows(t)]
    return lines


def results_markdown() -> str:
    """The README's results section: the three tables above (the classroom results of notebooks 02–06)."""
    parts = ["### Trained agents (`data/runs/`)", "", *runs_table(), "",
             "### Compression sweeps (`data/compressed/`)", "", *compression_table(), ""]
    grid = trainer_grid_table()
    if grid:
        parts += ["### Trainers and architectures over training seeds (`data/trainer_grid/`)", "", *grid, ""]
    spread = spread_table()
    if spread:
        parts += ["### Compression with spread over search seeds (`data/spread/`)", "", *spread, ""]
    seeds = decompression_seeds_table()
    if seeds:
        parts += ["### Decompression over search seeds, on fresh episodes (`data/decompressed_seeds/`)", "", *seeds,
                  ""]
    few = fewest_pairs_tables()
    if few:
        parts += ["### How few pairs teach Ant to walk (`data/fewest_pairs/`)", "", *few, ""]
    dec = decompression_table()
    if dec:
        parts += ["### Earlier decompression: one search, β picked and scored on the same episodes "
                  "(`data/decompressed/`)", "", "Made by `make regenerate NAME=decompressed/ant_quad_sgd` "
                  "(`bench/iterated_decompression.py`): β is picked on the episodes that score it, so every return "
                  "here is an upper estimate; the tables over search seeds above, with fresh episodes, replace it.",
                  "", *dec, ""]
    return "\n".join(parts)


def readme_block(readme: Path | None = None) -> str:
    """The text between the results markers of the README (tests/test_readme.py compares it with
    ``results_markdown``; no notebook teaches it)."""
    text = (readme or project_root() / "README.md").read_text()
    if BEGIN not in text or END not in text:
        raise ValueError(f"README has no {BEGIN} … {END} block")
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n")


def write_readme(readme: Path | None = None) -> Path:
    """Replace the README's results section with ``results_markdown()`` (``python tools/report.py --write``)."""
    path = readme or project_root() / "README.md"
    text = path.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{results_markdown()}\n{END}{tail}")
    return path


if __name__ == "__main__":
    if "--write" in sys.argv[1:]:
        print(f"wrote {write_readme()}")
    else:
        print(results_markdown())
