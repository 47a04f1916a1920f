"""The ladder's figures: velocity per rung beside BC on expert pairs, each search's fitness against its env steps, a
dataset drawn as Ant poses with its actions as bars, and one cell's seeds for the widget.

Taught in notebooks/08_which_constraint.ipynb (§4 the ladder, §5 what the datasets look like, §7 the widget). Every
number drawn is read from the shipped cells through ``gc_helpers.ladder_table``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import ladder_table as LT

LEG_COLOURS = ["C0", "C0", "C1", "C1", "C2", "C2", "C3", "C3"]  # hip and ankle of each leg


def _base_rows(rows, L):
    """The rows at L searched with the ladder's base budget (the larger-budget cell left out), rung 1 included."""
    budgets = [r["budget"] for r in rows if r["budget"]]
    base = min(budgets) if budgets else None
    return [r for r in rows if r["L"] == L and (r["budget"] is None or r["budget"] == base)]


def ladder_figure(runs):
    """One panel per (run, L): each seed's fresh velocity per rung, mean ± sd, BC on the first / greedy best L
    expert pairs (notebook 07's cells) as bands, the trained velocity and 80 % of it."""
    panels = [(r, L) for r in runs for L in sorted({x["L"] for x in LT.rows(r)})]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.3 * len(panels), 3.8), sharey=True, squeeze=False)
    for ax, (r, L) in zip(axes[0], panels):
        ref, rows = LT.trained(r), _base_rows(LT.rows(r), L)
        for i, x in enumerate(rows):
            ax.scatter(np.full(x["n"], i), x["velocities"], s=12, c=f"C{x['rung']}", alpha=0.6)
            ax.errorbar(i, x["velocity"]["mean"], yerr=np.nan_to_num(x["velocity"]["sd"]), fmt="_", c="k", ms=14,
                        capsize=4)
        for how, colour, words in (("bc_first", "C7", "first"), ("bc_subset", "C8", "greedy best")):
            e = LT.expert_row(r, L, how)
            if e:
                m, sd = e["velocity"]["mean"], np.nan_to_num(e["velocity"]["sd"])
                ax.axhspan(m - sd, m + sd, color=colour, alpha=0.3,
                           label=f"BC, {words} {L} expert pairs (mean ± sd, n = {e['n']})")
        ax.axhline(ref["velocity"], c="k", ls="--", lw=1, label="trained w_last")
        ax.axhline(0.8 * ref["velocity"], c="k", ls=":", lw=1, label="80 % of trained")
        ax.set_xticks(range(len(rows)), [f"{x['rung']}{'*' if x['method'] == 'shipped_traj' else ''}\nn={x['n']}"
                                         for x in rows])
        ax.set(title=f"{r}, L = {L}", xlabel="rung (1* = notebook 07's search)")
    axes[0, 0].set_ylabel("forward velocity, fresh episodes (m/s)")
    axes[0, -1].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def progress_figure(run):
    """Per L, every searched cell's population-mean fitness (solid) and best (dotted) against env steps."""
    cells = [c for c in LT.load_cells(run) if c.meta["method"] in LT.LADDER]
    Ls = sorted({c.meta["L"] for c in cells}) or [0]
    fig, axes = plt.subplots(1, len(Ls), figsize=(4.2 * len(Ls), 3.2), sharey=True, squeeze=False)
    for ax, L in zip(axes[0], Ls):
        for c in (c for c in cells if c.meta["L"] == L):
            m = c.meta
            ax.plot(c["history_steps"], c["history_mean"], c=f"C{m['rung']}", lw=1,
                    label=LT.LABELS[m["method"]] if m["seed"] == 0 and "_b" not in c.path.name else None)
            ax.plot(c["history_steps"], c["history_best"], c=f"C{m['rung']}", lw=0.6, ls=":")
        ax.axhline(0, c="k", lw=0.5)
        ax.set(title=f"{run}, L = {L}", xlabel="env steps of the search")
    axes[0, 0].set_ylabel("fitness (m/s): population mean, best dotted")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def poses(obs, width: int = 150, height: int = 120) -> np.ndarray:
    """Frames of Ant standing in each state (n, 27) at the origin; a free observation's quaternion is normalised
    so that it can be drawn."""
    from . import video

    o = np.array(obs, dtype=np.float64)
    o[:, 1:5] /= np.maximum(np.linalg.norm(o[:, 1:5], axis=1, keepdims=True), 1e-9)
    physics = np.concatenate([np.zeros((len(o), 3)), o], axis=1)  # time 0, x = y = 0, then the observation
    return video.render_physics("Ant-v5", physics, width, height)


def dataset_figure(cell, n: int = 6):
    """The first ``n`` pairs of a ladder cell: each state as a pose (torso height in the title), its action as 8
    bars (hip and ankle of each leg, one colour per leg)."""
    n = min(int(n), int(cell.meta["L"]))
    frames = poses(cell["obs"][:n])
    fig, axes = plt.subplots(2, n, figsize=(1.9 * n, 2.9), gridspec_kw={"height_ratios": [3, 1.2]}, squeeze=False)
    for j in range(n):
        axes[0, j].imshow(frames[j])
        axes[0, j].set_axis_off()
        axes[0, j].set_title(f"pair {j}: z = {cell['obs'][j, 0]:.2f} m", fontsize=7)
        axes[1, j].bar(range(8), cell["actions"][j], color=LEG_COLOURS)
        axes[1, j].set(ylim=(-1.05, 1.05), xticks=[], yticks=[-1, 0, 1] if j == 0 else [])
    m = cell.meta
    fig.suptitle(f"{LT.LABELS[m['method']]}: L = {m['L']}, seed {m['seed']}, {m['velocity']:+.2f} m/s on fresh "
                 "episodes", fontsize=9)
    fig.tight_layout()
    return fig


def best_cells(run, max_L: int = 16) -> dict:
    """Per method, the cell of ``run`` with the fastest fresh velocity at L ≤ ``max_L``."""
    best = {}
    for c in LT.load_cells(run):
        m = c.meta
        if m["L"] <= max_L and (m["method"] not in best or m["velocity"] > best[m["method"]].meta["velocity"]):
            best[m["method"]] = c
    return best


def cell_panel(run, method, L) -> str:
    """The widget's view of one (run, rung, L) row: its seeds beside BC on L expert pairs and the trained velocity;
    returns the line it prints under the plot."""
    row = next((x for x in _base_rows(LT.rows(run), L) if x["method"] == method), None)
    if row is None:
        return f"{run}, {LT.LABELS[method]}, L = {L}: not measured (yet)"
    ref, e = LT.trained(run), LT.expert_row(run, L)
    fig, ax = plt.subplots(figsize=(6, 1.8))
    ax.scatter(row["velocities"], np.zeros(row["n"]), c="C0", label="search seeds")
    if e:
        ax.scatter(e["velocities"], np.ones(e["n"]), c="C7", label=f"BC on the first {L} expert pairs")
    ax.axvline(ref["velocity"], c="k", ls="--", label="trained")
    ax.set(yticks=[0, 1], yticklabels=["ladder", "expert"], ylim=(-0.6, 1.6), xlabel="forward velocity (m/s)")
    ax.legend(fontsize=7, loc="center right")
    plt.show()
    sd = "–" if row["n"] < 2 else f"{row['velocity']['sd']:.3f}"
    return (f"{run}, {LT.LABELS[method]}, L = {L}: {row['velocity']['mean']:+.3f} ± {sd} m/s over {row['n']} seeds "
            f"({row['fraction']:.0%} of trained), search {row['search_env_steps']:,.0f} env steps")
