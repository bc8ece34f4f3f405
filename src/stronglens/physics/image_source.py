"""A pixelised source: a real galaxy's stamp, interpolated in the source plane (docs/science.md section 11).

The galaxies live in one shared tensor ``stamps`` of shape (K, C, S, S):
K galaxies, C bands (g, r, z), S x S source pixels, each band normalised to
a total flux of 1 (the values are flux per source pixel). A system b of the
batch uses galaxy ``galaxy[b]``, laid on the source plane with

* its centroid (``cx``, ``cy`` in stamp pixels: column, row) at ``(x0, y0)``
  (arcsec, the same origin as the lens centre),
* ``pixscale`` arcsec per source pixel (which sets its size: the library's
  half-light radius in pixels times pixscale is the target half-light radius),
* its stamp's +x axis rotated by ``phi`` (radians, counter-clockwise).

Surface brightness is the bilinear interpolant of the stamp divided by the
source-pixel area, zero outside the stamp. The integral of a bilinear
interpolant equals the sum of its samples times the pixel area, so the
unlensed total flux of each band is exactly 1 (for a stamp whose edge
pixels are zero, as the tapered library stamps are). lenstronomy's
``INTERPOL`` profile with ``scale = pixscale`` is the same interpolant.

Every band has its own morphology, so `image_sb` returns (B, C, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from stronglens.physics.batched import BatchedTensors
from stronglens.physics.geometry import expand_like, to_major_axis_frame


@dataclass
class ImageSource(BatchedTensors):
    """Batched image sources; (B,) fields plus the shared stamp library.

    x0, y0: where the galaxy's centroid lies (arcsec); pixscale: arcsec per
    source pixel; phi: rotation (radians); cx, cy: the centroid in stamp
    pixels (column, row); galaxy: (B,) long index into ``stamps``;
    extent: (B,) radius (arcsec) around the centroid outside which the
    galaxy's stamp is zero (bounds the oversampled region; `stamp_extent`
    gives the stamp's corner distance when nothing tighter is known);
    stamps: (K, C, S, S) unit-flux-per-band images, shared by the batch.
    """

    x0: torch.Tensor
    y0: torch.Tensor
    pixscale: torch.Tensor
    phi: torch.Tensor
    cx: torch.Tensor
    cy: torch.Tensor
    galaxy: torch.Tensor
    extent: torch.Tensor
    stamps: torch.Tensor = field(metadata={"shared": True})

    @property
    def n_bands(self) -> int:
        """C, the number of bands each galaxy has."""
        return int(self.stamps.shape[1])

    def to(self, device: torch.device | str, dtype: torch.dtype) -> ImageSource:
        """The batch on `device` in `dtype`; the galaxy index stays a long tensor."""
        moved = super().to(device, dtype)
        moved.galaxy = self.galaxy.to(device)
        return moved


def stamp_extent(size: int, cx: torch.Tensor, cy: torch.Tensor, pixscale: torch.Tensor) -> torch.Tensor:
    """(B,) the largest distance (arcsec) from the centroid to a corner of a size x size stamp."""
    s = size - 1
    dx = torch.maximum(cx, s - cx)
    dy = torch.maximum(cy, s - cy)
    return torch.sqrt(dx * dx + dy * dy) * pixscale


def _stamp_coordinates(x: torch.Tensor, y: torch.Tensor, src: ImageSource) -> tuple[torch.Tensor, torch.Tensor]:
    """Source-plane positions (arcsec, (B, ...)) -> continuous stamp pixel coordinates (column u, row v)."""
    xr, yr = to_major_axis_frame(x, y, src.x0, src.y0, src.phi)
    inv = expand_like(1.0 / src.pixscale, xr)
    return xr * inv + expand_like(src.cx, xr), yr * inv + expand_like(src.cy, yr)


def image_sb(x: torch.Tensor, y: torch.Tensor, src: ImageSource) -> torch.Tensor:
    """Unit-flux surface brightness (per arcsec^2) of every band at source-plane (x, y): (B, C, ...).

    x, y: (B, ...) arcsec. Bilinear in the stamp's pixel values, zero beyond
    its outermost pixel centres.
    """
    k, c, s, _ = src.stamps.shape
    u, v = _stamp_coordinates(x, y, src)
    u0, v0 = torch.floor(u), torch.floor(v)
    fu, fv = u - u0, v - v0
    u0, v0 = u0.long(), v0.long()
    flat = src.stamps.reshape(-1)
    band = torch.arange(c, device=x.device).reshape((1, c) + (1,) * (x.dim() - 1))
    base = (expand_like(src.galaxy, u0).unsqueeze(1) * c + band) * (s * s)  # (B, C, 1, ...)
    out = torch.zeros(base.shape[:2] + u.shape[1:], dtype=src.stamps.dtype, device=x.device)
    for du, dv, w in ((0, 0, (1 - fu) * (1 - fv)), (1, 0, fu * (1 - fv)), (0, 1, (1 - fu) * fv), (1, 1, fu * fv)):
        iu, iv = u0 + du, v0 + dv
        inside = (iu >= 0) & (iu < s) & (iv >= 0) & (iv < s)
        idx = iv.clamp(0, s - 1) * s + iu.clamp(0, s - 1)
        out = out + flat[base + idx.unsqueeze(1)] * (w * inside).unsqueeze(1)
    area = expand_like(src.pixscale * src.pixscale, u).unsqueeze(1)
    return out / area


def image_oversampling_need(bx: torch.Tensor, by: torch.Tensor, h: torch.Tensor, reach: torch.Tensor,
                            src: ImageSource, refine_density: float) -> torch.Tensor:
    """Sub-samples per pixel side an image source needs, (B, H, W); 0 where its footprint misses the stamp.

    bx, by: source-plane positions of the pixel centres (arcsec); h: each
    pixel's source-plane footprint (arcsec); reach: how far (arcsec) the
    footprint may reach. A pixel near the stamp is sampled so that the
    source-plane spacing h / factor is at most pixscale / refine_density.
    """
    d = torch.sqrt((bx - expand_like(src.x0, bx)).square() + (by - expand_like(src.y0, by)).square())
    near = d < expand_like(src.extent, d) + reach
    need = refine_density * h / expand_like(src.pixscale, h)
    return torch.where(near, need, torch.zeros_like(need))
