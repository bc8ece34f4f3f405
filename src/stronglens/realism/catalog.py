"""The lens catalog a run is audited on: one split of a sky or cutouts dataset, pixels and all.

A catalog is a dataset's unpaired manifest (rows pointing at shard and row)
restricted to one split: its positives are the lenses, each with a `tier`
("A" confirmed-like, "B" visual grade), its negatives the hosts and the
false-positive reference. Images are the raw stamps (nmgy, (3, H, W) per
row), decoded from their NPZ blobs; any defect stops the stage naming the
shard, row and field. Nothing is imputed: a lens without a known theta_E
keeps NaN there and is left out of the theta_E bins only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from stronglens.core.rng import generator
from stronglens.storage.blobs import BlobError, decode_bands

TIERS = ("A", "B")
NEED = ("shard", "row", "image_column", "label", "split", "tier", "psfsize_r", "psfdepth_r")


class CatalogError(ValueError):
    """A lens catalog that cannot be audited; the message names the file, row and field."""


@dataclass
class Catalog:
    """rows: the scored rows (lenses first, then negatives); images: (N, 3, H, W) float64 nmgy; source: manifest."""

    rows: pd.DataFrame
    images: np.ndarray
    source: str

    @property
    def lenses(self) -> np.ndarray:
        return np.flatnonzero(self.rows["label"].to_numpy() == 1)

    @property
    def negatives(self) -> np.ndarray:
        return np.flatnonzero(self.rows["label"].to_numpy() == 0)


def check_rows(manifest: pd.DataFrame, path: str, split: str) -> pd.DataFrame:
    """The split's rows, checked: the needed fields exist, there are lenses and negatives, tiers are A or B."""
    missing = [c for c in NEED if c not in manifest.columns]
    if missing:
        raise CatalogError(f"{path}: lens catalog lacks field {missing[0]!r} (needs {', '.join(NEED)})")
    rows = manifest[manifest["split"] == split]
    pos = rows[rows["label"] == 1]
    if pos.empty:
        raise CatalogError(f"{path}: no positives (field label = 1) in split {split!r}: a lens catalog needs lenses")
    if (rows["label"] == 0).sum() == 0:
        raise CatalogError(f"{path}: no negatives (field label = 0) in split {split!r}: FPR thresholds need them")
    bad = pos[~pos["tier"].isin(TIERS)]
    if len(bad):
        r = bad.iloc[0]
        raise CatalogError(f"{r['shard']} row {int(r['row'])}: field tier is {r['tier']!r}; a lens's tier must be one "
                           f"of {', '.join(TIERS)} ({len(bad)} such lenses, catalog {path})")
    return rows


def read_images(rows: pd.DataFrame, npix: int) -> np.ndarray:
    """(N, 3, npix, npix) float64 images of manifest rows, one shard read per file; defects name shard, row, field."""
    out = np.empty((len(rows), 3, npix, npix))
    for (shard, column), group in rows.groupby(["shard", "image_column"], sort=False):
        try:
            blobs = pq.read_table(shard, columns=[column]).column(0)
        except (OSError, KeyError) as err:
            raise CatalogError(f"{shard}: cannot read field {column} ({err})") from err
        for pos, r in zip(np.flatnonzero(rows.index.isin(group.index)), group.itertuples()):
            where = f"{shard} row {int(r.row)} field {column}"
            try:
                img = decode_bands(blobs[int(r.row)].as_py(), where=where)
            except (BlobError, IndexError) as err:
                raise CatalogError(f"{where}: cannot be decoded ({err})") from err
            if img.shape != (3, npix, npix):
                raise CatalogError(f"{where}: shape {img.shape}, expected {(3, npix, npix)}")
            if not np.isfinite(img).all():
                raise CatalogError(f"{where}: {int((~np.isfinite(img)).sum())} NaN/Inf pixels")
            out[pos] = img
    return out


def load_catalog(manifest_path: str, split: str, npix: int, max_negatives: int, seed: int) -> Catalog:
    """The catalog's lenses of `split` and at most `max_negatives` of its negatives (a seeded choice)."""
    rows = check_rows(pd.read_parquet(manifest_path), manifest_path, split)
    pos, neg = rows[rows["label"] == 1], rows[rows["label"] == 0]
    if len(neg) > max_negatives:
        keep = np.sort(generator(seed, "realism:negatives").choice(len(neg), max_negatives, replace=False))
        neg = neg.iloc[keep]
    chosen = pd.concat([pos, neg]).reset_index(drop=True)
    if "theta_e_arcsec" not in chosen.columns:
        chosen["theta_e_arcsec"] = np.nan
    if "arc_snr" not in chosen.columns:
        chosen["arc_snr"] = np.nan
    return Catalog(chosen, read_images(chosen, npix), manifest_path)
