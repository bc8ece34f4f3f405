"""Per-run figures: training curves, ROC (linear and log FPR), gate summary, AUROC per theta_E bin, core sensitivity,
gate history (gates during training).

Inputs are a run's own files: ``history.csv`` and ``gate_history.csv`` (training), ``results/gates/<run>.json``
(gate values, thresholds and statuses) and ``results/gates/<run>.scores.parquet``
(one probability per evaluation sample). Nothing is re-scored here: every
number drawn is the number the gate file or the score table holds.
Conventions: theta_E in arcsec, core radii in pixels (0.262 arcsec), FPR and
TPR as fractions; intervals are DeLong 95% unless stated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

from stronglens.figures.style import STATUS_COLOURS, new_figure, no_data
from stronglens.gates.metrics import auroc_with_ci
from stronglens.gates.verdict import verdict_label

MIN_POS_PER_BIN = 5


def training_curves(history: pd.DataFrame, run: str):
    """Loss (train, val) and validation AUROC against epoch, learning rate on a twin axis; best epoch marked."""
    fig, axes = new_figure(9.0, 3.4, 1, 2)
    ax_loss, ax_auc = axes[0]
    epochs = history["epoch"].to_numpy()
    ax_loss.plot(epochs, history["train_loss"], "o-", label="train")
    ax_loss.plot(epochs, history["val_loss"], "s-", label="validation")
    ax_loss.set(xlabel="epoch", ylabel="BCE loss (per sample)", title=f"{run}: loss")
    ax_loss.legend(frameon=False)
    auc = history["val_auroc"].to_numpy(dtype=float)
    ax_auc.plot(epochs, auc, "o-", color="C2", label="validation AUROC")
    if np.isfinite(auc).any():
        best = int(np.nanargmax(auc))
        ax_auc.axvline(epochs[best], color="0.5", ls=":", label=f"best epoch {epochs[best]} ({auc[best]:.3f})")
    ax_auc.set(xlabel="epoch", ylabel="validation AUROC", title=f"{run}: validation AUROC and learning rate")
    ax_lr = ax_auc.twinx()
    ax_lr.plot(epochs, history["lr"], color="0.6", lw=1, label="learning rate")
    ax_lr.set_ylabel("learning rate")
    lines = ax_auc.get_legend_handles_labels()[0] + ax_lr.get_legend_handles_labels()[0]
    ax_auc.legend(lines, [line.get_label() for line in lines], frameon=False, fontsize=8, loc="lower right")
    return fig


def roc_curves(scores: pd.DataFrame, report: dict):
    """ROC of the evaluation and validation splits, on a linear and on a log FPR axis; FPR 0.1% and 1% marked."""
    fig, axes = new_figure(9.0, 3.8, 1, 2)
    ax_lin, ax_log = axes[0]
    for k, (split, part) in enumerate(scores.groupby("split", sort=False)):
        labels, p = part["label"].to_numpy(), part["p"].to_numpy()
        if labels.min() == labels.max():
            continue
        fpr, tpr, _ = roc_curve(labels, p)
        a = auroc_with_ci(p, labels, what=f"{split} split")
        label = f"{split}: AUROC {a['value']:.3f} [{a['ci'][0]:.3f}, {a['ci'][1]:.3f}] (n+={a['n_pos']}, n-={a['n_neg']})"
        ax_lin.plot(fpr, tpr, color=f"C{k}", label=label)
        keep = fpr > 0
        ax_log.step(fpr[keep], tpr[keep], where="post", color=f"C{k}")
        ax_log.axvline(1.0 / a["n_neg"], color=f"C{k}", ls=":", lw=0.8)  # smallest resolvable FPR of this split
    ax_lin.plot([0, 1], [0, 1], color="0.7", ls="--", lw=0.8)
    ax_lin.set(xlabel="false-positive rate", ylabel="true-positive rate (completeness)", xlim=(0, 1), ylim=(0, 1.01),
               title=f"{report['run']}: ROC")
    ax_lin.legend(frameon=False, fontsize=7, loc="lower right")
    for f in (1e-3, 1e-2):
        ax_log.axvline(f, color="0.3", ls="--", lw=0.8)
        ax_log.text(f, 0.02, f" FPR {f:g}", rotation=90, fontsize=7, va="bottom")
    ax_log.set_xscale("log")
    ax_log.set(xlabel="false-positive rate (log)", ylabel="true-positive rate", ylim=(0, 1.01), xlim=(1e-4, 1),
               title="low-FPR regime (dotted: 1 / n_negatives)")
    return fig


def gate_summary(report: dict):
    """One small panel per gate: its value against the pass (solid) and fail (dashed) thresholds, coloured by status."""
    gates = report["gates"]
    names = sorted(gates)
    ncols = 4
    nrows = int(np.ceil(len(names) / ncols))
    fig, axes = new_figure(11.0, 1.45 * nrows + 0.6, nrows, ncols)
    v = report["verdict"]
    fig.suptitle(f"{report['run']}: verdict {verdict_label(v)} "
                 f"on the {report['eval_split']} split", color=STATUS_COLOURS.get(v["verdict"], "k"), fontsize=11)
    for ax, name in zip(axes.flat, names):
        g = gates[name]
        marks = [x for x in (g.get("pass_threshold"), g.get("fail_threshold"), g["value"]) if x is not None]
        hi = max(1.0, *marks) if marks else 1.0
        lo = min(0.0, *marks) if marks else 0.0
        ax.set_xlim(lo, hi)
        ax.set_ylim(0, 1)
        ax.set_yticks([])
        colour = STATUS_COLOURS.get(g["status"], "k")
        if g.get("pass_threshold") is not None:
            ax.axvline(g["pass_threshold"], color=STATUS_COLOURS["PASS"], lw=1.2)
        if g.get("fail_threshold") is not None:
            ax.axvline(g["fail_threshold"], color=STATUS_COLOURS["FAIL"], lw=1.2, ls="--")
        if g["value"] is None:
            ax.text(0.5, 0.45, "n/a", ha="center", transform=ax.transAxes, color=colour)
        else:
            ax.plot([g["value"]], [0.45], "D", color=colour, ms=8)
            ci = g.get("ci")
            if ci:
                ax.plot(ci, [0.45, 0.45], color=colour, lw=2)
        better = "higher is better" if g["direction"] in ("above", "at_least") else "lower is better"
        value = "n/a" if g["value"] is None else f"{g['value']:.3f}"
        ax.set_title(f"{name} = {value}  {g['status']}", fontsize=8, color=colour)
        ax.set_xlabel(better, fontsize=7)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    return fig


def theta_e_auroc(scores: pd.DataFrame, report: dict, bins: list[float]):
    """AUROC (DeLong 95%) of the evaluation positives in each theta_E bin against all evaluation negatives."""
    ev = scores[scores["split"] == report["eval_split"]]
    neg = ev[ev["label"] == 0]
    fig, axes = new_figure(5.5, 3.6)
    ax = axes[0, 0]
    centres, vals, errs, counts = [], [], [], []
    for lo, hi in zip(bins[:-1], bins[1:]):
        pos = ev[(ev["label"] == 1) & (ev["theta_e_arcsec"] >= lo) & (ev["theta_e_arcsec"] < hi)]
        if len(pos) < MIN_POS_PER_BIN or len(neg) == 0:
            continue
        part = pd.concat([pos, neg])
        a = auroc_with_ci(part["p"].to_numpy(), part["label"].to_numpy(), what=f"theta_E bin [{lo}, {hi})")
        centres.append(0.5 * (lo + hi))
        vals.append(a["value"])
        errs.append([a["value"] - a["ci"][0], a["ci"][1] - a["value"]])
        counts.append(len(pos))
    if not vals:
        no_data(ax, f"fewer than {MIN_POS_PER_BIN} evaluation positives in every theta_E bin")
        return fig
    ax.errorbar(centres, vals, yerr=np.array(errs).T, fmt="o", capsize=3)
    for x, y, n in zip(centres, vals, counts):
        ax.annotate(f"n+={n}", (x, y), textcoords="offset points", xytext=(4, 6), fontsize=7)
    th = report["gates"].get("theta_e_min_auroc", {})
    if th.get("pass_threshold") is not None:
        ax.axhline(th["pass_threshold"], color=STATUS_COLOURS["PASS"], lw=1, label="theta_e_min_auroc pass")
    if th.get("fail_threshold") is not None:
        ax.axhline(th["fail_threshold"], color=STATUS_COLOURS["FAIL"], lw=1, ls="--", label="fail")
    ax.set(xlabel="Einstein radius theta_E (arcsec)", ylabel="AUROC (bin positives vs all negatives)",
           ylim=(min(0.4, min(vals) - 0.05), 1.01), title=f"{report['run']}: AUROC per theta_E bin (95% DeLong)")
    ax.legend(frameon=False, fontsize=7, loc="lower right")
    return fig


def core_sensitivity(report: dict):
    """AUROC with the central r pixels masked, against r; the unmasked AUROC and core_reliance's radius marked."""
    curve = report["reported"].get("core_sensitivity") or {}
    fig, axes = new_figure(5.5, 3.6)
    ax = axes[0, 0]
    if not curve:
        no_data(ax, "no core sensitivity curve in the gate file")
        return fig
    radii = sorted(curve, key=float)
    r = np.array([float(x) for x in radii])
    auc = np.array([curve[x] if curve[x] is not None else np.nan for x in radii], dtype=float)
    ax.plot(r, auc, "o-", label="AUROC, core masked")
    ax.axhline(0.5, color="0.7", ls="--", lw=0.8, label="chance")
    rel = report["gates"].get("core_reliance", {})
    if rel.get("radius_px") is not None:
        ax.axvline(rel["radius_px"], color="0.4", ls=":", label=f"core_reliance radius ({rel['status']})")
    ax.set(xlabel="masked core radius (pixels of 0.262 arcsec)", ylabel="AUROC on the evaluation split", ylim=(0.4, 1.01),
           title=f"{report['run']}: core sensitivity")
    ax.legend(frameon=False, fontsize=7)
    return fig


def na_reason(gate: dict) -> str:
    """Why a gate is N/A: its reason or note (`stronglens.gates.verdict` gives every N/A one)."""
    return gate.get("reason") or gate.get("note") or "cannot be computed"


def gates_frame(report: dict) -> pd.DataFrame:
    """The gate table: one row per gate with value, thresholds, direction, status and a note (why a gate is
    N/A; which gate fills the verdict's radial slot)."""
    basis = report["verdict"].get("radial_basis")

    def note(name: str, g: dict) -> str:
        parts = [na_reason(g)] if g["status"] == "N/A" else []
        if name == basis and name != "radial_lr_auc":
            parts.append("fills the verdict's radial slot")
        return "; ".join(p for p in parts if p)

    rows = [{"gate": name, "value": g["value"], "pass_threshold": g.get("pass_threshold"),
             "fail_threshold": g.get("fail_threshold"), "direction": g["direction"], "status": g["status"],
             "note": note(name, g)}
            for name, g in sorted(report["gates"].items())]
    return pd.DataFrame(rows)


GATE_HISTORY_OFF = "gates during training were off for this run (train.gates.every = 0): no gate history"


def _threshold_lines(ax, thresholds, name: str, colour: str) -> None:
    """Pass (dotted) and fail (dash-dot) thresholds of gate `name`, in the gate's own colour."""
    th = (thresholds or {}).get(name)
    if th is None:
        return
    ax.axhline(th.passes, color=colour, ls=":", lw=0.9, label=f"{name} pass {th.passes:g}")
    if th.fail is not None:
        ax.axhline(th.fail, color=colour, ls="-.", lw=0.9, label=f"{name} fail {th.fail:g}")


def _stop_lines(ax, stop, names: dict[str, str]) -> None:
    """The configured stop thresholds (`StopCriteria` fields named in `names`: field -> colour), dashed."""
    for key, colour in names.items():
        value = getattr(stop, key, None) if stop is not None else None
        if value is not None:
            ax.axhline(value, color=colour, ls="--", lw=1.2, label=f"stop: {key.replace('_', ' ')} {value:g}")


def gate_history_panel(history: pd.DataFrame | None, run: str, thresholds=None, stop=None):
    """Gates during training against epoch: data-gate LR AUCs on the training-time inputs; validation AUROC overall
    and per theta_E bin; core reliance, core-masked drop and hard-negative mean p.

    history: gate_history.csv as a frame (`stronglens.gates.training_history`; None: no file given, empty:
    gating was off); thresholds: `gates.thresholds` (gate name -> Threshold; dotted pass, dash-dot fail);
    stop: the run's `StopCriteria` when known (dashed stop thresholds). The epoch a stop criterion fired at
    (its ``stop_reason``) is marked on every panel. Epochs are 0-based; NaN (N/A) points are left out.
    """
    if history is None or history.empty:
        fig, axes = new_figure(7.0, 1.8)
        no_data(axes[0, 0], f"{run}: " + ("no gate_history.csv given" if history is None else GATE_HISTORY_OFF))
        return fig
    fig, axes = new_figure(13.0, 5.0, 1, 3)
    ax_data, ax_theta, ax_core = axes[0]
    epochs = history["epoch"].to_numpy()

    def line(ax, column, **kwargs) -> bool:
        if column not in history:
            return False
        values = pd.to_numeric(history[column], errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(values).any():
            return False
        ax.plot(epochs, values, marker=kwargs.pop("marker", "o"), ms=kwargs.pop("ms", 4), **kwargs)
        return True

    for k, name in enumerate(("core_lr_auc", "radial_lr_auc", "annulus_lr_auc")):
        drawn = line(ax_data, name, color=f"C{k}", label=name)
        line(ax_data, f"{name}_resolved", color=f"C{k}", ls="--", marker="s", label=f"{name} (resolved)")
        if not drawn:
            ax_data.plot([], [], color=f"C{k}", label=f"{name}: N/A (constant features)")
    ax_data.axhline(0.5, color="0.7", lw=0.8)
    _threshold_lines(ax_data, thresholds, "core_lr_auc", "C0")
    _threshold_lines(ax_data, thresholds, "annulus_lr_auc", "C2")
    _stop_lines(ax_data, stop, {"core_lr_auc_above": "C0", "annulus_lr_auc_below": "C2"})
    ax_data.set(xlabel="epoch (0-based)", ylabel="5-fold host-grouped LR AUROC", ylim=(0.35, 1.02),
                title=f"{run}: data gates on training-time inputs")

    line(ax_theta, "auroc", color="k", lw=2, label="all validation")
    bins = [c for c in history.columns if c.startswith("theta_e_auroc_")]
    colours = matplotlib_colours(len(bins))
    for colour, column in zip(colours, bins):
        lo, hi = column.removeprefix("theta_e_auroc_").split("_")
        line(ax_theta, column, color=colour, lw=1, ms=3, label=f"theta_E [{lo}, {hi})\"")
    _threshold_lines(ax_theta, thresholds, "theta_e_min_auroc", "0.3")
    ax_theta.set(xlabel="epoch (0-based)", ylabel="validation AUROC (bin positives vs all negatives)",
                 title="validation AUROC per theta_E bin")

    line(ax_core, "core_reliance", color="C3", label="core_reliance (AUROC drop at the reliance radius)")
    line(ax_core, "core_masked_drop", color="C4", label="core_masked_drop (relative)")
    if not line(ax_core, "hardneg_mean_p", color="C5", label="hard-negative mean p"):
        ax_core.plot([], [], color="C5", label="hard-negative mean p: N/A (no stamp/ctrl pairs)")
    _threshold_lines(ax_core, thresholds, "core_reliance", "C3")
    _threshold_lines(ax_core, thresholds, "hardneg_mean_p", "C5")
    _stop_lines(ax_core, stop, {"hardneg_mean_p_above": "C5"})
    ax_core.axhline(0.0, color="0.7", lw=0.8)
    ax_core.set(xlabel="epoch (0-based)", ylabel="AUROC drop / probability", title="core reliance and hard negatives")

    reasons = history["stop_reason"] if "stop_reason" in history else pd.Series(dtype=object)
    fired = history.loc[reasons.fillna("").astype(str) != "", "epoch"]
    for ax in (ax_data, ax_theta, ax_core):
        for e in fired:
            ax.axvline(e, color=STATUS_COLOURS["FAIL"], lw=1.2, label=f"stopped after epoch {e}")
        ax.legend(frameon=False, fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    if len(fired):
        fig.suptitle(f"{run}: stopped early, {reasons[reasons.fillna('') != ''].iloc[0]}", fontsize=9,
                     color=STATUS_COLOURS["FAIL"])
    return fig


def matplotlib_colours(n: int) -> list:
    """n colours along viridis (one per theta_E bin, small to large)."""
    import matplotlib

    return [matplotlib.colormaps["viridis"](v) for v in np.linspace(0.0, 0.9, max(n, 1))][:n]
