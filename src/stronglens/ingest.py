"""Real data in the seeds' paired parquet schema -> pair shards the workflow reads.

A user's shard holds one row per pair with NPZ blobs ``stamp_npz`` and
``ctrl_stamp_npz`` (one 2-D array per band, keys image_g/_r/_z) and metadata.
Required: the blobs, ``ra``, ``dec``, ``theta_e_arcsec``, ``psfsize_r``,
``psfdepth_r``. Filled in when absent (and said so in the log): ``brickname``
and ``healpix_128`` from (ra, dec); ``pair_id``/``host_id`` from the file stem
and row; ``tier`` "A", ``pool`` "N1", ``confuser_category`` "none", ``arc_snr``
NaN. Every row records ``source_file`` and ``source_row``, so a check that
names an ingested row leads back to the user's file. Missing coordinates are not filled: the manifest stage stops on them,
naming the row. Blobs are copied as they are and decoded (and checked) by the
checks and preprocessing stages.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from stronglens.sky import brick_names, healpix_nested

REQUIRED = ("stamp_npz", "ctrl_stamp_npz", "ra", "dec", "theta_e_arcsec", "psfsize_r", "psfdepth_r")
DEFAULTS = {"tier": "A", "pool": "N1", "confuser_category": "none", "arc_snr": np.nan}


class IngestError(ValueError):
    """An input shard that does not meet the paired schema; the message names file, row and field."""


POSITIVE = ("theta_e_arcsec", "psfsize_r", "psfdepth_r")


def _check_values(df: pd.DataFrame, path: Path) -> None:
    """Required quantities must be finite and positive; coordinates in range where given."""
    for col in POSITIVE:
        values = pd.to_numeric(df[col], errors="coerce")
        bad = ~(values > 0)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise IngestError(f"{path} row {i}: field {col} = {df[col].iloc[i]!r} (must be a positive number)")
    for col, lo, hi in (("ra", 0.0, 360.0), ("dec", -90.0, 90.0)):
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.notna() & ((values < lo) | (values > hi))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise IngestError(f"{path} row {i}: field {col} = {df[col].iloc[i]!r} outside [{lo}, {hi}]")


def ingest_paired_parquet(path: str | Path) -> tuple[pd.DataFrame, list[str]]:
    """Read one user shard; return it in the workflow's pair-shard form and notes on what was filled."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    names = pq.read_schema(path).names
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise IngestError(f"{path}: missing column(s) {missing}: field {missing[0]}")
    df = pd.read_parquet(path)
    if df.empty:
        raise IngestError(f"{path}: no rows")
    notes = []
    for col in ("stamp_npz", "ctrl_stamp_npz"):
        bad = df[col].map(lambda b: not isinstance(b, (bytes, bytearray)) or len(b) == 0)
        if bad.any():
            raise IngestError(f"{path} row {int(np.flatnonzero(bad)[0])}: field {col} is empty or not a binary blob")
    _check_values(df, path)
    has_coords = df["ra"].notna() & df["dec"].notna()
    if "brickname" not in df:
        df["brickname"] = pd.Series(pd.NA, index=df.index, dtype=object)
        df.loc[has_coords, "brickname"] = brick_names(df.loc[has_coords, "ra"], df.loc[has_coords, "dec"])
        notes.append("brickname computed from (ra, dec)")
    if "healpix_128" not in df:
        df["healpix_128"] = np.nan
        df.loc[has_coords, "healpix_128"] = healpix_nested(df.loc[has_coords, "ra"], df.loc[has_coords, "dec"], 128)
        notes.append("healpix_128 (nested) computed from (ra, dec)")
    for col in ("pair_id", "host_id"):
        if col not in df:
            df[col] = [f"{path.stem}:{i}" for i in range(len(df))]
            notes.append(f"{col} made from file stem and row")
    df["source_file"] = str(path)
    df["source_row"] = np.arange(len(df), dtype=np.int64)
    for col, value in DEFAULTS.items():
        if col not in df:
            df[col] = value
            notes.append(f"{col} set to {value!r} for every row")
    return df, notes
