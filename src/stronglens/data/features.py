"""Hand-made features for the shortcut gates, from (N, C, H, W) model inputs.

* core: the central 10 x 10 pixels of every band;
* radial: the azimuthal median profile per band and integer radius;
* annulus: the pixels of the arc annulus (inner <= r < outer pixels), every band.
Radii are measured from pixel ``npix // 2``.
"""

from __future__ import annotations

import numpy as np
import torch

from stronglens.data.normalise import ring_medians
from stronglens.physics.pixels import annulus_mask, central_square


def core_features(x: np.ndarray, core: int = 10) -> np.ndarray:
    return central_square(x, core).reshape(len(x), -1)


def radial_features(x: np.ndarray) -> np.ndarray:
    """Azimuthal median per band and integer radius 0..npix//2.

    The median, not the mean: the radial gate is an alarm for isotropic
    differences (a brighter core, a changed light profile) and should not fire
    on an arc, which covers a small part of its ring; arcs are the annulus
    gate's business. After residual_radial_profile this profile is 0 by
    construction (same rings, same median), as it should be.
    """
    prof = ring_medians(torch.from_numpy(np.ascontiguousarray(x)), x.shape[-1] // 2)
    return prof.numpy().reshape(len(x), -1)


def annulus_features(x: np.ndarray, annulus: tuple[float, float]) -> np.ndarray:
    return x[..., annulus_mask(x.shape[-1], annulus).numpy()].reshape(len(x), -1)
