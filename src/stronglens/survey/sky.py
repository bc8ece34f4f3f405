"""Sky positions, a DR10-like brick grid and HEALPix indices.

Bricks: rows of 0.25 deg in declination; each row is cut into
round(360 cos(dec_centre) / 0.25) bricks of equal RA width; names follow the
Legacy Surveys pattern ``RRRR{p|m}DDD`` (RA and |Dec| of the brick centre in
units of 0.1 deg). This reproduces the shape of the official brick table (about
0.25 x 0.25 deg bricks, same naming), not its exact edges.
HEALPix: nested scheme, via astropy-healpix.
"""

from __future__ import annotations

import numpy as np

BRICK_SIZE_DEG = 0.25


def brick_names(ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
    """Brick name of every (ra, dec) in degrees."""
    ra = np.mod(np.asarray(ra_deg, dtype=float), 360.0)
    dec = np.asarray(dec_deg, dtype=float)
    row = np.clip(np.floor((dec + 90.0) / BRICK_SIZE_DEG), 0, 180.0 / BRICK_SIZE_DEG - 1)
    dec_c = -90.0 + (row + 0.5) * BRICK_SIZE_DEG
    n_ra = np.maximum(1, np.round(360.0 * np.cos(np.deg2rad(dec_c)) / BRICK_SIZE_DEG))
    width = 360.0 / n_ra
    ra_c = (np.floor(ra / width) + 0.5) * width
    sign = np.where(dec_c >= 0, "p", "m")
    ra_s = np.char.zfill(np.round(ra_c * 10).astype(int).astype(str), 4)
    dec_s = np.char.zfill(np.round(np.abs(dec_c) * 10).astype(int).astype(str), 3)
    return np.char.add(np.char.add(ra_s, sign), dec_s)


def healpix_nested(ra_deg: np.ndarray, dec_deg: np.ndarray, nside: int) -> np.ndarray:
    """Nested-scheme HEALPix pixel index of every (ra, dec) in degrees."""
    import astropy.units as u
    from astropy_healpix import HEALPix

    hp = HEALPix(nside=nside, order="nested")
    return np.asarray(hp.lonlat_to_healpix(np.asarray(ra_deg) * u.deg, np.asarray(dec_deg) * u.deg), dtype=np.int64)


def uniform_sphere_offsets(rng: np.random.Generator, ra0: float, dec0: float, radius_deg: float) -> tuple[float, float]:
    """A point drawn uniformly within radius_deg of (ra0, dec0) (small-angle), degrees."""
    r = radius_deg * np.sqrt(rng.uniform())
    ang = rng.uniform(0.0, 2.0 * np.pi)
    dec = float(np.clip(dec0 + r * np.sin(ang), -89.9, 89.9))
    ra = float(np.mod(ra0 + r * np.cos(ang) / np.cos(np.deg2rad(dec)), 360.0))
    return ra, dec
