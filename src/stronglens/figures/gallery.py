"""Example galleries: what the finder sees (stamp, ctrl, arc, preprocessed views, hard negative) and injected arcs.

Raw panels are gri composites of the survey pixels (nmgy, asinh stretch, one
scale per panel); preprocessed panels show the r band of exactly the array
the run trains and is scored on (diverging colour map, symmetric limits).
Examples are chosen deterministically (evenly spaced in theta_E), so a rerun
draws the same gallery.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stronglens.core.rng import generator
from stronglens.data.interventions import hard_negative
from stronglens.figures.style import gri_composite, mono_view, new_figure, no_data
from stronglens.storage.shards import iter_shard_images
from stronglens.storage.split_store import SplitData, hard_negative_pairs


def raw_images(rows: pd.DataFrame, npix: int) -> np.ndarray:
    """(N, 3, npix, npix) nmgy images of index rows (shard, row, image_column), in row order.

    Read with `shards.iter_shard_images`: each shard once, every image checked
    (shape, finite) with shard, row and field named on failure.
    """
    rows = rows.reset_index(drop=True)
    out = np.empty((len(rows), 3, npix, npix), dtype=np.float32)
    for positions, images in iter_shard_images(rows, (3, npix, npix)):
        out[positions] = images
    return out


def spread_rows(values: np.ndarray, n: int) -> np.ndarray:
    """Positions of n entries evenly spaced in the sorted order of `values` (all if fewer)."""
    order = np.argsort(values, kind="stable")
    if len(order) <= n:
        return order
    return order[np.linspace(0, len(order) - 1, n).round().astype(int)]


def _show_mono(ax, image: np.ndarray, title: str) -> None:
    r, lim = mono_view(image)
    ax.imshow(r, cmap="RdBu_r", vmin=-lim, vmax=lim, origin="lower")
    ax.set_title(title, fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])


def _show_rgb(ax, image: np.ndarray, title: str) -> None:
    ax.imshow(gri_composite(image), origin="lower")
    ax.set_title(title, fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])


def pair_gallery(paired: SplitData, scores: pd.DataFrame | None, n: int, seed: int, ring_px: float, clip: float | None,
                 run: str):
    """Rows: positives of a paired split; columns: raw stamp, raw ctrl, raw arc (stamp - ctrl), preprocessed stamp,
    preprocessed ctrl and the hard negative made from them (the azimuthally shuffled arc on the ctrl)."""
    cols = ["stamp (gri)", "ctrl (gri)", "stamp - ctrl (r)", "preprocessed stamp (r)", "preprocessed ctrl (r)",
            "hard negative (r)"]
    pairs = hard_negative_pairs(paired)
    idx = paired.index.reset_index(drop=True)
    theta = idx.loc[pairs[:, 0], "theta_e_arcsec"].to_numpy(dtype=float)
    pick = pairs[spread_rows(theta, n)]
    fig, axes = new_figure(1.55 * len(cols), 1.75 * max(len(pick), 1) + 0.4, max(len(pick), 1), len(cols))
    fig.suptitle(f"{run}: examples from the paired evaluation split", fontsize=10)
    if len(pick) == 0:
        no_data(axes[0, 0], "no pair in the evaluation split")
        return fig
    p_of = dict(zip(scores["sample_id"], scores["p"])) if scores is not None else {}
    npix = paired.array.shape[-1]
    raw = raw_images(idx.iloc[pick.ravel()], npix).reshape(len(pick), 2, 3, npix, npix)
    pre = paired.read(pick.ravel()).reshape(len(pick), 2, 3, npix, npix)
    for k, (i_stamp, i_ctrl) in enumerate(pick):
        s_row, c_row = idx.iloc[i_stamp], idx.iloc[i_ctrl]
        (raw_s, raw_c), (pre_s, pre_c) = raw[k], pre[k]
        hn = hard_negative(pre_s, pre_c, generator(seed, "figures:hardneg", k), ring_px, clip)
        ps, pc = p_of.get(s_row["sample_id"]), p_of.get(c_row["sample_id"])
        row = axes[k]
        _show_rgb(row[0], raw_s, f"theta_E={s_row['theta_e_arcsec']:.2f}\" SNR={s_row.get('arc_snr', np.nan):.0f}"
                  + (f" p={ps:.2f}" if ps is not None else ""))
        _show_rgb(row[1], raw_c, f"{s_row['host_type']} r={s_row['host_mag_r']:.1f}" + (f" p={pc:.2f}" if pc is not None else ""))
        _show_mono(row[2], raw_s - raw_c, "arc (nmgy)")
        _show_mono(row[3], pre_s, "")
        _show_mono(row[4], pre_c, "")
        _show_mono(row[5], hn, "")
    for ax, name in zip(axes[0], cols):
        ax.set_title(f"{name}\n{ax.get_title()}", fontsize=7)
    return fig


def injection_gallery(stamps: np.ndarray, ctrls: np.ndarray, prepped: np.ndarray, rows: pd.DataFrame, run: str):
    """Rows: injections of the selection grid; columns: injected stamp, clean host, arc alone, preprocessed stamp.

    `rows` holds each injection's theta_E, PSF, depth, source magnitude, arc SNR and score p.
    """
    fig, axes = new_figure(6.4, 1.75 * max(len(rows), 1) + 0.4, max(len(rows), 1), 4)
    fig.suptitle(f"{run}: injected arcs of the selection grid (score p of each stamp)", fontsize=10)
    if len(rows) == 0:
        no_data(axes[0, 0], "no successful injection to show")
        return fig
    for k, r in enumerate(rows.itertuples(index=False)):
        row = axes[k]
        _show_rgb(row[0], stamps[k], f"theta_E={r.theta_e_arcsec:.2f}\" PSF={r.psf_fwhm:.2f}\" m5={r.depth_r:.1f}")
        _show_rgb(row[1], ctrls[k], f"host {r.host_type} r={r.host_mag_r:.1f}")
        _show_mono(row[2], stamps[k] - ctrls[k], f"arc: r_src={r.src_mag_r:.1f} SNR={r.arc_snr:.0f}")
        _show_mono(row[3], prepped[k], f"preprocessed, p={r.p:.3f}")
    return fig
