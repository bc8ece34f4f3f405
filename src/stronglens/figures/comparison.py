"""Figures across runs: AUROC with intervals, the key shortcut figures, and the gate status of every run.

Reads only the gate files (``results/gates/<run>.json``); every run is drawn
from its own evaluation split, named in the axis labels.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import ListedColormap

from stronglens.figures.style import STATUS_COLOURS, new_figure

STATUS_ORDER = ["PASS", "WARN", "FAIL", "N/A"]
SHORTCUT_FIGURES = ("core_lr_auc", "core_masked_drop", "core_reliance", "hardneg_auroc", "arc_occlusion_drop")


def runs_figure(reports: list[dict]):
    """Left: AUROC (eval and val, DeLong 95%) per run; middle: shortcut gate values; right: gate status matrix."""
    runs = [r["run"] for r in reports]
    fig, axes = new_figure(15.0, 0.45 * len(runs) + 2.6, 1, 3, width_ratios=[1.0, 1.2, 1.6])
    ax_auc, ax_sc, ax_st = axes[0]
    y = np.arange(len(runs))
    for off, key, label in ((-0.15, None, "eval split"), (0.15, "auroc_val", "validation split")):
        vals, lo, hi = [], [], []
        for r in reports:
            a = r["gates"]["auroc"] if key is None else r["reported"][key]
            vals.append(a["value"])
            lo.append(a["value"] - a["ci"][0])
            hi.append(a["ci"][1] - a["value"])
        ax_auc.errorbar(vals, y + off, xerr=[lo, hi], fmt="o", capsize=2, label=label)
    ax_auc.set_yticks(y, runs)
    ax_auc.invert_yaxis()
    ax_auc.set(xlabel="AUROC (95% DeLong)", title="discrimination")
    ax_auc.legend(frameon=False, fontsize=7)
    for k, name in enumerate(SHORTCUT_FIGURES):
        vals = [r["gates"].get(name, {}).get("value") for r in reports]
        ax_sc.plot([np.nan if v is None else v for v in vals], y, "o", color=f"C{k}", label=name)
    ax_sc.set_yticks(y, [])
    ax_sc.invert_yaxis()
    ax_sc.set(xlabel="gate value (see the per-run gate figure for thresholds)", title="shortcut figures")
    ax_sc.legend(frameon=False, fontsize=7, loc="best")
    names = sorted({g for r in reports for g in r["gates"]})
    codes = np.array([[STATUS_ORDER.index(r["gates"].get(g, {}).get("status", "N/A")) for g in names] for r in reports])
    ax_st.imshow(codes, cmap=ListedColormap([STATUS_COLOURS[s] for s in STATUS_ORDER]), vmin=-0.5, vmax=3.5, aspect="auto")
    for i, r in enumerate(reports):
        for j, g in enumerate(names):
            ax_st.text(j, i, r["gates"].get(g, {}).get("status", "N/A"), ha="center", va="center", fontsize=6, color="w")
    ax_st.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=7)
    ax_st.set_yticks(y, [f"{r['run']}: {r['verdict']['verdict']}" for r in reports], fontsize=8)
    ax_st.set_title("gate status (verdict on the left)")
    return fig
