"""Manifests: one row per training sample, pointing at its shard and row (docs/science.md section 4).

Two variants from the same pair shards (an unpaired source such as cutouts,
with one labelled image per row, gives only the second, its rows as they are):
* ``paired``: the stamp (label 1) and the ctrl (label 0) of every host;
* ``unpaired``: host-disjoint; within each split half of the hosts give their
  stamp and the other half their ctrl, so labels stay balanced and no host
  appears twice.
A host is a sky position (`stronglens.data.hosts`): rows within the match
radius share one ``host_id``. Splits are re-derived here from a hash of
spatial units (bricks, HEALPix cells and hosts joined into connected
components, `spatial_units`), so bricks, cells and hosts are all disjoint
between splits, whatever the input said. An optional stratified subsample
keeps the label balance and the theta_E, PSF and depth bin distributions; it
samples hosts, so pairs and hosts stay whole. Errors name the user's file and
row (`stronglens.storage.shards.row_labels`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stronglens.core.rng import generator, unit_hash
from stronglens.data.hosts import HostError, assign_hosts
from stronglens.data.settings import ManifestSettings
from stronglens.storage.shards import row_labels

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
    _require_unique(table, "pair_id")
    return table


def _require_unique(table: pd.DataFrame, column: str) -> None:
    dup = table[table[column].duplicated(keep=False)]
    if len(dup):
        where = ", ".join(row_labels(dup.head(4)))
        raise ManifestError(f"duplicate {column} {dup[column].iloc[0]!r} in {len(dup)} rows ({where}): field {column}")


def _where(table: pd.DataFrame, i: int) -> str:
    return row_labels(table.iloc[[i]])[0]


def require_coordinates(table: pd.DataFrame) -> None:
    """Missing coordinates are an error, never a NaN split key."""
    for column in ("ra", "dec", "brickname", "healpix_128"):
        bad = np.flatnonzero(table[column].isna().to_numpy())
        if len(bad):
            raise ManifestError(f"{_where(table, int(bad[0]))}: field {column} is missing ({len(bad)} rows in all)")


def with_sky_hosts(table: pd.DataFrame, radius_arcsec: float) -> pd.DataFrame:
    """`table` with ``host_id`` from the sky (`stronglens.data.hosts.assign_hosts`); contradicting ids stop it."""
    try:
        hosts = assign_hosts(table, radius_arcsec, lambda i: _where(table, i))
    except HostError as err:
        raise ManifestError(str(err)) from err
    return table.assign(host_id=hosts)


def spatial_units(table: pd.DataFrame, split_by: str) -> pd.Series:
    """Connected components of the brick - HEALPix - host graph, named by their first `split_by` key.

    A HEALPix-128 cell (~0.46 deg) and a brick (~0.25 deg) do not nest, so
    splitting by either alone lets the other straddle splits; and one host's
    rows can sit either side of a brick edge. Rows linked by a shared brick,
    cell or host fall in one unit, so all three come out disjoint.
    """
    brick = pd.factorize(table["brickname"].astype(str))[0]
    cell = pd.factorize(table["healpix_128"].astype("int64"))[0]
    host = pd.factorize(table["host_id"].astype(str))[0]
    comp = pd.Series(brick, index=table.index)
    while True:
        by_cell = comp.groupby(cell).transform("min")
        by_host = by_cell.groupby(host).transform("min")
        new = by_host.groupby(brick).transform("min")
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
        bad = np.flatnonzero(table[column].isna().to_numpy())
        if len(bad):
            raise ManifestError(f"{_where(table, int(bad[0]))}: field {column} is missing, so the row has no stratum")
    te = pd.cut(table["theta_e_arcsec"], THETA_E_BINS, include_lowest=True).astype(str)
    te = te.where(table["theta_e_arcsec"].notna(), "no-lens")  # negatives of unpaired sources
    psf = pd.cut(table["psfsize_r"], PSF_BINS).astype(str)
    depth = pd.qcut(table["psfdepth_r"].rank(method="first"), DEPTH_QUANTILES, labels=False).astype(str)
    return te + "|" + psf + "|" + depth


def subsample_hosts(table: pd.DataFrame, fraction: float, seed: int) -> pd.DataFrame:
    """Keep `fraction` of the hosts of every (split, stratum), at least one per non-empty stratum; a host's
    stratum is its first row's, and a kept host keeps all its rows."""
    rng = generator(seed, "manifest:subsample")
    first = table.assign(stratum=strata(table)).drop_duplicates("host_id")
    keep = []
    for _, group in first.groupby(["split", "stratum"], sort=True):
        n = max(1, int(round(fraction * len(group))))
        keep.append(group["host_id"].iloc[np.sort(rng.choice(len(group), size=n, replace=False))])
    kept = table[table["host_id"].isin(pd.concat(keep))]
    return kept.sort_values(["shard", "row"]).reset_index(drop=True)


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
    """Host-disjoint, label-balanced by host within each split: half of the hosts give the stamps of all their
    pairs, the other half their ctrls (one sample per pair either way), so no galaxy appears with both labels."""
    rng = generator(seed, "manifest:unpaired")
    parts = []
    for _, group in pairs.groupby("split", sort=True):
        hosts = pd.unique(group["host_id"])
        order = rng.permutation(len(hosts))
        half = len(hosts) // 2
        stamp_hosts = set(hosts[np.sort(order[:half])])
        gives_stamp = group["host_id"].isin(stamp_hosts).to_numpy()
        parts.append(_samples(group[gives_stamp], 1, tier_weights))
        parts.append(_samples(group[~gives_stamp], 0, tier_weights))
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
    pairs = with_sky_hosts(pairs, cfg.host_match_arcsec)
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
