"""Data quality of the seeds' D01 gate 1: split balance and bad pixels.

* Split balance: KS tests of psfsize_r and psfdepth_r between the run's
  training split and its evaluation split (the run's own manifest).
* Bad pixels: per scored cutout, the share of pixels that are zero or not
  finite (a cutout above `bad_pixel_fraction` is flagged). The catalog
  loader already stops on a non-finite pixel, naming it, so a completed
  audit has none; zeros are counted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stronglens.realism.stats import ks


def split_balance(manifest: pd.DataFrame, train_split: str, eval_split: str) -> dict:
    """KS p-values of psfsize_r and psfdepth_r, train vs evaluation split (NaN-free values only), each host once
    (a paired manifest holds every host twice, which would halve the p-values' honest sample size)."""
    if "host_id" in manifest.columns:
        manifest = manifest.drop_duplicates("host_id")
    out = {"train_split": train_split, "eval_split": eval_split}
    for col in ("psfsize_r", "psfdepth_r"):
        a = manifest.loc[manifest["split"] == train_split, col].to_numpy(float)
        b = manifest.loc[manifest["split"] == eval_split, col].to_numpy(float)
        out[col] = ks(a, b)
    return out


def bad_pixels(images: np.ndarray, max_fraction: float) -> dict:
    """Zero and non-finite pixel fractions per cutout (mean, max) and the flagged share."""
    n_pix = np.prod(images.shape[1:])
    zero = (images == 0).reshape(len(images), -1).sum(1) / n_pix
    bad = (~np.isfinite(images)).reshape(len(images), -1).sum(1) / n_pix
    flagged = (zero + bad) > max_fraction
    return {"n_cutouts": len(images), "zero_fraction_mean": float(zero.mean()), "zero_fraction_max": float(zero.max()),
            "nonfinite_fraction_mean": float(bad.mean()), "nonfinite_fraction_max": float(bad.max()),
            "threshold": max_fraction, "n_flagged": int(flagged.sum()), "flagged_share": float(flagged.mean())}
