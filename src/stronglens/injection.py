"""The batched lens-injection engine (SCIENCE.md section 3).

Order of operations, per system, all batched over (B, C, H, W) in torch:
ray-shoot image-plane sub-pixels through SIE + shear -> evaluate the source
surface brightness there (surface brightness is conserved) -> average sub-pixels
to native pixels and multiply by the pixel area (flux per pixel, nmgy) ->
convolve each band with its PSF at native resolution (padded FFT) -> the caller
adds it to a host and adds noise once.

One ray-trace serves all bands: the morphology is rendered once for a unit
source flux and scaled by each band's flux. Adaptive oversampling: every pixel
is first sampled at its centre; pixels whose source-plane footprint comes near
a bright part of the source (the Sersic within a few r_e, a clump within a few
sigma, or any pixel whose footprint is large, like the one at the lens centre)
are re-sampled on a ``oversample x oversample`` sub-grid. ``adaptive=False``
samples every pixel on the sub-grid (the reference mode, and lenstronomy's).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from stronglens.grid import pixel_grid, subpixel_offsets
from stronglens.physics.geometry import expand_like, to_major_axis_frame
from stronglens.physics.lens import LensParams, ray_shoot
from stronglens.physics.psf import fft_convolve
from stronglens.physics.source import SourceParams, source_sb


@dataclass(frozen=True)
class RenderSettings:
    """How a stamp is sampled.

    npix: stamp side (pixels); pixscale: arcsec/pixel; oversample: sub-grid
    factor for refined pixels (or all pixels when adaptive is False);
    refine_re / refine_sigma: refine pixels whose source-plane position lies
    within this many r_e of the Sersic centre / sigma of a clump centre, after
    adding refine_footprint times the pixel's source-plane footprint;
    refine_density: sub-samples per smallest source scale a refined pixel
    touches; levels: the sub-grid factors a refined pixel may get;
    cusp_oversample: factor for pixels whose footprint holds a Sersic cusp;
    max_points: cap on sub-pixel samples evaluated at once (memory bound).
    """

    npix: int
    pixscale: float = 0.262
    oversample: int = 16
    adaptive: bool = True
    refine_re: float = 3.0
    refine_sigma: float = 3.0
    refine_footprint: float = 2.0
    refine_density: float = 2.0
    levels: tuple[int, ...] = (2, 4, 8, 16)
    cusp_oversample: int = 32
    max_points: int = 4_000_000


@dataclass
class ArcRender:
    """Result of `render_arcs`.

    arcs: (B, C, H, W) PSF-convolved arc flux per pixel (nmgy);
    unconvolved: (B, C, H, W) the same before the PSF;
    mu_eff: (B,) total lensed flux in the stamp before the PSF divided by the
    unlensed source flux (the effective magnification);
    refined_fraction: fraction of pixels that were oversampled (diagnostic).
    """

    arcs: torch.Tensor
    unconvolved: torch.Tensor
    mu_eff: torch.Tensor
    refined_fraction: float


def _sb_at_image_positions(x: torch.Tensor, y: torch.Tensor, lens: LensParams, src: SourceParams) -> torch.Tensor:
    bx, by = ray_shoot(x, y, lens)
    return source_sb(bx, by, src)


def _uniform_unit_image(lens: LensParams, src: SourceParams, s: RenderSettings, device, dtype) -> torch.Tensor:
    """Mean source SB per pixel with every pixel on an s.oversample^2 sub-grid, (B, H, W)."""
    sub = s.oversample
    y, x = pixel_grid(s.npix, s.pixscale, sub, device=device, dtype=dtype)
    n_sys = lens.batch_size
    per_sys = x.numel()
    chunk = max(1, s.max_points // per_sys)
    out = torch.empty((n_sys, s.npix, s.npix), device=device, dtype=dtype)
    if per_sys <= s.max_points:
        for start in range(0, n_sys, chunk):
            idx = torch.arange(start, min(n_sys, start + chunk), device=device)
            sb = _sb_at_image_positions(x.expand(len(idx), -1, -1), y.expand(len(idx), -1, -1), lens.index(idx), src.index(idx))
            out[idx] = sb.reshape(len(idx), s.npix, sub, s.npix, sub).mean(dim=(2, 4))
        return out
    # One system does not fit: go row-block by row-block.
    rows = max(1, s.max_points // (s.npix * sub * sub))
    for b in range(n_sys):
        idx = torch.tensor([b], device=device)
        for r0 in range(0, s.npix, rows):
            r1 = min(s.npix, r0 + rows)
            yy, xx = y[r0 * sub : r1 * sub], x[r0 * sub : r1 * sub]
            sb = _sb_at_image_positions(xx[None], yy[None], lens.index(idx), src.index(idx))
            out[b, r0:r1] = sb.reshape(r1 - r0, sub, s.npix, sub).mean(dim=(1, 3))
    return out


def _footprint(bx: torch.Tensor, by: torch.Tensor) -> torch.Tensor:
    """Per-pixel source-plane footprint (arcsec): largest jump of beta to a neighbour."""
    dxr = torch.hypot(bx[:, :, 1:] - bx[:, :, :-1], by[:, :, 1:] - by[:, :, :-1])
    dyr = torch.hypot(bx[:, 1:, :] - bx[:, :-1, :], by[:, 1:, :] - by[:, :-1, :])
    h = torch.zeros_like(bx)
    h[:, :, 1:] = torch.maximum(h[:, :, 1:], dxr)
    h[:, :, :-1] = torch.maximum(h[:, :, :-1], dxr)
    h[:, 1:, :] = torch.maximum(h[:, 1:, :], dyr)
    h[:, :-1, :] = torch.maximum(h[:, :-1, :], dyr)
    return h


def _oversampling_map(bx: torch.Tensor, by: torch.Tensor, src: SourceParams, s: RenderSettings) -> torch.Tensor:
    """Sub-grid factor each pixel needs, (B, H, W) int; 1 = the centre sample is enough.

    A pixel is refined when its source-plane footprint h (times refine_footprint)
    reaches within refine_re r_e of the Sersic centre or refine_sigma sigma of a
    clump. Its factor is the smallest of `levels` that makes the source-plane
    sub-pixel spacing h / factor at most 1 / refine_density of the smallest
    scale it touches (the Sersic's local scale length where the footprint
    comes closest to its centre, sigma for a clump), capped at s.oversample.
    """
    h = _footprint(bx, by)
    reach = h * s.refine_footprint
    xm, ym = to_major_axis_frame(bx, by, src.x0, src.y0, src.phi)
    qq = expand_like(src.q, xm)
    # Elliptical radius scaled to the minor axis: conservative for elongated sources.
    d_sersic = torch.sqrt(qq * xm * xm + ym * ym / qq) * torch.sqrt(qq)
    re_minor = expand_like(src.r_e * torch.sqrt(src.q), d_sersic)
    near = d_sersic < s.refine_re * re_minor + reach
    # Local scale length of the Sersic at the footprint's closest approach d:
    # |d ln I / d r|^-1 = n r_e^(1/n) d^(1 - 1/n) / b_n (r_e along the minor axis).
    n = expand_like(src.n, d_sersic)
    d_close = (d_sersic - h).clamp_min(0.1 * re_minor)
    # Capped at r_e: for n < 1 the log-slope vanishes at the centre but the curvature does not.
    local = n * re_minor.pow(1.0 / n) * d_close.pow(1.0 - 1.0 / n) / expand_like(src.b_n, d_sersic)
    scale_sersic = torch.minimum(local, re_minor)
    need = torch.where(near, s.refine_density * h / scale_sersic, torch.zeros_like(h))
    for k in range(src.clump_frac.shape[1]):
        present = expand_like(src.clump_frac[:, k] > 0, bx)
        sig = expand_like(src.clump_sigma[:, k], bx)
        d = torch.hypot(bx - expand_like(src.clump_x[:, k], bx), by - expand_like(src.clump_y[:, k], by))
        near_k = present & (d < s.refine_sigma * sig + reach)
        need = torch.where(near_k, torch.maximum(need, s.refine_density * h / sig), need)
    levels = sorted(lv for lv in s.levels if lv <= s.oversample) or [s.oversample]
    chosen = torch.full_like(h, levels[-1], dtype=torch.int64)
    for level in reversed(levels):
        chosen = torch.where(need <= level, torch.full_like(chosen, level), chosen)
    factor = torch.where(need > 0, chosen, torch.ones_like(chosen))
    # A cuspy Sersic core (n > 1) inside the pixel's footprint: the sampled value
    # depends on the sub-pixel phase of the cusp, so sample it finer still.
    # Pixels whose footprint is wider than two pixels are demagnified (next to the
    # lens centre) and carry little flux: they keep the regular factor.
    cusp = (d_sersic < 0.75 * h) & (n > 1.0) & (h < 2.0 * s.pixscale)
    return torch.where(cusp, torch.full_like(factor, max(s.cusp_oversample, s.oversample)), factor)


def _adaptive_unit_image(lens: LensParams, src: SourceParams, s: RenderSettings, device, dtype) -> tuple[torch.Tensor, float]:
    """Mean source SB per pixel, oversampling only pixels near the bright source, (B, H, W)."""
    n_sys = lens.batch_size
    y, x = pixel_grid(s.npix, s.pixscale, 1, device=device, dtype=dtype)
    xb = x.expand(n_sys, -1, -1)
    yb = y.expand(n_sys, -1, -1)
    bx, by = ray_shoot(xb, yb, lens)
    image = source_sb(bx, by, src)
    factor = _oversampling_map(bx, by, src, s)
    n_refined = 0
    for level in sorted(set(int(v) for v in factor.unique().tolist()) - {1}):
        where = (factor == level).nonzero()  # (M, 3): system, row, column
        n_refined += int(where.shape[0])
        offs = subpixel_offsets(level, s.pixscale, device=device, dtype=dtype)
        chunk = max(1, s.max_points // offs.shape[0])
        for start in range(0, where.shape[0], chunk):
            w = where[start : start + chunk]
            sys_idx, row, col = w[:, 0], w[:, 1], w[:, 2]
            px = x[row, col][:, None] + offs[None, :, 0]
            py = y[row, col][:, None] + offs[None, :, 1]
            vals = _sb_at_image_positions(px, py, lens.index(sys_idx), src.index(sys_idx)).mean(dim=1)
            image[sys_idx, row, col] = vals
    return image, n_refined / float(factor.numel())


def lensed_unit_image(lens: LensParams, src: SourceParams, settings: RenderSettings) -> tuple[torch.Tensor, float]:
    """Lensed flux per pixel (B, H, W) for a source of unit total flux, before the PSF.

    Returns the image and the fraction of pixels that were oversampled.
    """
    device, dtype = lens.theta_e.device, lens.theta_e.dtype
    if settings.adaptive:
        sb, frac = _adaptive_unit_image(lens, src, settings, device, dtype)
    else:
        sb, frac = _uniform_unit_image(lens, src, settings, device, dtype), 1.0
    return sb * settings.pixscale**2, frac


def render_arcs(
    lens: LensParams,
    src: SourceParams,
    band_flux: torch.Tensor,
    psf_kernels: torch.Tensor | None,
    settings: RenderSettings,
) -> ArcRender:
    """Render B lensed arcs in C bands.

    band_flux: (B, C) unlensed source flux per band (nmgy); psf_kernels:
    (B, C, k, k) normalised kernels, or None for no PSF. Returns `ArcRender`.
    """
    unit, frac = lensed_unit_image(lens, src, settings)
    mu_eff = unit.sum(dim=(-1, -2))
    unconvolved = unit[:, None, :, :] * band_flux[:, :, None, None]
    arcs = unconvolved if psf_kernels is None else fft_convolve(unconvolved, psf_kernels)
    return ArcRender(arcs=arcs, unconvolved=unconvolved, mu_eff=mu_eff, refined_fraction=frac)


def arc_snr(arc: torch.Tensor, sigma_pix: torch.Tensor) -> torch.Tensor:
    """Matched-filter arc SNR sqrt(sum((arc / sigma_pix)^2)) over a (B, H, W) band image."""
    return torch.sqrt(((arc / sigma_pix[:, None, None]) ** 2).sum(dim=(-1, -2)))


def poisson_arc_noise(arc: torch.Tensor, gain: torch.Tensor, normal: torch.Tensor) -> torch.Tensor:
    """Shot noise of the arc's own photons (Gaussian limit), nmgy.

    gain: electrons per nmgy, broadcastable to arc; normal: standard-normal draws
    of arc's shape from the caller's per-injection generator.
    """
    return torch.sqrt(arc.clamp_min(0.0) / gain) * normal


