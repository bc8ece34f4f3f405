"""The batched lens-injection engine (docs/science.md section 3).

Order of operations, per system, all batched over (B, C, H, W) in torch:
ray-shoot image-plane sub-pixels through SIE + shear -> evaluate the source
surface brightness there (surface brightness is conserved) -> average sub-pixels
to native pixels and multiply by the pixel area (flux per pixel, nmgy) ->
convolve each band with its PSF at native resolution (`psf_convolve`: banded
matrix products for separable kernels, a padded FFT otherwise) -> the caller
adds it to a host and adds noise once.

One ray-trace serves all bands: the morphology is rendered once for a unit
source flux and scaled by each band's flux. Adaptive oversampling: every pixel
is first sampled at its centre; pixels whose source-plane footprint comes near
a bright part of the source (the Sersic within a few r_e, a clump within a few
sigma, or any pixel whose footprint is large, like the one at the lens centre)
are re-sampled on a sub-grid whose factor (one of ``RenderSettings.levels``,
32 for a Sersic cusp) follows the smallest source scale they touch.
An `ImageSource` (a pixelised real galaxy, one morphology per band) takes
the same path: pixels whose footprint reaches its stamp are refined so that
sub-samples resolve its source pixels, and the unit image has one plane per
band. ``adaptive=False`` samples every pixel on an ``oversample x oversample``
sub-grid (the reference mode, and lenstronomy's). ``compile=True`` runs the
two sampling passes through `torch.compile` (`stronglens.physics.compiled`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from stronglens.physics.compiled import maybe_compiled
from stronglens.physics.geometry import expand_like, to_major_axis_frame
from stronglens.physics.image_source import ImageSource, image_oversampling_need, image_sb
from stronglens.physics.lens import LensParams, ray_shoot
from stronglens.physics.pixels import pixel_grid, stamp_center_pix, subpixel_offsets
from stronglens.physics.psf import psf_convolve
from stronglens.physics.source import SourceParams, source_sb

Source = SourceParams | ImageSource


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
    max_points: cap on sub-pixel samples evaluated at once (memory bound);
    compile: run the elementwise hot paths through `torch.compile`
    (`stronglens.physics.compiled`): same results to float rounding, several times
    faster on a CPU once compiled, a few seconds of compilation per process.
    """

    npix: int
    pixscale: float = 0.262
    oversample: int = 16
    adaptive: bool = True
    refine_re: float = 3.0
    refine_sigma: float = 3.0
    refine_footprint: float = 2.0
    refine_density: float = 1.5
    levels: tuple[int, ...] = (2, 3, 4, 6, 8, 12, 16)
    cusp_oversample: int = 32
    max_points: int = 4_000_000
    compile: bool = False

    @property
    def refine_levels(self) -> tuple[int, ...]:
        """The sub-grid factors a refined pixel may get, ascending, none above `oversample`."""
        return tuple(sorted(lv for lv in self.levels if lv <= self.oversample)) or (self.oversample,)

    @property
    def cusp_level(self) -> int:
        """The sub-grid factor of pixels whose footprint holds a Sersic cusp."""
        return max(self.cusp_oversample, self.oversample)


@dataclass
class ArcRender:
    """Result of `render_arcs`.

    arcs: (B, C, H, W) PSF-convolved arc flux per pixel (nmgy);
    unconvolved: (B, C, H, W) the same before the PSF;
    mu_eff: (B,) total lensed flux in the stamp before the PSF divided by the
    unlensed source flux (the effective magnification; r band, the middle
    one, for an image source whose bands differ in morphology);
    refined_fraction: fraction of pixels that were oversampled (diagnostic).
    """

    arcs: torch.Tensor
    unconvolved: torch.Tensor
    mu_eff: torch.Tensor
    refined_fraction: float


def _source_bands(x: torch.Tensor, y: torch.Tensor, src: Source) -> torch.Tensor:
    """Unit-flux source SB at source-plane (x, y) (B, ...): (B, 1, ...) for a Sersic, (B, C, ...) for an image."""
    if isinstance(src, ImageSource):
        return image_sb(x, y, src)
    return source_sb(x, y, src).unsqueeze(1)


def _sb_at_image_positions(x: torch.Tensor, y: torch.Tensor, lens: LensParams, src: Source) -> torch.Tensor:
    bx, by = ray_shoot(x, y, lens)
    return _source_bands(bx, by, src)


def _n_planes(src: Source) -> int:
    """Planes of a source's unit image: 1 (one morphology) or its number of bands."""
    return src.n_bands if isinstance(src, ImageSource) else 1


def _uniform_unit_image(lens: LensParams, src: Source, s: RenderSettings, device, dtype) -> torch.Tensor:
    """Mean source SB per pixel with every pixel on an s.oversample^2 sub-grid, (B, P, H, W)."""
    sub = s.oversample
    sample = maybe_compiled(_sb_at_image_positions, s.compile, device)
    y, x = pixel_grid(s.npix, s.pixscale, sub, device=device, dtype=dtype)
    n_sys, planes = lens.batch_size, _n_planes(src)
    per_sys = x.numel() * planes
    chunk = max(1, s.max_points // per_sys)
    out = torch.empty((n_sys, planes, s.npix, s.npix), device=device, dtype=dtype)
    if per_sys <= s.max_points:
        for start in range(0, n_sys, chunk):
            idx = torch.arange(start, min(n_sys, start + chunk), device=device)
            sb = sample(x.expand(len(idx), -1, -1), y.expand(len(idx), -1, -1), lens.index(idx), src.index(idx))
            out[idx] = sb.reshape(len(idx), planes, s.npix, sub, s.npix, sub).mean(dim=(3, 5))
        return out
    # One system does not fit: go row-block by row-block.
    rows = max(1, s.max_points // (s.npix * sub * sub * planes))
    for b in range(n_sys):
        idx = torch.tensor([b], device=device)
        for r0 in range(0, s.npix, rows):
            r1 = min(s.npix, r0 + rows)
            yy, xx = y[r0 * sub : r1 * sub], x[r0 * sub : r1 * sub]
            sb = sample(xx[None], yy[None], lens.index(idx), src.index(idx))
            out[b, :, r0:r1] = sb[0].reshape(planes, r1 - r0, sub, s.npix, sub).mean(dim=(2, 4))
    return out


def _footprint(bx: torch.Tensor, by: torch.Tensor) -> torch.Tensor:
    """Per-pixel source-plane footprint (arcsec): largest jump of beta to a neighbour."""
    dxr = (bx[:, :, 1:] - bx[:, :, :-1]).square() + (by[:, :, 1:] - by[:, :, :-1]).square()
    dyr = (bx[:, 1:, :] - bx[:, :-1, :]).square() + (by[:, 1:, :] - by[:, :-1, :]).square()
    zero_col = torch.zeros_like(bx[:, :, :1])
    zero_row = torch.zeros_like(bx[:, :1, :])
    h2 = torch.maximum(torch.cat([zero_col, dxr], dim=2), torch.cat([dxr, zero_col], dim=2))
    h2 = torch.maximum(h2, torch.maximum(torch.cat([zero_row, dyr], dim=1), torch.cat([dyr, zero_row], dim=1)))
    return h2.sqrt()


def _level_for(need: torch.Tensor, s: RenderSettings) -> torch.Tensor:
    """The smallest of the refine levels covering each pixel's need (capped at the largest); 1 where need is 0."""
    levels = s.refine_levels
    chosen = torch.full_like(need, levels[-1], dtype=torch.int32)
    for level in reversed(levels):
        chosen = torch.where(need <= level, torch.full_like(chosen, level), chosen)
    return torch.where(need > 0, chosen, torch.ones_like(chosen))


def _oversampling_map(bx: torch.Tensor, by: torch.Tensor, src: Source, s: RenderSettings) -> torch.Tensor:
    """Sub-grid factor each pixel needs, (B, H, W) int32; 1 = the centre sample is enough.

    A pixel is refined when its source-plane footprint h (times refine_footprint)
    reaches within refine_re r_e of the Sersic centre or refine_sigma sigma of a
    clump. Its factor is the smallest of `levels` that makes the source-plane
    sub-pixel spacing h / factor at most 1 / refine_density of the smallest
    scale it touches (the Sersic's local scale length where the footprint
    comes closest to its centre, sigma for a clump), capped at s.oversample.
    For an image source the scale is its source pixel, near its stamp.
    """
    h = _footprint(bx, by)
    reach = h * s.refine_footprint
    if isinstance(src, ImageSource):
        return _level_for(image_oversampling_need(bx, by, h, reach, src, s.refine_density), s)
    xm, ym = to_major_axis_frame(bx, by, src.x0, src.y0, src.phi)
    qq = expand_like(src.q, xm)
    # Elliptical radius scaled to the minor axis, sqrt(q (q x^2 + y^2 / q)):
    # conservative for elongated sources.
    d_sersic = torch.sqrt(qq * qq * xm * xm + ym * ym)
    re_minor_b = src.r_e * torch.sqrt(src.q)
    re_minor = expand_like(re_minor_b, d_sersic)
    near = d_sersic < s.refine_re * re_minor + reach
    # Local scale length of the Sersic at the footprint's closest approach d:
    # |d ln I / d r|^-1 = (n / b_n) r_e (d / r_e)^(1 - 1/n) (r_e along the minor axis).
    d_close = (d_sersic - h).clamp_min(0.1 * re_minor)
    n = expand_like(src.n, d_sersic)
    local = expand_like(src.n / src.b_n * re_minor_b, d_sersic) * (d_close / re_minor).pow(1.0 - 1.0 / n)
    # Capped at r_e: for n < 1 the log-slope vanishes at the centre but the curvature does not.
    scale_sersic = torch.minimum(local, re_minor)
    need = torch.where(near, s.refine_density * h / scale_sersic, torch.zeros_like(h))
    for k in range(src.clump_frac.shape[1]):
        present = expand_like(src.clump_frac[:, k] > 0, bx)
        sig = expand_like(src.clump_sigma[:, k], bx)
        d2 = (bx - expand_like(src.clump_x[:, k], bx)).square() + (by - expand_like(src.clump_y[:, k], by)).square()
        near_k = present & (d2 < (s.refine_sigma * sig + reach).square())
        need = torch.where(near_k, torch.maximum(need, s.refine_density * h / sig), need)
    factor = _level_for(need, s)
    # A cuspy Sersic core (n > 1) inside the pixel's footprint: the sampled value
    # depends on the sub-pixel phase of the cusp, so sample it finer still.
    # Pixels whose footprint is wider than two pixels are demagnified (next to the
    # lens centre) and carry little flux: they keep the regular factor.
    cusp = (d_sersic < 0.75 * h) & (n > 1.0) & (h < 2.0 * s.pixscale)
    return torch.where(cusp, torch.full_like(factor, s.cusp_level), factor)


def _centre_pass(x: torch.Tensor, y: torch.Tensor, lens: LensParams, src: Source, s: RenderSettings):
    """Source SB at every pixel centre (B, P, H, W) and each pixel's sub-grid factor (B, H, W) int."""
    bx, by = ray_shoot(x, y, lens)
    return _source_bands(bx, by, src), _oversampling_map(bx, by, src, s)


def _refined_pixel_sb(
    pix: torch.Tensor, offs: torch.Tensor, lens: LensParams, src: Source, npix: int, pixscale: float
) -> torch.Tensor:
    """Mean source SB over a sub-grid of each listed pixel, (M, P).

    pix: (M, 3) long (system, row, column); offs: (S, 2) sub-pixel offsets
    (dx, dy) in arcsec from the pixel centre; lens, src: parameters already
    gathered per listed pixel (batch M). Positions follow `pixel_grid`:
    (index - npix // 2) * pixscale.
    """
    centre = stamp_center_pix(npix)
    x = (pix[:, 2:3] - centre).to(offs.dtype) * pixscale + offs[None, :, 0]
    y = (pix[:, 1:2] - centre).to(offs.dtype) * pixscale + offs[None, :, 1]
    return _sb_at_image_positions(x, y, lens, src).mean(dim=-1)


def _adaptive_unit_image(lens: LensParams, src: Source, s: RenderSettings, device, dtype) -> tuple[torch.Tensor, float]:
    """Mean source SB per pixel, oversampling only pixels near the bright source, (B, P, H, W)."""
    n_sys = lens.batch_size
    y, x = pixel_grid(s.npix, s.pixscale, 1, device=device, dtype=dtype)
    image, factor = maybe_compiled(_centre_pass, s.compile, device)(x.expand(n_sys, -1, -1), y.expand(n_sys, -1, -1), lens, src, s)
    refine = maybe_compiled(_refined_pixel_sb, s.compile, device)
    refined = (factor > 1).nonzero()  # (M, 3): system, row, column
    level_of = factor[refined[:, 0], refined[:, 1], refined[:, 2]]
    for level in sorted((set(s.refine_levels) | {s.cusp_level}) - {1}):
        pix = refined[level_of == level]
        offs = subpixel_offsets(level, s.pixscale, device=device, dtype=dtype)
        chunk = max(1, s.max_points // (offs.shape[0] * image.shape[1]))
        for start in range(0, pix.shape[0], chunk):
            p = pix[start : start + chunk]
            image[p[:, 0], :, p[:, 1], p[:, 2]] = refine(p, offs, lens.index(p[:, 0]), src.index(p[:, 0]), s.npix, s.pixscale)
    return image, refined.shape[0] / float(factor.numel())


def lensed_unit_bands(lens: LensParams, src: Source, settings: RenderSettings) -> tuple[torch.Tensor, float]:
    """Lensed flux per pixel (B, P, H, W) for a source of unit total flux per band, before the PSF.

    P is 1 for a Sersic source (one morphology for every band) and the number
    of bands for an image source. Returns the image and the fraction of
    pixels that were oversampled.
    """
    device, dtype = lens.theta_e.device, lens.theta_e.dtype
    if settings.adaptive:
        sb, frac = _adaptive_unit_image(lens, src, settings, device, dtype)
    else:
        sb, frac = _uniform_unit_image(lens, src, settings, device, dtype), 1.0
    return sb * settings.pixscale**2, frac


def lensed_unit_image(lens: LensParams, src: SourceParams, settings: RenderSettings) -> tuple[torch.Tensor, float]:
    """Lensed flux per pixel (B, H, W) of a unit-flux Sersic source, before the PSF (see `lensed_unit_bands`)."""
    unit, frac = lensed_unit_bands(lens, src, settings)
    return unit[:, 0], frac


def render_arcs(
    lens: LensParams,
    src: Source,
    band_flux: torch.Tensor,
    psf_kernels: torch.Tensor | None,
    settings: RenderSettings,
) -> ArcRender:
    """Render B lensed arcs in C bands.

    band_flux: (B, C) unlensed source flux per band (nmgy); psf_kernels:
    (B, C, k, k) normalised kernels, or None for no PSF. Returns `ArcRender`.
    """
    unit, frac = lensed_unit_bands(lens, src, settings)
    mu_eff = unit[:, unit.shape[1] // 2].sum(dim=(-1, -2))
    unconvolved = unit * band_flux[:, :, None, None]
    arcs = unconvolved if psf_kernels is None else psf_convolve(unconvolved, psf_kernels)
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


