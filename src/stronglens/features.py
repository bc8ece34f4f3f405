"""Hand-made features for the shortcut gates, from (N, C, H, W) model inputs.

* core: the central 10 x 10 pixels of every band;
* radial: the azimuthal median profile per band and integer radius;
* annulus: the pixels of the arc annulus (inner <= r < outer pixels), every band.
Radii are measured from pixel ``npix // 2``.
"""

from __future__ import annotations

import numpy as np

from stronglens.grid import radius_map_pix


def core_features(x: np.ndarray, core: int = 10) -> np.ndarray:
    n = x.shape[-1]
    lo = n // 2 - core // 2
    return x[..., lo : lo + core, lo : lo + core].reshape(len(x), -1)


def radial_features(x: np.ndarray) -> np.ndarray:
    """Azimuthal median per band and integer radius 0..npix//2 (batched over images, looped over radii).

    The median, not the mean: the radial gate is an alarm for isotropic
    differences (a brighter core, a changed light profile) and should not fire
    on an arc, which covers a small part of its ring; arcs are the annulus
    gate's business. After residual_radial_profile this profile is ~0 by
    construction, as it should be.
    """
    n = x.shape[-1]
    r = radius_map_pix(n).round().long().numpy()
    flat = x.reshape(x.shape[0], x.shape[1], -1)
    rr = r.reshape(-1)
    prof = np.stack([np.median(flat[..., rr == k], axis=-1) for k in range(n // 2 + 1)], axis=-1)  # (N, C, R)
    return prof.reshape(len(x), -1)


def annulus_features(x: np.ndarray, annulus: tuple[float, float]) -> np.ndarray:
    r = radius_map_pix(x.shape[-1]).numpy()
    mask = (r >= annulus[0]) & (r < annulus[1])
    return x[..., mask].reshape(len(x), -1)
