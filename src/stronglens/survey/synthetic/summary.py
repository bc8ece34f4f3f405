"""Summary of a dataset's pair shards: counts per pool, tier and host type, parameter ranges (columns present only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from stronglens.storage.shards import read_shard_metadata

QUANTITY_COLUMNS = ("theta_e_arcsec", "arc_snr", "mu_eff", "beta_frac", "src_re_arcsec", "src_mag_r", "host_mag_r", "psfsize_r",
                    "psfdepth_r", "sigma_pix_r")
COUNT_COLUMNS = ("label", "pool", "tier", "host_type", "confuser_category", "depth_regime", "src_model")
MU_EFF_CUTS = (2.0, 5.0, 10.0)


def read_metadata_columns(paths: list[str | Path]) -> pd.DataFrame:
    """All shards' rows without the image blobs."""
    return pd.concat([read_shard_metadata(p) for p in paths], ignore_index=True)


def summarise(df: pd.DataFrame) -> dict:
    """Counts and quantiles (5, 50, 95 %) of the survey's key quantities."""
    out: dict = {"n_pairs": int(len(df)), "n_bricks": int(df["brickname"].nunique())}
    out["counts"] = {
        c: {str(k): int(v) for k, v in df[c].value_counts(dropna=False).sort_index().items()} for c in COUNT_COLUMNS if c in df
    }
    out["quantiles"] = {
        c: dict(zip(("p05", "p50", "p95"), (float(v) for v in np.nanpercentile(df[c].astype(float), [5, 50, 95]))))
        for c in QUANTITY_COLUMNS
        if c in df and df[c].notna().any()
    }
    if "mu_eff" in df and df["mu_eff"].notna().any():
        out["mu_eff"] = mu_eff_distribution(df["mu_eff"].dropna().to_numpy(float))
    return out


def mu_eff_distribution(mu: np.ndarray) -> dict:
    """The lenses' effective magnification: deciles and the share above each of MU_EFF_CUTS."""
    return {"n": int(len(mu)), "median": float(np.median(mu)),
            "deciles": [float(v) for v in np.percentile(mu, np.arange(10, 100, 10))],
            **{f"fraction_above_{c:g}": float((mu > c).mean()) for c in MU_EFF_CUTS}}
