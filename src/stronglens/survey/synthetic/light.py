"""The light profile every drawn galaxy shares: grz magnitudes and an elliptical Sersic shape."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SersicLight:
    """grz AB magnitudes and an elliptical Sersic shape.

    r_e: half-light radius (arcsec, product average, see `stronglens.physics.sersic`);
    n: Sersic index; q: axis ratio; phi: position angle (radians from +x).
    """

    mag_g: float
    mag_r: float
    mag_z: float
    r_e: float
    n: float
    q: float
    phi: float
