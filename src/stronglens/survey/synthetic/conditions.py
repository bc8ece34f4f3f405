"""Observing conditions and sky positions of the synthetic survey (docs/science.md section 2).

* PSF FWHM in r: log-normal around 1.2" (sd 0.15 in ln), clipped to [0.8, 2.0]";
  g and z follow the Kolmogorov factors (1.05, 0.94).
* 5-sigma PSF depth is bimodal: a DECaLS-like regime (g 24.8, r 24.2, z 23.35)
  and a DES-like one (g 25.35, r 25.1, z 23.9), chosen by declination
  (DES-like south of ``des_like_dec_max``), with 0.2 mag scatter per band.
* Hosts sit in ``n_fields`` fields of radius ``field_radius_deg`` scattered
  uniformly on the sphere within the footprint, so several hosts share a brick
  and spatial splits have something to split.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stronglens.core.rng import generator
from stronglens.physics.photometry import m5_to_psfdepth
from stronglens.survey.settings import Footprint
from stronglens.survey.sky import uniform_sphere_offsets

M5_PEAKS = {"decals": (24.8, 24.2, 23.35), "des": (25.35, 25.1, 23.9)}
M5_SCATTER = 0.2
PSF_MEDIAN_ARCSEC = 1.2
PSF_LN_SD = 0.15
PSF_RANGE = (0.8, 2.0)


@dataclass
class Conditions:
    """Per-object observing conditions: PSF FWHM (arcsec) and psfdepth (1/nmgy^2) per band."""

    ra: float
    dec: float
    psfsize_r: float
    psfdepth: tuple[float, float, float]
    depth_regime: str
    ebv: float


def field_centres(seed: int, dataset: str, footprint: Footprint) -> np.ndarray:
    """(n_fields, 2) field centres (ra, dec) in degrees, uniform on the sphere in the footprint."""
    rng = generator(seed, f"fields:{dataset}")
    n = footprint.n_fields
    ra = rng.uniform(footprint.ra_min, footprint.ra_max, n)
    s_lo, s_hi = np.sin(np.deg2rad(footprint.dec_min)), np.sin(np.deg2rad(footprint.dec_max))
    dec = np.rad2deg(np.arcsin(rng.uniform(s_lo, s_hi, n)))
    return np.stack([ra, dec], axis=1)


def draw_conditions(rng: np.random.Generator, centres: np.ndarray, footprint: Footprint) -> Conditions:
    """Position in a random field and the observing conditions there."""
    ra0, dec0 = centres[int(rng.integers(0, len(centres)))]
    ra, dec = uniform_sphere_offsets(rng, float(ra0), float(dec0), footprint.field_radius_deg)
    psf = float(np.clip(PSF_MEDIAN_ARCSEC * np.exp(rng.normal(0.0, PSF_LN_SD)), *PSF_RANGE))
    regime = "des" if dec < footprint.des_like_dec_max else "decals"
    m5 = np.asarray(M5_PEAKS[regime]) + rng.normal(0.0, M5_SCATTER, 3)
    depth = tuple(float(v) for v in m5_to_psfdepth(m5))
    ebv = float(rng.gamma(2.0, 0.02))
    return Conditions(ra, dec, psf, depth, regime, ebv)
