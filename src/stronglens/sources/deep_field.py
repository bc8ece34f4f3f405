"""The embedded deep field: scikit-image's Hubble eXtreme Deep Field colour image, as linear flux per band.

``skimage.data.hubble_deep_field()`` is an (872, 1000, 3) uint8 RGB display
image of the 2012 XDF release (docs/science.md section 11; docs/sources.md
states its limits). It is a picture, not a measurement: an unknown display
stretch, 8 bits per channel, JPEG compression, no photometric zeropoint.
What it carries is real galaxy morphology. Two documented assumptions turn
it into something a source model can use:

* the stretch is a power law, undone by ``linear = (value / 255) ** gamma``
  (gamma 2.2, the sRGB-like display curve); this brightens cores against
  wings as the real light profile does, but cannot restore a clipped core;
* the channels are proxies for three bands, red -> z, green -> r, blue -> g,
  so blue star-forming clumps and red bulges differ between bands. Their
  absolute fluxes mean nothing; each library stamp is normalised per band.
"""

from __future__ import annotations

import numpy as np

BANDS_FROM_RGB = {"g": 2, "r": 1, "z": 0}  # band -> RGB channel of the display image


def deep_field_rgb() -> np.ndarray:
    """The display image as shipped, (872, 1000, 3) uint8 (rows, columns, RGB)."""
    from skimage import data

    img = np.asarray(data.hubble_deep_field())
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"skimage.data.hubble_deep_field(): expected an (H, W, 3) uint8 image, got {img.shape} {img.dtype}")
    return img


def linear_bands(rgb: np.ndarray, gamma: float) -> np.ndarray:
    """(3, H, W) float64 linear flux in g, r, z (arbitrary units) from a display RGB image: (v / 255) ** gamma."""
    if gamma <= 0:
        raise ValueError(f"display_gamma = {gamma}: must be positive")
    lin = (rgb.astype(np.float64) / 255.0) ** gamma
    return np.stack([lin[:, :, BANDS_FROM_RGB[b]] for b in "grz"])
