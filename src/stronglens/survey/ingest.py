"""Real data in the seeds' paired parquet schema -> pair shards the workflow reads.

A user's shard holds one row per pair with NPZ blobs ``stamp_npz`` and
``ctrl_stamp_npz`` (one 2-D array per band, keys image_g/_r/_z) and metadata.
Required: the blobs, ``ra``, ``dec``, ``theta_e_arcsec``, ``psfsize_r``,
``psfdepth_r``. Filled in when absent (and said so in the log): ``brickname``
from (ra, dec); ``pair_id`` from the file stem and row; ``tier`` "A", ``pool``
"N1", ``confuser_category`` "none", ``arc_snr`` NaN. ``healpix_128`` is always
computed from (ra, dec) (nested, NSIDE 128); a given value that disagrees with
its own cell stops ingest, naming the rows. ``host_id`` is left empty when not
given: the manifest makes hosts from sky positions (`stronglens.data.hosts`).
Every row records ``source_file`` and ``source_row``, so every later error
names the user's file and row. Missing coordinates are not filled: the
manifest stage stops on them, naming the row. Blobs are copied as they are and
decoded (and checked) by the checks and preprocessing stages.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from stronglens.survey.sky import brick_names, healpix_nested

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


HEALPIX_NSIDE = 128
MAX_LISTED_ROWS = 5


def sky_cells(df: pd.DataFrame, path: Path, row0: int = 0) -> tuple[pd.DataFrame, list[str]]:
    """`df` with ``healpix_128`` computed from (ra, dec) and ``brickname`` filled where absent; notes.

    A given ``healpix_128`` that disagrees with its own row's cell is an IngestError naming the rows
    (row numbers start at `row0`), the given and the computed cells: the cells drive the splits.
    """
    notes = []
    has = (df["ra"].notna() & df["dec"].notna()).to_numpy()
    cells = np.full(len(df), np.nan)
    cells[has] = healpix_nested(df.loc[has, "ra"].to_numpy(float), df.loc[has, "dec"].to_numpy(float), HEALPIX_NSIDE)
    if "healpix_128" in df:
        given = pd.to_numeric(df["healpix_128"], errors="coerce").to_numpy(float)
        bad = np.flatnonzero(has & np.isfinite(given) & (given != cells) | has & ~np.isfinite(given) & df["healpix_128"].notna().to_numpy())
        if len(bad):
            listed = ", ".join(f"row {row0 + i}: given {df['healpix_128'].iat[i]!r}, (ra, dec) = ({df['ra'].iat[i]:.6f}, "
                               f"{df['dec'].iat[i]:.6f}) is in cell {int(cells[i])}" for i in bad[:MAX_LISTED_ROWS])
            raise IngestError(f"{path}: field healpix_128 disagrees with (ra, dec) in {len(bad)} of {len(df)} rows ({listed}); "
                              f"the workflow uses nested NSIDE {HEALPIX_NSIDE}: fix the column or drop it to have it computed")
        notes.append("healpix_128 (nested) checked against (ra, dec)")
    else:
        notes.append("healpix_128 (nested) computed from (ra, dec)")
    df["healpix_128"] = cells
    if "brickname" not in df:
        df["brickname"] = pd.Series(pd.NA, index=df.index, dtype=object)
        df.loc[has, "brickname"] = brick_names(df.loc[has, "ra"], df.loc[has, "dec"])
        notes.append("brickname computed from (ra, dec)")
    return df, notes


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
    df, cell_notes = sky_cells(df, path)
    notes += cell_notes
    if "pair_id" not in df:
        df["pair_id"] = [f"{path.stem}:{i}" for i in range(len(df))]
        notes.append("pair_id made from file stem and row")
    if "host_id" not in df:
        df["host_id"] = pd.Series(pd.NA, index=df.index, dtype=object)
        notes.append("host_id left to the manifest: rows at one sky position are one host")
    df["source_file"] = str(path)
    df["source_row"] = np.arange(len(df), dtype=np.int64)
    for col, value in DEFAULTS.items():
        if col not in df:
            df[col] = value
            notes.append(f"{col} set to {value!r} for every row")
    return df, notes


# --- source: cutouts -----------------------------------------------------------

CUTOUT_REQUIRED = ("galaxy_id", "cutout_path", "ra", "dec", "label", "psfsize_r", "psfdepth_r")


def read_catalog(path: str | Path) -> pd.DataFrame:
    """A cutout catalog (CSV or parquet) with the manifest columns; missing columns are named."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    cat = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    missing = [c for c in CUTOUT_REQUIRED if c not in cat.columns]
    if missing:
        raise IngestError(f"{path}: missing column(s) {missing}: field {missing[0]}")
    bad = ~cat["label"].isin([0, 1])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise IngestError(f"{path} row {i}: field label = {cat['label'].iloc[i]!r} (must be 0 or 1)")
    dup = cat["galaxy_id"].duplicated(keep=False)
    if dup.any():
        rows = np.flatnonzero(dup.to_numpy())[:4].tolist()
        raise IngestError(f"{path} rows {rows}: field galaxy_id {cat['galaxy_id'].iloc[rows[0]]!r} is duplicated")
    return cat


LAYOUTS = ("hwc", "chw")


def _as_bands_first(img: np.ndarray, layout: str, path: Path, where: str, stamp_size: int) -> np.ndarray:
    """`img` in the declared `layout` (``hwc``: (H, W, 3); ``chw``: (3, H, W)) -> (3, H, W); any other shape
    (band axis elsewhere, not square, smaller than the stamp) is an IngestError: the layout is never guessed."""
    if layout not in LAYOUTS:
        raise IngestError(f"{where}: layout {layout!r} is not one of {LAYOUTS}")
    band_axis = -1 if layout == "hwc" else 0
    plane = img.shape[:-1] if layout == "hwc" else img.shape[1:]
    if img.ndim != 3 or img.shape[band_axis] != 3 or plane[0] != plane[1] or plane[0] < stamp_size:
        need = "(H, W, 3)" if layout == "hwc" else "(3, H, W)"
        raise IngestError(f"{where}: field cutout_path: {path} has shape {img.shape}; layout {layout} needs {need} with "
                          f"H = W >= {stamp_size} (set the dataset's layout to the files' axis order)")
    return np.moveaxis(img, -1, 0) if layout == "hwc" else img


def load_cutout(path: Path, stamp_size: int, where: str, layout: str = "hwc") -> np.ndarray:
    """One cutout as a (3, stamp, stamp) float32 array in g, r, z, cropped about pixel npix // 2.

    `.npz`: key ``cutout`` (the seeds' format), loaded without pickle. `.fits` / `.fits.gz` / `.fit`: the
    primary HDU via astropy (numpy axis order: a cube with NAXIS3 = 3 reads as (3, H, W), layout chw).
    The array must have the declared `layout` (`_as_bands_first`).
    """
    if not path.is_file():
        raise IngestError(f"{where}: field cutout_path: {path} does not exist")
    name = path.name.lower()
    try:
        if name.endswith(".npz"):
            with np.load(path, allow_pickle=False) as npz:
                if "cutout" not in npz.files:
                    raise IngestError(f"{where}: field cutout_path: {path} has no key 'cutout' (has {npz.files})")
                img = np.asarray(npz["cutout"], dtype=np.float32)
        elif name.endswith((".fits", ".fits.gz", ".fit")):
            from astropy.io import fits

            with fits.open(path) as hdul:
                img = np.asarray(hdul[0].data, dtype=np.float32)
        else:
            raise IngestError(f"{where}: field cutout_path: {path} is neither .npz nor FITS")
    except IngestError:
        raise
    except Exception as exc:
        raise IngestError(f"{where}: field cutout_path: cannot read {path}: {type(exc).__name__}: {exc}") from exc
    img = _as_bands_first(img, layout, path, where, stamp_size)
    if not np.isfinite(img).all():
        raise IngestError(f"{where}: field cutout_path: {path} has {int((~np.isfinite(img)).sum())} NaN/Inf pixels")
    lo = img.shape[1] // 2 - stamp_size // 2
    return np.ascontiguousarray(img[:, lo : lo + stamp_size, lo : lo + stamp_size])


def ingest_cutouts(catalog_path: str | Path, rows: range, root: str | None, stamp_size: int,
                   layout: str = "hwc") -> pd.DataFrame:
    """Rows `rows` of a cutout catalog as a shard: one sample per row, blob in ``image_npz``; every cutout in
    the declared `layout` (``hwc`` or ``chw``). ``host_id`` is the catalog's if it has one, else left to the
    manifest (sky positions); ``healpix_128`` as in `sky_cells`."""
    from stronglens.storage.blobs import encode_bands

    catalog_path = Path(catalog_path).expanduser()
    cat = read_catalog(catalog_path).iloc[rows.start : rows.stop].copy()
    base = Path(root).expanduser() if root else catalog_path.parent
    cat["image_npz"] = [
        encode_bands(load_cutout(base / str(p), stamp_size, f"{catalog_path} row {i}", layout))
        for i, p in zip(range(rows.start, rows.stop), cat["cutout_path"])
    ]
    cat["pair_id"] = cat["galaxy_id"].astype(str)
    if "host_id" not in cat:
        cat["host_id"] = pd.Series(pd.NA, index=cat.index, dtype=object)
    cat, _ = sky_cells(cat.reset_index(drop=True), catalog_path, rows.start)
    if "theta_e_arcsec" not in cat:
        cat["theta_e_arcsec"] = np.nan
    for col, value in DEFAULTS.items():
        if col not in cat:
            cat[col] = value
    cat["source_file"] = str(catalog_path)
    cat["source_row"] = np.arange(rows.start, rows.stop, dtype=np.int64)
    return cat.reset_index(drop=True)
