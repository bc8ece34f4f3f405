"""Manifests: one row per training sample, pointing at its shard and row (docs/science.md section 4).

Two variants from the same pair shards (an unpaired source such as cutouts,
with one labelled image per row, gives only the second, its rows as they are):
* ``paired``: the stamp (label 1) and the ctrl (label 0) of every host;
* ``unpaired``: host-disjoint; within each split half of the hosts give their
  stamp and the other half their ctrl, so labels stay balanced and no host
  appears twice.
Splits are re-derived here from a hash of spatial units (bricks and HEALPix
cells joined into connected components, `spatial_units`), so bricks, cells and
hosts are all disjoint between splits, whatever the input said. An
optional stratified subsample keeps the label balance and the theta_E, PSF
and depth bin distributions; it samples hosts, so pairs stay whole.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stronglens.core.rng import generator, unit_hash
from stronglens.data.settings import ManifestSettings

THETA_E_BINS = (-np.inf, 0.75, 1.0, 1.5, 2.0, 2.5, np.inf)
PSF_BINS = (-np.inf, 1.0, 1.2, 1.4, 1.6, np.inf)
STRATUM_COLUMNS = ("theta_e_arcsec", "psfsize_r", "psfdepth_r")
DEPTH_QUANTILES = 4
META_COLUMNS = (
    "ra", "dec", "brickname", "healpix_128", "theta_e_arcsec", "arc_snr", "psfsize_r", "psfdepth_r", "ebv",
    "host_type", "pool", "confuser_category", "tier", "beta_frac", "mu_eff",
)


class ManifestError(ValueError):
    """Pair shards that cannot make a valid manifest; the message names file, row and field."""


def pairs_table(shards: list[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """Concatenate shards' metadata (no blobs) with a pointer (shard path, row) per pair."""
    frames = []
    for path, df in shards:
        meta = df[[c for c in df.columns if not c.endswith("_npz")]].copy()
        meta["shard"] = str(path)
        meta["row"] = np.arange(len(df), dtype=np.int64)
        frames.append(meta)
    table = pd.concat(frames, ignore_index=True)
    _require_unique(table, "host_id")
    _require_unique(table, "pair_id")
    return table


def _require_unique(table: pd.DataFrame, column: str) -> None:
    dup = table[table[column].duplicated(keep=False)]
    if len(dup):
        first = dup.iloc[0]
        where = ", ".join(f"{r.shard} row {r.row}" for r in dup.head(4).itertuples())
        raise ManifestError(f"duplicate {column} {first[column]!r} in {len(dup)} rows ({where}): field {column}")


def require_coordinates(table: pd.DataFrame) -> None:
    """Missing coordinates are an error, never a NaN split key."""
    for column in ("ra", "dec", "brickname", "healpix_128"):
        bad = table[table[column].isna()]
        if len(bad):
            r = bad.iloc[0]
            raise ManifestError(f"{r['shard']} row {r['row']}: field {column} is missing ({len(bad)} rows in all)")


def spatial_units(table: pd.DataFrame, split_by: str) -> pd.Series:
    """Connected components of the brick - HEALPix graph, named by their first `split_by` key.

    A HEALPix-128 cell (~0.46 deg) and a brick (~0.25 deg) do not nest, so
    splitting by either alone lets the other straddle splits. Hosts linked by a
    shared brick or a shared cell fall in one unit, so both come out disjoint.
    """
    brick = pd.factorize(table["brickname"].astype(str))[0]
    cell = pd.factorize(table["healpix_128"].astype("int64"))[0]
    comp = pd.Series(brick, index=table.index)
    while True:
        by_cell = comp.groupby(cell).transform("min")
        new = by_cell.groupby(brick).transform("min")
        if new.equals(comp):
            break
        comp = new
    key = table["brickname"].astype(str) if split_by == "brick" else table["healpix_128"].astype("int64").astype(str)
    return key.groupby(comp).transform("min")


def assign_splits(table: pd.DataFrame, split_by: str, fractions: dict[str, float], seed: int) -> pd.Series:
    """Split of every row from a hash of its spatial unit (`spatial_units`)."""
    unit = spatial_units(table, split_by)
    names = list(fractions)
    edges = np.cumsum([fractions[n] for n in names])
    u = unit.map(lambda k: unit_hash(seed, f"split:{k}")).to_numpy()
    idx = np.minimum(np.searchsorted(edges, u * edges[-1], side="right"), len(names) - 1)
    return pd.Series(np.asarray(names, dtype=object)[idx], index=table.index)


def strata(table: pd.DataFrame) -> pd.Series:
    """Stratum label of each host: theta_E bin x PSF bin x depth quartile (open-ended outer bins)."""
    for column in STRATUM_COLUMNS[1:]:
        bad = table[table[column].isna()]
        if len(bad):
            r = bad.iloc[0]
            raise ManifestError(f"{r['shard']} row {r['row']}: field {column} is missing, so the row has no stratum")
    te = pd.cut(table["theta_e_arcsec"], THETA_E_BINS, include_lowest=True).astype(str)
    te = te.where(table["theta_e_arcsec"].notna(), "no-lens")  # negatives of unpaired sources
    psf = pd.cut(table["psfsize_r"], PSF_BINS).astype(str)
    depth = pd.qcut(table["psfdepth_r"].rank(method="first"), DEPTH_QUANTILES, labels=False).astype(str)
    return te + "|" + psf + "|" + depth


def subsample_hosts(table: pd.DataFrame, fraction: float, seed: int) -> pd.DataFrame:
    """Keep `fraction` of the hosts of every (split, stratum), at least one per non-empty stratum."""
    rng = generator(seed, "manifest:subsample")
    keep = []
    for _, group in table.groupby(["split", strata(table)], sort=True):
        n = max(1, int(round(fraction * len(group))))
        keep.append(group.iloc[np.sort(rng.choice(len(group), size=n, replace=False))])
    return pd.concat(keep).sort_values(["shard", "row"]).reset_index(drop=True)


def _samples(pairs: pd.DataFrame, label: int, tier_weights: dict[str, float]) -> pd.DataFrame:
    out = pairs.copy()
    out["label"] = label
    out["image_column"] = "stamp_npz" if label else "ctrl_stamp_npz"
    out["sample_id"] = out["pair_id"] + (":stamp" if label else ":ctrl")
    out["sample_weight"] = out["tier"].map(tier_weights).astype(float) if label else 1.0
    if not label:
        out["tier"] = "none"
    else:
        out["pool"] = "positive"
    return out


def paired_manifest(pairs: pd.DataFrame, tier_weights: dict[str, float]) -> pd.DataFrame:
    """Stamp and ctrl of every host, stamp first."""
    both = pd.concat([_samples(pairs, 1, tier_weights), _samples(pairs, 0, tier_weights)])
    return both.sort_values(["shard", "row", "label"], ascending=[True, True, False]).reset_index(drop=True)


def unpaired_manifest(pairs: pd.DataFrame, tier_weights: dict[str, float], seed: int) -> pd.DataFrame:
    """Host-disjoint, label-balanced within each split: each host gives its stamp or its ctrl."""
    rng = generator(seed, "manifest:unpaired")
    parts = []
    for _, group in pairs.groupby("split", sort=True):
        order = rng.permutation(len(group))
        half = len(group) // 2
        parts.append(_samples(group.iloc[np.sort(order[:half])], 1, tier_weights))
        parts.append(_samples(group.iloc[np.sort(order[half:])], 0, tier_weights))
    return pd.concat(parts).sort_values(["shard", "row"]).reset_index(drop=True)


def single_manifest(samples: pd.DataFrame, tier_weights: dict[str, float]) -> pd.DataFrame:
    """Manifest of an unpaired source (one image per row, label given): rows as they are."""
    out = samples.copy()
    out["image_column"] = "image_npz"
    out["sample_id"] = out["galaxy_id"].astype(str)
    if "sample_weight" not in out:
        out["sample_weight"] = np.where(out["label"] == 1, out["tier"].map(tier_weights).fillna(1.0), 1.0)
    return out.sort_values(["shard", "row"]).reset_index(drop=True)


def build_manifests(shards: list[tuple[str, pd.DataFrame]], cfg: ManifestSettings, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(paired, unpaired) manifests from pair shards and a dataset's manifest settings."""
    pairs = pairs_table(shards)
    require_coordinates(pairs)
    pairs["split"] = assign_splits(pairs, cfg.split_by, cfg.splits, seed)
    if cfg.subsample is not None:
        pairs = subsample_hosts(pairs, cfg.subsample, seed)
    empty = [s for s in cfg.splits if cfg.splits[s] > 0 and not (pairs["split"] == s).any()]
    if empty:
        raise ManifestError(f"split(s) {empty} received no rows: field split (too few hosts or bricks for splits)")
    if "label" in pairs.columns:  # an unpaired source (cutouts): no pairs to make
        single = single_manifest(pairs, cfg.tier_weights)
        return single.iloc[0:0], single
    return paired_manifest(pairs, cfg.tier_weights), unpaired_manifest(pairs, cfg.tier_weights, seed)
