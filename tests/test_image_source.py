"""The image-source engine: lenstronomy's INTERPOL, a pixelised Sersic, magnification, batching."""

from __future__ import annotations

import numpy as np
import torch
from lenstronomy.Data.imaging_data import ImageData
from lenstronomy.Data.psf import PSF
from lenstronomy.ImSim.image_model import ImageModel
from lenstronomy.LensModel.lens_model import LensModel
from lenstronomy.LightModel.light_model import LightModel
from lenstronomy.Util import param_util
from test_render import make_lens, make_source

from stronglens.physics.image_source import ImageSource, image_sb, stamp_extent
from stronglens.physics.lens import LensParams
from stronglens.physics.pixels import stamp_center_pix
from stronglens.physics.render import RenderSettings, lensed_unit_bands, render_arcs
from stronglens.physics.sersic import sersic_sb

PIX = 0.262
T = lambda a: torch.as_tensor(np.atleast_1d(np.asarray(a, dtype=float)), dtype=torch.float64)  # noqa: E731


def clumpy_stamps(n: int, size: int = 48, seed: int = 0) -> torch.Tensor:
    """(n, 3, size, size) unit-flux-per-band galaxies: Gaussian clumps whose band weights differ, zero edges."""
    rng = np.random.default_rng(seed)
    yy, xx = np.indices((size, size), dtype=float)
    out = np.zeros((n, 3, size, size))
    for i in range(n):
        for _ in range(6):
            x0, y0 = rng.uniform(0.3 * size, 0.7 * size, 2)
            sig = rng.uniform(1.0, 4.0)
            blob = np.exp(-0.5 * ((xx - x0) ** 2 + (yy - y0) ** 2) / sig**2)
            out[i] += rng.uniform(0.2, 1.0, 3)[:, None, None] * blob
    out[:, :, [0, -1], :] = 0.0
    out[:, :, :, [0, -1]] = 0.0
    return torch.as_tensor(out / out.sum(axis=(2, 3), keepdims=True))


def image_source(stamps, galaxy, x0, y0, pixscale, phi, cx=None, cy=None) -> ImageSource:
    centre = (stamps.shape[-1] - 1) / 2
    n = len(np.atleast_1d(x0))
    cx, cy = T(cx if cx is not None else [centre] * n), T(cy if cy is not None else [centre] * n)
    return ImageSource(T(x0), T(y0), T(pixscale), T(phi), cx, cy, torch.as_tensor(np.atleast_1d(galaxy)),
                       stamp_extent(stamps.shape[-1], cx, cy, T(pixscale)), stamps)


def lenstronomy_interpol(npix, sub, lens_kw, image_sb_arcsec2, centre, phi, scale):
    c = stamp_center_pix(npix)
    data = ImageData(image_data=np.zeros((npix, npix)), ra_at_xy_0=-c * PIX, dec_at_xy_0=-c * PIX,
                     transform_pix2angle=np.array([[PIX, 0.0], [0.0, PIX]]))
    model = ImageModel(data, PSF(psf_type="NONE"), lens_model_class=LensModel(["SIE", "SHEAR"]),
                       source_model_class=LightModel(["INTERPOL"]),
                       kwargs_numerics=dict(supersampling_factor=sub, supersampling_convolution=False))
    kw = dict(image=image_sb_arcsec2, amp=1.0, center_x=centre[0], center_y=centre[1], phi_G=phi, scale=scale)
    return model.image(kwargs_lens=lens_kw, kwargs_source=[kw])


def test_agrees_with_lenstronomy_interpol_through_sie_and_shear():
    stamps = clumpy_stamps(1)
    te, q, phi, g1, g2 = 1.3, 0.7, 0.5, 0.03, -0.02
    x0, y0, pix, rot = 0.15, -0.1, 0.04, 0.6
    src = image_source(stamps, 0, x0, y0, pix, rot)
    sub = 8
    ours, _ = lensed_unit_bands(make_lens(te, q, phi, g1, g2), src, RenderSettings(npix=48, oversample=sub, adaptive=False))
    e1, e2 = param_util.phi_q2_ellipticity(phi, q)
    lens_kw = [dict(theta_E=te, e1=e1, e2=e2, center_x=0.0, center_y=0.0), dict(gamma1=g1, gamma2=g2)]
    for band in range(3):
        ref = lenstronomy_interpol(48, sub, lens_kw, stamps[0, band].numpy() / pix**2, (x0, y0), rot, pix)
        ours_b = ours[0, band].numpy()
        assert ref.max() > 0 and np.abs(ours_b - ref).max() < 0.01 * ref.max(), f"band {band}"


def test_adaptive_image_source_matches_the_uniform_reference():
    stamps = clumpy_stamps(1, seed=3)
    src = image_source(stamps, 0, 0.2, 0.1, 0.035, 1.1)
    lens = make_lens(1.6, 0.6, 0.3, 0.02, 0.04)
    adaptive, frac = lensed_unit_bands(lens, src, RenderSettings(npix=64))
    ref, _ = lensed_unit_bands(lens, src, RenderSettings(npix=64, oversample=32, adaptive=False))
    assert 0 < frac < 0.5
    assert (adaptive - ref).abs().max() < 0.01 * ref.max()


def test_finely_pixelised_sersic_agrees_with_the_analytic_sersic():
    r_e, n, q, phi, x0, y0 = 0.3, 1.0, 0.7, 0.4, 0.1, -0.05
    pix_src, size = 0.01, 301  # 3" across: 10 r_e
    centre = (size - 1) / 2
    ax = (torch.arange(size, dtype=torch.float64) - centre) * pix_src
    yy, xx = torch.meshgrid(ax, ax, indexing="ij")
    sb = sersic_sb(xx[None], yy[None], T(r_e), T(n), T(q), T(phi), T(0.0), T(0.0))[0]
    stamp = (sb * pix_src**2).expand(3, -1, -1)[None].clone()
    stamp[..., [0, -1], :] = 0.0
    stamp[..., :, [0, -1]] = 0.0
    stamp = stamp / stamp.sum(dim=(-1, -2), keepdim=True)
    lens = make_lens(1.2, 0.8, 0.2, 0.03, 0.01)
    settings = RenderSettings(npix=48, oversample=8, adaptive=False)
    pixelised, _ = lensed_unit_bands(lens, image_source(stamp, 0, x0, y0, pix_src, 0.0), settings)
    analytic, _ = lensed_unit_bands(lens, make_source(x0, y0, r_e, n, q, phi), settings)
    assert (pixelised[0, 1] - analytic[0, 0]).abs().max() < 0.01 * analytic.max()


def test_total_flux_is_the_analytic_magnification_times_the_source_flux():
    """SIS (q = 1, no shear): mu(beta) = 2 theta_E / |beta| inside the cut; integrate it over the source pixels."""
    stamps = clumpy_stamps(1, size=32, seed=5)
    te, x0, y0, pix = 1.5, 0.45, 0.2, 0.012
    src = image_source(stamps, 0, x0, y0, pix, 0.0)
    flux = torch.tensor([[2.0, 5.0, 7.0]], dtype=torch.float64)
    out = render_arcs(make_lens(te, 1.0, 0.0), src, flux, None, RenderSettings(npix=64, oversample=16))
    centre = (32 - 1) / 2
    ax = (torch.arange(32, dtype=torch.float64) - centre) * pix
    beta = torch.sqrt((x0 + ax[None, :]) ** 2 + (y0 + ax[:, None]) ** 2)
    assert beta[stamps[0, 1] > 0].max() < te
    for band in range(3):
        expected_mu = float((stamps[0, band] * 2 * te / beta).sum())
        total = float(out.unconvolved[0, band].sum())
        assert abs(total / (expected_mu * float(flux[0, band])) - 1) < 0.01, f"band {band}"
    assert abs(float(out.mu_eff[0]) - float((stamps[0, 1] * 2 * te / beta).sum())) < 0.01 * float(out.mu_eff[0])


def test_bands_keep_their_own_morphology():
    stamps = clumpy_stamps(1, seed=2)
    out, _ = lensed_unit_bands(make_lens(1.2, 0.8, 0.1), image_source(stamps, 0, 0.1, 0.0, 0.04, 0.0), RenderSettings(npix=48))
    assert out.shape == (1, 3, 48, 48)
    assert (out[0, 0] - out[0, 2]).abs().max() > 0.05 * out[0, 0].max()


def test_a_batch_equals_its_systems_rendered_one_by_one():
    stamps = clumpy_stamps(3, seed=7)
    zero = T([0.0, 0.0, 0.0])
    lens = LensParams(T([1.0, 1.8, 2.4]), T([0.9, 0.6, 0.5]), T([0.1, 1.2, 2.0]), zero, zero, T([0.0, 0.03, -0.05]),
                      T([0.01, 0.0, 0.04]))
    src = image_source(stamps, [2, 0, 1], [0.1, -0.3, 0.5], [0.0, 0.2, -0.1], [0.03, 0.05, 0.04], [0.0, 0.7, 2.0])
    flux = torch.tensor([[1.0, 2.0, 3.0], [0.5, 0.5, 0.5], [3.0, 2.0, 1.0]], dtype=torch.float64)
    settings = RenderSettings(npix=48)
    batch = render_arcs(lens, src, flux, None, settings)
    for i in range(3):
        one = render_arcs(lens.index(torch.tensor([i])), src.index(torch.tensor([i])), flux[i : i + 1], None, settings)
        torch.testing.assert_close(batch.arcs[i], one.arcs[0], rtol=1e-10, atol=1e-14)
        torch.testing.assert_close(batch.mu_eff[i], one.mu_eff[0], rtol=1e-10, atol=1e-14)


def test_surface_brightness_is_zero_off_the_stamp_and_integrates_to_one():
    stamps = clumpy_stamps(1, size=24, seed=1)
    src = image_source(stamps, 0, 0.3, -0.2, 0.05, 0.9)
    ax = torch.linspace(-1.5, 1.5, 601, dtype=torch.float64)
    yy, xx = torch.meshgrid(ax, ax, indexing="ij")
    sb = image_sb(xx[None] + 0.3, yy[None] - 0.2, src)[0]
    step = float(ax[1] - ax[0])
    torch.testing.assert_close((sb.sum(dim=(-1, -2)) * step**2), torch.ones(3, dtype=torch.float64), rtol=2e-3, atol=0)
    far = image_sb(T([5.0])[None], T([5.0])[None], src)
    assert float(far.abs().max()) == 0.0
