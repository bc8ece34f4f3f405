"""Settings of one preprocessing mode (`preprocessing.<mode>`), parsed once at the stage boundary."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PreprocessSettings:
    """How a stamp is normalised (docs/science.md section 5).

    mode: ``raw_robust`` (per band (x - median) / MAD of the annulus) or
    ``residual_radial_profile`` (also subtracts the azimuthal median profile);
    annulus: (inner, outer) radius of the normalisation annulus (pixels);
    clip: |value| limit in normalised units, or None; stretch: ``none`` or ``asinh``.
    """

    mode: str
    annulus: tuple[float, float]
    clip: float | None = 10
    stretch: str = "none"
