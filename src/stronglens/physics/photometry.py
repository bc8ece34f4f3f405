"""Magnitudes, nanomaggies, depths and per-pixel sky noise (docs/science.md section 2).

Units: fluxes in nanomaggies (AB zeropoint 22.5); ``psfdepth`` is the inverse
variance of the PSF-flux estimator in 1/nmgy^2; NEA is the PSF noise-equivalent
area in pixels (4 pi sigma_psf^2 for a Gaussian).
"""

from __future__ import annotations

import math

import numpy as np

from stronglens.core.constants import ZEROPOINT_AB


def mag_to_nmgy(mag):
    """AB magnitude -> flux in nanomaggies."""
    return 10.0 ** (0.4 * (ZEROPOINT_AB - np.asarray(mag, dtype=float)))


def nmgy_to_mag(flux):
    """Flux in nanomaggies -> AB magnitude (flux must be > 0)."""
    return ZEROPOINT_AB - 2.5 * np.log10(np.asarray(flux, dtype=float))


def psfdepth_to_m5(psfdepth):
    """5-sigma PSF depth (AB mag) from psfdepth (1/nmgy^2)."""
    return ZEROPOINT_AB - 2.5 * np.log10(5.0 / np.sqrt(np.asarray(psfdepth, dtype=float)))


def m5_to_psfdepth(m5):
    """psfdepth (1/nmgy^2) from a 5-sigma PSF depth (AB mag)."""
    sigma_flux = 10.0 ** (0.4 * (ZEROPOINT_AB - np.asarray(m5, dtype=float))) / 5.0
    return 1.0 / sigma_flux**2


def gaussian_nea_pix(fwhm_arcsec, pixscale: float):
    """Noise-equivalent area (pixels) of a Gaussian PSF: 4 pi sigma^2."""
    sigma_px = np.asarray(fwhm_arcsec, dtype=float) / (2.0 * math.sqrt(2.0 * math.log(2.0))) / pixscale
    return 4.0 * math.pi * sigma_px**2


def sky_sigma_pix(psfdepth, fwhm_arcsec, pixscale: float):
    """Per-pixel sky sigma (nmgy) implied by psfdepth for a Gaussian PSF."""
    return 1.0 / np.sqrt(np.asarray(psfdepth, dtype=float) * gaussian_nea_pix(fwhm_arcsec, pixscale))
