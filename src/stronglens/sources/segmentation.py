"""Detect and deblend the galaxies of the deep field with photutils (the astropy-affiliated standard).

Background: a `Background2D` mesh (median estimator, sigma-clipped) per band,
subtracted. Detection runs on the band sum smoothed by a Gaussian kernel, at
``detect_nsigma`` times the summed background rms, with at least
``min_pixels`` connected pixels; `deblend_sources` splits blended galaxies
(multi-thresholding plus watershed). Everything is deterministic: no random
draws, so the same settings give the same segmentation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.convolution import convolve
from photutils.background import Background2D, MedianBackground
from photutils.segmentation import SegmentationImage, deblend_sources, detect_sources, make_2dgaussian_kernel

from stronglens.sources.settings import SourceLibrarySettings


@dataclass
class Segmentation:
    """Background-subtracted bands (3, H, W), the summed detection image and the deblended segment map."""

    bands: np.ndarray
    detection: np.ndarray
    segments: SegmentationImage
    n_detected: int


def subtract_background(bands: np.ndarray, box: int) -> tuple[np.ndarray, np.ndarray]:
    """(bands minus their Background2D mesh, per-band background rms), both (3, H, W)."""
    sub, rms = np.empty_like(bands), np.empty_like(bands)
    for i, band in enumerate(bands):
        bkg = Background2D(band, box, filter_size=(3, 3), bkg_estimator=MedianBackground())
        sub[i], rms[i] = band - bkg.background, bkg.background_rms
    return sub, rms


def segment_galaxies(bands: np.ndarray, s: SourceLibrarySettings) -> Segmentation:
    """Background-subtract, detect on the smoothed band sum, deblend; see the module docstring."""
    sub, rms = subtract_background(bands, s.background_box)
    detection = sub.sum(axis=0)
    kernel = make_2dgaussian_kernel(s.kernel_fwhm, size=2 * int(np.ceil(1.5 * s.kernel_fwhm)) + 1)
    smoothed = convolve(detection, kernel)
    threshold = s.detect_nsigma * np.sqrt((rms**2).sum(axis=0))
    found = detect_sources(smoothed, threshold, n_pixels=s.min_pixels)
    if found is None:
        raise ValueError(f"no source above {s.detect_nsigma} sigma with {s.min_pixels} pixels in the deep field")
    deblended = deblend_sources(smoothed, found, n_pixels=s.min_pixels, n_levels=s.deblend_levels,
                                contrast=s.deblend_contrast, progress_bar=False)
    return Segmentation(sub, detection, deblended, int(found.n_labels))
