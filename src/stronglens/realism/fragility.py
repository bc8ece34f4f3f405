"""Preprocessing fragility (seed 003 §§13.3-13.4, 29.2): the same images under another annulus.

The run's lenses and negatives are preprocessed once with the run's own
normalisation annulus and once with `alt_annulus` (all else equal) and
scored; recall and FPR at each threshold are compared (deltas in absolute
fractions: -0.036 is the seeds' -3.6 pp). Beside it, the raw r-band
annulus statistics of the same images: KS tests of the two annuli's
medians and MADs, and the Spearman correlation of the median shift (in
units of the trained annulus' MAD) with PSF size and depth.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import torch

from stronglens.data.normalise import annulus_stats
from stronglens.data.settings import PreprocessSettings
from stronglens.realism.stats import ks, spearman


def alternative(pp: PreprocessSettings, annulus: tuple[float, float]) -> PreprocessSettings:
    return dataclasses.replace(pp, annulus=tuple(annulus))


def annulus_comparison(images: np.ndarray, rows: pd.DataFrame, trained: tuple[float, float],
                       alt: tuple[float, float]) -> dict:
    """KS of r-band annulus medians and MADs (trained vs alternative) and the shift's correlation with PSF, depth."""
    x = torch.from_numpy(np.asarray(images[:, 1:2], dtype=np.float64))
    med_t, mad_t = (v[:, 0].numpy() for v in annulus_stats(x, trained))
    med_a, mad_a = (v[:, 0].numpy() for v in annulus_stats(x, alt))
    shift = (med_a - med_t) / np.where(mad_t > 0, mad_t, np.nan)
    return {
        "trained_annulus": list(trained), "alt_annulus": list(alt), "n": len(images),
        "median_of_medians": {"trained": float(np.median(med_t)), "alt": float(np.median(med_a))},
        "ks_medians": ks(med_t, med_a), "ks_mads": ks(mad_t, mad_a),
        "shift_vs_psfsize_r": spearman(shift, rows["psfsize_r"].to_numpy(float)),
        "shift_vs_psfdepth_r": spearman(shift, rows["psfdepth_r"].to_numpy(float)),
    }


def scoring_deltas(p_trained: np.ndarray, p_alt: np.ndarray, labels: np.ndarray, thresholds: dict[str, dict]) -> dict:
    """Recall and FPR at each threshold with the trained and the alternative annulus, and their deltas."""
    labels = np.asarray(labels)
    out = {}
    for name, t in thresholds.items():
        thr = t["threshold_p"]
        rec = [float((p[labels == 1] > thr).mean()) for p in (p_trained, p_alt)]
        fpr = [float((p[labels == 0] > thr).mean()) for p in (p_trained, p_alt)]
        out[name] = {"threshold_p": thr, "recall_trained": rec[0], "recall_alt": rec[1], "recall_delta": rec[1] - rec[0],
                     "fpr_trained": fpr[0], "fpr_alt": fpr[1], "fpr_delta": fpr[1] - fpr[0]}
    out["median_lens_score"] = {"trained": float(np.median(p_trained[labels == 1])),
                                "alt": float(np.median(p_alt[labels == 1]))}
    return out
