"""Figures of the realism audit (docs/realism.md): anchor gallery and Table 4, embedding maps, diagnostics.

They read results/realism/<run>.json (the report) and <run>.npz (the
penultimate embeddings per group and the gallery stamps). The embedding map
is UMAP (umap-learn, seeded) beside PCA (scikit-learn) of the standardised
embeddings of all groups together.
"""

from __future__ import annotations

import numpy as np

from stronglens.figures.style import STATUS_COLOURS, gri_composite, new_figure, no_data

GROUP_COLOURS = {"real": "#c62828", "inj:sersic": "#1565c0", "inj:real_galaxy": "#2e7d32", "negative": "#9e9e9e"}
D01_COLOURS = {**STATUS_COLOURS, "BORDERLINE": STATUS_COLOURS["WARN"]}


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def recall_figure(report: dict, arrays: dict, run: str):
    """The anchor gallery (each lens, its tier, score and theta_E) above the seeds' Table 4."""
    images = arrays["gallery_images"]
    ncols = 6
    nrows = max(1, int(np.ceil(len(images) / ncols)))
    fig = new_figure(10.0, 1.75 * nrows + 2.6)[0]
    fig.clf()
    grid = fig.add_gridspec(nrows + 1, ncols, height_ratios=[1.0] * nrows + [1.45])
    for i in range(nrows * ncols):
        ax = fig.add_subplot(grid[i // ncols, i % ncols])
        ax.set_xticks([]), ax.set_yticks([])
        if i < len(images):
            ax.imshow(gri_composite(images[i]), origin="lower")
            theta = arrays["gallery_theta_e"][i]
            th = "" if not np.isfinite(theta) else f', θE {theta:.2f}"'
            ax.set_title(f"tier {arrays['gallery_tier'][i]}: p={arrays['gallery_p'][i]:.3f}{th}", fontsize=7)
        else:
            ax.axis("off")
    ax = fig.add_subplot(grid[nrows, :])
    ax.axis("off")
    rows = [r for r in report["table4"] if r["threshold"] in ("p>0.3", "p>0.5", "p>0.7") or r["threshold"].startswith("fpr")]
    cells = [[r["group"], r["threshold"], f"{r['n_detected']}/{r['n']}", _pct(r["recall"]),
              "n/a" if r["ci95"] is None else f"[{_pct(r['ci95'][0])}, {_pct(r['ci95'][1])}]"] for r in rows]
    table = ax.table(cellText=cells, colLabels=["lenses", "threshold", "detected", "recall", "95% (Jeffreys)"],
                     loc="center", cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    table.scale(1, 0.9)
    cat = report["catalog"]
    fig.suptitle(f"{run}: recall on {cat['dataset']} ({cat['source']}) {cat['split']} lenses "
                 f"(tier A {cat['n_tier']['A']}, tier B {cat['n_tier']['B']}; {cat['n_negatives']} negatives)", fontsize=9)
    return fig


def embedding_maps(arrays: dict, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray | None, np.ndarray, str]:
    """({group: rows}, UMAP (n, 2) or None, PCA (n, 2), note) of the standardised embeddings of every group."""
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    groups = [k[4:] for k in arrays if k.startswith("emb:")]
    x = np.concatenate([arrays[f"emb:{g}"] for g in groups]).astype(np.float64)
    bounds = np.cumsum([0] + [len(arrays[f"emb:{g}"]) for g in groups])
    rows = {g: np.arange(bounds[i], bounds[i + 1]) for i, g in enumerate(groups)}
    z = StandardScaler().fit_transform(x)
    pca = PCA(n_components=2, random_state=seed).fit(z)
    note = f"PCA: {100 * pca.explained_variance_ratio_.sum():.0f}% of the variance"
    umap_xy = None
    if len(z) > 10:
        import umap

        umap_xy = umap.UMAP(n_neighbors=min(15, len(z) - 1), random_state=seed, n_jobs=1).fit_transform(z)
    return rows, umap_xy, pca.transform(z), note


def embedding_figure(report: dict, arrays: dict, run: str, seed: int):
    """UMAP and PCA of the penultimate embeddings by group, with the probe and its null tests beside them."""
    fig, axes = new_figure(11.0, 3.9, 1, 3, width_ratios=[1, 1, 0.9])
    rows, umap_xy, pca_xy, note = embedding_maps(arrays, seed)
    for ax, xy, title in ((axes[0, 0], umap_xy, "UMAP"), (axes[0, 1], pca_xy, f"PCA ({note[5:]})")):
        if xy is None:
            no_data(ax, "too few images for UMAP")
            continue
        for g, r in rows.items():
            ax.scatter(xy[r, 0], xy[r, 1], s=7, alpha=0.7, color=GROUP_COLOURS.get(g, "k"),
                       label=f"{g} (n={len(r)}, median p {np.median(arrays[f'p:{g}']):.2g})")
        ax.set_title(f"{title} of {report['penultimate_block']} embeddings", fontsize=9)
        ax.set_xticks([]), ax.set_yticks([])
    axes[0, 0].legend(fontsize=6, loc="best")
    ax = axes[0, 2]
    ax.axis("off")
    lines = ["Linear probe (5-fold CV AUC, bootstrap 95%) and MMD:"]
    for m, pr in report["probe"]["by_model"].items():
        p = pr["probe"]
        lines.append(f"real vs {m}: AUC {p['auc_mean']:.3f} ± {p['auc_std']:.3f} [{p['ci95'][0]:.2f}, {p['ci95'][1]:.2f}]")
        lines.append(f"    MMD p = {pr['mmd']['p_value']:.3g}")
    lines.append("")
    lines.append("Null tests (AUC typical of its permutation null, MMD p not small):")
    for name, nt in report["probe"]["null_tests"].items():
        p = nt["probe"]
        if p is None:
            lines.append(f"{name}: not computed ({nt['reason']})")
            continue
        perm = p.get("permutation", {})
        lines.append(f"{name}: AUC {p['auc_mean']:.3f} (null median {perm.get('null_median', float('nan')):.2f}, "
                     f"perm p {perm.get('p_two_sided', float('nan')):.2f}),")
        lines.append(f"    MMD p {nt['mmd']['p_value']:.2f}: {'pass' if nt['passes'] else 'FAIL'}")
    lines.append("")
    lines.append(f"FD(real, inj) / FD(real, neg) at {report['penultimate_block']}:")
    for key, v in report["probe"]["frechet_by_block"][report["penultimate_block"]].items():
        if key.startswith("fd_ratio"):
            lines.append(f"    {key[9:]}: {v:.3g}" if v is not None else f"    {key[9:]}: n/a")
    ax.text(0, 1, "\n".join(lines), va="top", ha="left", fontsize=7, family="monospace", transform=ax.transAxes, wrap=True)
    fig.suptitle(f"{run}: does the finder see injections as real lenses? (realism gate {report['d01']['realism']['status']})",
                 fontsize=10)
    return fig


def diagnostics_figure(report: dict, run: str):
    """Bright-arc ceiling (with and without arc shot noise), FD per block, arc statistics' KS p, D01 gates,
    tier A recall (the threshold sets and the GO / NO-GO line are in the experiments table)."""
    fig, axes = new_figure(11.0, 7.0, 2, 2)
    ax = axes[0, 0]
    for m, c in report["ceiling"].items():
        bins = [b["mag_bin"] for b in c["bins"]]
        colour = GROUP_COLOURS.get(f"inj:{m}", "k")
        ax.plot(bins, [b["detected_p>0.3"] for b in c["bins"]], "o-", color=colour, label=f"{m} p>0.3")
        ax.plot(bins, [b["detected_p>0.5"] for b in c["bins"]], "s--", color=colour, alpha=0.6, label=f"{m} p>0.5")
        ax.plot(bins, [b["detected_p>0.3_shot_noise"] for b in c["bins"]], "^:", color=colour, alpha=0.6,
                label=f"{m} p>0.3 + shot noise")
    ceiling = report["d01"]["beta_frac_ceiling"]["thresholds"]["pass"]
    ax.axhline(ceiling, color="k", lw=0.8, ls=":")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("source r mag bin (AB)"), ax.set_ylabel("detected fraction")
    ax.set_title(f"bright-arc ceiling (beta_frac restricted); criterion {ceiling:.0%}", fontsize=9)
    ax.tick_params(axis="x", labelsize=7, rotation=30)
    ax.legend(fontsize=6)
    ax = axes[0, 1]
    blocks = report["probe"]["blocks"]
    fd = report["probe"]["frechet_by_block"]
    ax.plot(blocks, [fd[b]["fd_real_negative"] for b in blocks], "o-", color=GROUP_COLOURS["negative"], label="real vs negative")
    for key in fd[blocks[0]]:
        if key.startswith("fd_real_inj:"):
            m = key.split(":", 1)[1]
            ax.plot(blocks, [fd[b][key] for b in blocks], "o-", color=GROUP_COLOURS.get(f"inj:{m}", "k"), label=f"real vs {m}")
    ax.set_yscale("log")
    ax.set_title("Frechet distance per feature block (Ledoit-Wolf)", fontsize=9)
    ax.tick_params(axis="x", labelsize=7, rotation=30)
    ax.legend(fontsize=7)
    ax = axes[1, 0]
    morph = report["morphology"]
    stats = [k for k in morph["real"] if k not in ("n", "n_no_arc")]
    width = 0.8 / max(1, len(morph) - 1)
    for j, (g, v) in enumerate((g, v) for g, v in morph.items() if g != "real"):
        p = [v["ks"][s]["p_value"] for s in stats]
        ax.bar(np.arange(len(stats)) + j * width, [-np.log10(max(x, 1e-300)) if x is not None else 0 for x in p], width,
               color=GROUP_COLOURS.get(g, "k"), label=f"real vs {g}")
    ax.axhline(-np.log10(0.05), color="k", lw=0.8, ls=":")
    ax.set_xticks(np.arange(len(stats)) + width / 2, [s.replace("_", "\n") for s in stats], fontsize=7)
    ax.set_ylabel("-log10 KS p")
    ax.set_title("arc morphology statistics: real vs injected arcs", fontsize=9)
    ax.legend(fontsize=7)
    ax = axes[1, 1]
    ax.axis("off")
    lines = ["D01 gates:"]
    for name, g in report["d01"].items():
        lines.append(f"  {name:18s} {g['status']}")
    frag = report["fragility"]["scoring"].get("p>0.3", {})
    if frag:
        lines.append(f"  annulus {report['fragility']['annulus_statistics']['alt_annulus']}: recall "
                     f"{frag['recall_delta'] * 100:+.1f} pp, FPR {frag['fpr_delta'] * 100:+.2f} pp at p>0.3")
    for m, s in report["shot_noise"].items():
        lines.append(f"  shot noise ({m}): {s['detected_without']:.2f} -> {s['detected_with']:.2f}, "
                     f"McNemar p {s['mcnemar']['p_exact']:.2g}")
    tier_a = report["recall"]["tiers"]["A"]
    lines.append("")
    for key in ("p>0.3", "p>0.5"):
        r = tier_a.get(key)
        if r and r["recall"] is not None:
            lines.append(f"tier A recall {key}: {r['recall']:.3f} [{r['ci95'][0]:.3f}, {r['ci95'][1]:.3f}] (n = {r['n']})")
    lines.append("threshold sets and GO / NO-GO: results/experiments.tsv")
    ax.text(0, 1, "\n".join(lines), va="top", ha="left", fontsize=7, family="monospace", transform=ax.transAxes)
    worst = max((g["status"] for g in report["d01"].values()), key=lambda s: ("PASS", "N/A", "BORDERLINE", "FAIL").index(s))
    fig.suptitle(f"{run}: realism diagnostics (worst D01 gate {worst})", fontsize=10, color=D01_COLOURS.get(worst))
    return fig
