"""Figures of the real-galaxy source library and of the stand-in sky's labelled stamps."""

from __future__ import annotations

import numpy as np
import pandas as pd

from stronglens.figures.style import gri_composite, new_figure, no_data
from stronglens.sources.library import SUBSETS, SourceLibrary
from stronglens.storage.blobs import decode_bands


def library_figure(lib: SourceLibrary, per_subset: int = 16, crop: int = 32):
    """Galaxy stamps of each subset (first by id; the central `crop` pixels, g/r/z as blue/green/red) and the size
    and shape distributions of both subsets."""
    import matplotlib.pyplot as plt

    cols = 8
    rows = 2 * int(np.ceil(per_subset / cols))
    fig = plt.figure(figsize=(cols * 1.1, rows * 1.15 + 2.6), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[rows * 1.15, 2.6])
    axes = top.subplots(rows, cols)
    r_arcsec = lib.catalog["r_half_pix"] * lib.pixscale_arcsec
    lo = lib.stamps.shape[-1] // 2 - crop // 2
    for s_i, subset in enumerate(SUBSETS):
        idx = lib.indices(subset)[:per_subset]
        for k in range(per_subset):
            ax = axes[s_i * rows // 2 + k // cols, k % cols]
            ax.set_xticks([])
            ax.set_yticks([])
            if k < len(idx):
                g = idx[k]
                ax.imshow(gri_composite(lib.stamps[g, :, lo : lo + crop, lo : lo + crop].astype(np.float64)), origin="lower")
                ax.set_title(f"{subset[:3]} {r_arcsec[g]:.2f}\"", fontsize=6)
    ax_r, ax_q = bottom.subplots(1, 2)
    for subset in SUBSETS:
        m = lib.catalog["subset"] == subset
        ax_r.hist(r_arcsec[m], bins=20, histtype="step", label=f"{subset} ({int(m.sum())})")
        ax_q.hist(lib.catalog["q"][m], bins=20, range=(0, 1), histtype="step", label=subset)
    ax_r.set_xlabel("half-light radius in the deep field (arcsec)")
    ax_q.set_xlabel("axis ratio q (second moments)")
    ax_r.set_ylabel("galaxies")
    ax_r.legend(fontsize=7)
    fig.suptitle(f"Real-galaxy source library: {len(lib)} galaxies of the HST deep field "
                 f"({lib.meta['n_detected']} detections, {lib.meta['n_deblended']} deblended)", fontsize=9)
    return fig


SKY_GROUPS = (("tier A lens", lambda d: (d["label"] == 1) & (d["tier"] == "A")),
              ("tier B lens", lambda d: (d["label"] == 1) & (d["tier"] == "B")),
              ("N1 negative", lambda d: (d["label"] == 0) & (d["pool"] == "N1")),
              ("N2 confuser", lambda d: (d["label"] == 0) & (d["pool"] == "N2")))


def sky_figure(shard: pd.DataFrame | None, n: int = 6):
    """The first n stamps of each group of a sky shard: tier A and B lenses, N1 negatives, N2 confusers."""
    if shard is None:
        fig, ax = new_figure(6, 1.5)
        no_data(ax, "no dataset with source: sky in this config")
        return fig
    fig, axes = new_figure(n * 1.3, len(SKY_GROUPS) * 1.45, nrows=len(SKY_GROUPS), ncols=n)
    for r, (name, pick) in enumerate(SKY_GROUPS):
        rows = shard[pick(shard)].head(n)
        for c in range(n):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(rows):
                row = rows.iloc[c]
                ax.imshow(gri_composite(decode_bands(row["image_npz"], where=f"{row['galaxy_id']} image_npz")), origin="lower")
                extra = f" theta_E {row['theta_e_arcsec']:.1f}\"" if row["label"] == 1 else f" {row['confuser_category']}"
                ax.set_title(extra.strip(), fontsize=6)
        axes[r, 0].set_ylabel(name, fontsize=8)
    fig.suptitle("Stand-in sky: labelled stamps (no control image); lenses are real galaxies of the sky subset", fontsize=9)
    return fig
