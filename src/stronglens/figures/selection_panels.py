"""Selection-function figures: completeness heatmaps, completeness against theta_E and source magnitude, sensitivity tornado.

Inputs are the gathered tables of one run (``completeness.parquet``,
``sensitivity.parquet``). Completeness is the fraction of successful
injections detected at a threshold (``p>0.5`` or ``fpr<=0.001``: the score
cut giving that false-positive rate on the clean hosts); intervals are the
Jeffreys binomial 68% (bands, cell text) and 95% (light bands), ends fixed to 0 and 1 at k = 0 and k = n.
Empty cells (no host) are hatched and labelled, never drawn as zero.
Units: theta_E and PSF FWHM in arcsec, depth as r-band 5-sigma PSF depth (AB
mag), source magnitude as unlensed r (AB mag).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from stronglens.figures.style import new_figure, no_data


def _slice(table: pd.DataFrame, prior: str, level: str, threshold: str, subset: str = "all",
           variant: str | None = None) -> pd.DataFrame:
    """Rows of one prior, subset, level and threshold: of the prior's baseline with the main source model, or of
    the named variant (e.g. "source:real_galaxy")."""
    if variant is None:
        pick = (table["prior"] == prior) & ~table["variant"].str.startswith("source:")
    else:
        pick = table["variant"] == variant
    t = table[pick & (table["subset"] == subset) & (table["level"] == level) & (table["threshold"] == threshold)]
    return t.copy()


def require_threshold(table: pd.DataFrame, threshold: str) -> None:
    known = sorted(table["threshold"].unique())
    if threshold not in known:
        raise ValueError(f"figures.selection_threshold {threshold!r} is not in completeness.parquet (has {known})")


def heatmaps(table: pd.DataFrame, prior: str, threshold: str, run: str):
    """One theta_E x PSF panel per depth: completeness (colour), value and 68% interval (text), empty cells hatched."""
    cells = _slice(table, prior, "cell", threshold)
    depths = sorted(cells["depth_r"].unique())
    fig, axes = new_figure(3.2 * max(len(depths), 1) + 1.0, 3.6, 1, max(len(depths), 1))
    fig.suptitle(f"{run}: completeness at {threshold} ({prior} prior; text: value [68% interval], n_ok)", fontsize=10)
    if cells.empty:
        no_data(axes[0, 0], "no grid cells")
        return fig
    thetas, psfs = sorted(cells["theta_e_cell"].unique()), sorted(cells["psf_fwhm"].unique())
    image = None
    small = len(thetas) * len(psfs) <= 48
    for ax, depth in zip(axes[0], depths):
        part = cells[cells["depth_r"] == depth].set_index(["psf_fwhm", "theta_e_cell"])
        grid = np.full((len(psfs), len(thetas)), np.nan)
        for (i, psf), (j, th) in ((a, b) for a in enumerate(psfs) for b in enumerate(thetas)):
            if (psf, th) not in part.index:
                continue
            r = part.loc[(psf, th)]
            if bool(r["empty"]):
                ax.add_patch(_hatch(j, i))
                ax.text(j, i, "empty", ha="center", va="center", fontsize=6, color="0.3")
                continue
            grid[i, j] = r["completeness"]
            if small:
                ax.text(j, i, f"{r['completeness']:.2f}\n[{r['lo68']:.2f},{r['hi68']:.2f}]\nn={int(r['n_ok'])}",
                        ha="center", va="center", fontsize=5.5, color="k" if r["completeness"] > 0.35 else "w")
        image = ax.imshow(grid, origin="lower", vmin=0, vmax=1, cmap="viridis", aspect="auto")
        ax.set_xticks(range(len(thetas)), [f"{t:g}" for t in thetas], fontsize=7, rotation=90 if len(thetas) > 8 else 0)
        ax.set_yticks(range(len(psfs)), [f"{p:g}" for p in psfs], fontsize=7)
        ax.set(xlabel="theta_E (arcsec)", ylabel="PSF FWHM (arcsec)", title=f"depth m5_r = {depth:g} mag")
    if image is not None:
        fig.colorbar(image, ax=list(axes[0]), label="completeness", shrink=0.9)
    return fig


def _hatch(x: float, y: float):
    from matplotlib.patches import Rectangle

    return Rectangle((x - 0.5, y - 0.5), 1, 1, fill=False, hatch="///", edgecolor="0.6", lw=0)


def _bin_centre(label: str) -> float:
    lo, hi = (float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", label)[:2])
    return 0.5 * (lo + hi)


def marginals(table: pd.DataFrame, prior: str, thresholds: list[str], run: str, priors: list[str],
              source_models: list[str] | None = None, gap: dict | None = None):
    """Completeness against theta_E and against source r magnitude, one line per threshold, 68% and 95% bands.

    A third panel compares the priors (broad vs anchored) at the first threshold, when more than one was run;
    a fourth the source models (Sersic vs real galaxies) at p > 0.3 with the run's tier A recall (`gap`, the
    summary's realism_gap) as a band, when more than one model was injected.
    """
    panels = [("theta_e", "theta_e_cell", "Einstein radius theta_E (arcsec)"),
              ("src_mag", "src_mag_bin", "unlensed source magnitude r (AB mag)")]
    source_models = source_models or []
    n = len(panels) + (1 if len(priors) > 1 else 0) + (1 if len(source_models) > 1 else 0)
    fig, axes = new_figure(4.2 * n, 3.6, 1, n)
    fig.suptitle(f"{run}: completeness marginals ({prior} prior; bands: 68% and 95% Jeffreys intervals)", fontsize=10)
    for ax, (level, column, label) in zip(axes[0], panels):
        drawn = False
        for k, th in enumerate(thresholds):
            part = _slice(table, prior, level, th)
            part = part[~part["empty"].astype(bool)]
            if part.empty:
                continue
            x = part[column].map(_bin_centre) if column == "src_mag_bin" else part[column]
            part = part.assign(x=x.astype(float)).sort_values("x")
            _band(ax, part, f"C{k}", th)
            drawn = True
        if not drawn:
            no_data(ax, f"no {level} marginal")
            continue
        ax.set(xlabel=label, ylabel="completeness", ylim=(-0.02, 1.02))
        ax.legend(frameon=False, fontsize=7)
    if len(source_models) > 1:
        source_models_panel(axes[0, -1], table, prior, source_models, gap)
    if len(priors) > 1:
        ax = axes[0, len(panels)]
        for k, pr in enumerate(priors):
            part = _slice(table, pr, "theta_e", thresholds[0])
            part = part[~part["empty"].astype(bool)].assign(x=lambda d: d["theta_e_cell"].astype(float)).sort_values("x")
            if "in_prior" in part.columns:
                part = part[part["in_prior"].fillna(True).astype(bool)]
            if not part.empty:
                _band(ax, part, f"C{k + 4}", f"{pr} prior")
        ax.set(xlabel="Einstein radius theta_E (arcsec)", ylabel=f"completeness at {thresholds[0]}", ylim=(-0.02, 1.02),
               title="source priors compared")
        ax.legend(frameon=False, fontsize=7)
    return fig


def source_models_panel(ax, table: pd.DataFrame, prior: str, source_models: list[str], gap: dict | None,
                        threshold: str = "p>0.3") -> None:
    """Completeness against theta_E per source model at `threshold`, and the run's tier A recall as a band."""
    for k, model in enumerate(source_models):
        part = _slice(table, prior, "theta_e", threshold, variant="baseline" if k == 0 else f"source:{model}")
        part = part[~part["empty"].astype(bool)].assign(x=lambda d: d["theta_e_cell"].astype(float)).sort_values("x")
        if not part.empty:
            _band(ax, part, f"C{k + 6}", f"{model.replace('_', ' ')} injections")
    rec = (gap or {}).get("tier_a", {}).get(threshold)
    if rec and rec["recall"] is not None:
        ax.axhspan(*rec["ci95"], color="k", alpha=0.12, lw=0)
        ax.axhline(rec["recall"], color="k", lw=1.2,
                   label=f"tier A recall ({gap['dataset']}, n={rec['n']}): {rec['recall']:.2f}")
    ax.set(xlabel="Einstein radius theta_E (arcsec)", ylabel=f"completeness / recall at {threshold}", ylim=(-0.02, 1.02),
           title="realism gap: source models vs real lenses")
    ax.legend(frameon=False, fontsize=7)


def gap_figure(summary: dict, run: str):
    """Tier A and B recall on the run's lenses beside each source model's injection completeness, at p > 0.3 and
    p > 0.5, with 95% intervals: the realism gap in one panel."""
    gap = summary.get("realism_gap")
    fig, axes = new_figure(7.0, 3.6)
    ax = axes[0, 0]
    if not gap:
        no_data(ax, f"{run}: no realism gap in summary.json (no gates score table)")
        return fig
    bars = [(f"tier A lenses\n({gap['dataset']})", gap["tier_a"]), (f"tier B lenses\n({gap['dataset']})", gap["tier_b"])]
    bars += [(f"{m.replace('_', ' ')}\ninjections", {k: {**v, "recall": v["completeness"], "n": v["n_ok"]} for k, v in rec.items()})
             for m, rec in gap["injection_completeness"].items()]
    width = 0.38
    for j, key in enumerate(("p>0.3", "p>0.5")):
        for i, (_, recs) in enumerate(bars):
            r = recs.get(key)
            if not r or r["recall"] is None:
                continue
            x = i + (j - 0.5) * width
            ax.bar(x, r["recall"], width, color=f"C{j}", alpha=0.8, label=key if i == 0 else None)
            ax.errorbar(x, r["recall"], yerr=[[r["recall"] - r["ci95"][0]], [r["ci95"][1] - r["recall"]]], color="k",
                        capsize=2, lw=0.8)
            ax.text(x, min(r["recall"], 0.93) + 0.04, f"{r['recall']:.2f}\nn={r['n']}", ha="center", fontsize=6)
    ax.set_xticks(range(len(bars)), [b[0] for b in bars], fontsize=7)
    ax.set(ylim=(0, 1.08), ylabel="recall / completeness (95% interval)",
           title=f"{run}: realism gap (recall on the {gap['split']} split's lenses vs injections)")
    ax.legend(frameon=False, fontsize=7)
    return fig


def _band(ax, part: pd.DataFrame, colour: str, label: str) -> None:
    ax.fill_between(part["x"], part["lo95"], part["hi95"], color=colour, alpha=0.12, lw=0)
    ax.fill_between(part["x"], part["lo68"], part["hi68"], color=colour, alpha=0.3, lw=0)
    ax.plot(part["x"], part["completeness"], "o-", color=colour, ms=3, label=label)


def tornado(sensitivity: pd.DataFrame, threshold: str, run: str):
    """Mean change of cell completeness per sensitivity variant (bar, +-1 std over cells) and its largest |change| (marker)."""
    part = sensitivity[sensitivity["threshold"] == threshold]
    fig, axes = new_figure(6.0, 0.35 * max(len(part), 4) + 1.2)
    ax = axes[0, 0]
    if part.empty:
        no_data(ax, "no sensitivity variants were run (selection.sensitivity: false)")
        return fig
    part = part.assign(order=part["mean_delta"].abs()).sort_values("order")
    y = np.arange(len(part))
    colours = ["C3" if v < 0 else "C0" for v in part["mean_delta"]]
    ax.barh(y, part["mean_delta"], xerr=part["std_delta"], color=colours, alpha=0.8, capsize=2, label="mean over cells (+-1 std)")
    ax.plot(part["max_abs_delta"] * np.sign(part["mean_delta"].replace(0, 1)), y, "k|", ms=10, label="largest |change| in a cell")
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_yticks(y, part["variant"], fontsize=8)
    ax.set(xlabel=f"change of completeness at {threshold} (variant - baseline)",
           title=f"{run}: sensitivity of the selection function")
    ax.legend(frameon=False, fontsize=7, loc="lower right")
    return fig
