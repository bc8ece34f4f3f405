"""Stamp pixel grids.

Convention: the object (host, lens) sits at pixel index ``npix // 2`` in both
axes -- the central pixel of an odd stamp, and of a 64x64 crop of a 101x101
cutout (pixel 50 of the cutout is pixel 32 of its central crop). Coordinates
are in arcsec relative to that pixel's centre; x runs along columns, y along
rows. (lenstronomy puts the origin at (N-1)/2; the tests shift accordingly.)
"""

from __future__ import annotations

import torch


def stamp_center_pix(npix: int) -> int:
    """Index of the pixel that holds the object centre."""
    return npix // 2


def pixel_offsets_arcsec(npix: int, pixscale: float, sub: int = 1, *, device=None, dtype=torch.float32) -> torch.Tensor:
    """1-D sub-pixel centre positions (arcsec) along one axis, length npix * sub."""
    idx = (torch.arange(npix * sub, device=device, dtype=dtype) + 0.5) / sub - 0.5
    return (idx - stamp_center_pix(npix)) * pixscale


def pixel_grid(npix: int, pixscale: float, sub: int = 1, *, device=None, dtype=torch.float32):
    """(y, x) grids of shape (npix*sub, npix*sub), arcsec, for sub x sub sampling per pixel."""
    ax = pixel_offsets_arcsec(npix, pixscale, sub, device=device, dtype=dtype)
    y, x = torch.meshgrid(ax, ax, indexing="ij")
    return y, x


def subpixel_offsets(sub: int, pixscale: float, *, device=None, dtype=torch.float32) -> torch.Tensor:
    """(sub*sub, 2) offsets (dx, dy) in arcsec of sub-pixel centres from the pixel centre."""
    o = ((torch.arange(sub, device=device, dtype=dtype) + 0.5) / sub - 0.5) * pixscale
    dy, dx = torch.meshgrid(o, o, indexing="ij")
    return torch.stack([dx.reshape(-1), dy.reshape(-1)], dim=1)


def central_square(x, size: int):
    """The central size x size pixels of (..., H, W) images (centred on pixel npix // 2)."""
    lo = x.shape[-1] // 2 - size // 2
    return x[..., lo : lo + size, lo : lo + size]


def annulus_mask(npix: int, annulus: tuple[float, float], *, device=None) -> torch.Tensor:
    """(npix, npix) bool: pixels with inner <= r < outer (pixels from the object centre)."""
    r = radius_map_pix(npix, device=device, dtype=torch.float64)
    return (r >= annulus[0]) & (r < annulus[1])


def radius_map_pix(npix: int, *, device=None, dtype=torch.float32) -> torch.Tensor:
    """(npix, npix) distance in pixels of every pixel centre from the object centre."""
    ax = torch.arange(npix, device=device, dtype=dtype) - stamp_center_pix(npix)
    return torch.sqrt(ax[None, :] ** 2 + ax[:, None] ** 2)
