"""Settings of the real-galaxy source library (docs/science.md section 11), parsed at the stage boundary."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceLibrarySettings:
    """How the deep-field image becomes a library.

    display_gamma: the power that undoes the 8-bit display stretch (linear = (value / 255) ** gamma);
    pixscale_arcsec: the image's pixel scale (arcsec/pixel, about 2.3' over 1000 pixels);
    background_box: Background2D box (pixels); kernel_fwhm: detection smoothing (pixels);
    detect_nsigma: detection threshold in background-rms units; min_pixels: smallest connected source
    (pixels); deblend_levels, deblend_contrast: photutils deblending; stamp_size: library stamp side
    (pixels); dilate_pix: how far a galaxy's mask grows beyond its segment (pixels); min_r_half_pix /
    max_r_half_pix: the measured half-light radii kept (pixels); sky_fraction: share of galaxies in the
    ``sky`` subset (the rest are ``injection``), assigned by a hash of (seed, galaxy id).
    """

    display_gamma: float = 2.2
    pixscale_arcsec: float = 0.138
    background_box: int = 64
    kernel_fwhm: float = 2.0
    detect_nsigma: float = 1.5
    min_pixels: int = 20
    deblend_levels: int = 32
    deblend_contrast: float = 0.005
    stamp_size: int = 64
    dilate_pix: int = 3
    min_r_half_pix: float = 2.5
    max_r_half_pix: float = 12.0
    sky_fraction: float = 0.5
