"""Settings of one preprocessing mode (`preprocessing.<mode>`), parsed once at the stage boundary."""

from __future__ import annotations

from collections.abc import Mapping
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


@dataclass(frozen=True)
class ManifestSettings:
    """How a dataset's pairs become manifests (docs/science.md section 4).

    split_by: ``brick`` or ``healpix`` (the spatial unit a split is drawn per);
    splits: split name -> fraction (sum 1); subsample: fraction of hosts kept,
    or None for all; tier_weights: tier -> sample weight (unitless);
    host_match_arcsec: rows closer than this on the sky (arcsec) are one host (`stronglens.data.hosts`).
    """

    split_by: str
    splits: Mapping[str, float]
    subsample: float | None
    tier_weights: Mapping[str, float]
    host_match_arcsec: float = 0.5
