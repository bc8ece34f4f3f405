"""Preprocessing of (B, C, H, W) stamps (docs/science.md section 5), batched in torch.

* ``raw_robust``: per image and band, subtract the median of an outer annulus
  and divide by its MAD (median absolute deviation, unscaled, as in the seeds).
* ``residual_radial_profile``: the same, then subtract the azimuthal median
  profile (per band, per integer radius in pixels from the object centre).
Then an optional ``asinh`` stretch and a clip to [-clip, clip] (clip None = off).
Radii are measured from pixel ``npix // 2`` (`stronglens.physics.pixels`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from stronglens.data.medians import annulus_median_mad, ring_image, ring_medians
from stronglens.physics.pixels import central_square

if TYPE_CHECKING:
    from stronglens.data.settings import PreprocessSettings


class PreprocessError(ValueError):
    """An image that cannot be normalised (e.g. a flat annulus with MAD = 0)."""


def annulus_stats(x: torch.Tensor, annulus: tuple[float, float]) -> tuple[torch.Tensor, torch.Tensor]:
    """Median and MAD (B, C) of pixels with inner <= r < outer (pixels)."""
    return annulus_median_mad(x, annulus)


def radial_median_profile(x: torch.Tensor) -> torch.Tensor:
    """Image (B, C, H, W) of the azimuthal median at each pixel's integer radius."""
    return ring_image(ring_medians(x), x.shape[-1])


def preprocess_with(x: torch.Tensor, pp: PreprocessSettings, labels: list[str] | None = None) -> torch.Tensor:
    """`preprocess` with one mode's settings (`stronglens.data.settings.PreprocessSettings`)."""
    return preprocess(x, pp.mode, pp.annulus, pp.clip, pp.stretch, labels)


def preprocess(x: torch.Tensor, mode: str, annulus: tuple[float, float], clip: float | None, stretch: str,
               labels: list[str] | None = None) -> torch.Tensor:
    """Normalise a batch; `labels` name the images in errors (e.g. 'part-0.parquet row 3')."""
    y = robust_normalise(x, annulus, labels)
    check_mode(mode)
    if mode == "residual_radial_profile":
        y -= radial_median_profile(y)
    return stretch_and_clip(y, stretch, clip)


def preprocess_and_rings(x: torch.Tensor, pp: PreprocessSettings,
                         labels: list[str] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(`preprocess_with` output, (B, C, npix // 2 + 1) ring medians of the normalised image before any profile
    subtraction, stretch or clip).

    The rings are what residual_radial_profile subtracts, so the radial data
    gate can still read an isotropic difference that the model input no
    longer shows (docs/gates.md, "The radial gate under residual preprocessing").
    """
    y = robust_normalise(x, annulus=pp.annulus, labels=labels)
    check_mode(pp.mode)
    r_max = x.shape[-1] // 2
    if pp.mode == "residual_radial_profile":
        full = ring_medians(y)
        y -= ring_image(full, x.shape[-1])
        rings = full[..., : r_max + 1]
    else:
        rings = ring_medians(y, r_max)
    return stretch_and_clip(y, pp.stretch, pp.clip), rings


MODES = ("raw_robust", "residual_radial_profile")


def check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"unknown preprocessing mode {mode!r} (known: {', '.join(MODES)})")


def robust_normalise(x: torch.Tensor, annulus: tuple[float, float], labels: list[str] | None = None) -> torch.Tensor:
    """(x - annulus median) / annulus MAD per image and band.

    PreprocessError naming the image and band if a pixel is NaN/Inf or a MAD is 0.
    """
    if not bool(torch.isfinite(x.sum((-2, -1))).all()):  # one fast reduction shows NaN/Inf (or, rarely, overflow)
        bad = ~torch.isfinite(x).flatten(2).all(-1)
        if bool(bad.any()):
            b, c = first_true(bad)
            raise PreprocessError(f"{image_name(labels, b)}: band {c} has {int((~torch.isfinite(x[b, c])).sum())} "
                                  "NaN/Inf pixels")
    med, mad = annulus_stats(x, annulus)
    flat = mad <= 0
    if bool(flat.any()):
        b, c = first_true(flat)
        raise PreprocessError(f"{image_name(labels, b)}: band {c} has MAD = 0 in annulus {list(annulus)} px "
                              "(flat or empty sky)")
    y = x - med[..., None, None]
    return y.div_(mad[..., None, None])


def first_true(mask: torch.Tensor) -> tuple[int, int]:
    """(image, band) of the first True of a (B, C) mask."""
    b, c = (int(v) for v in mask.nonzero()[0])
    return b, c


def image_name(labels: list[str] | None, b: int) -> str:
    """How errors name image `b` of a batch: its label (the user's file, row and field) or its index."""
    return labels[b] if labels else f"image {b}"


def stretch_and_clip(y: torch.Tensor, stretch: str, clip: float | None) -> torch.Tensor:
    """The optional asinh stretch, then the clip to [-clip, clip] (None = off); `y` is overwritten."""
    if stretch == "asinh":
        y = torch.asinh_(y)
    return y if clip is None else y.clamp_(-clip, clip)


def saturated_core_fraction(y: torch.Tensor, clip: float | None, core: int = 10) -> float:
    """Fraction of the central core x core pixels sitting at the clip value."""
    if clip is None:
        return 0.0
    return float((central_square(y, core).abs() >= clip).double().mean())
