"""The injection engine: lenstronomy agreement, magnification, limits, batching, oversampling."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from lenstronomy.Data.imaging_data import ImageData
from lenstronomy.Data.psf import PSF
from lenstronomy.ImSim.image_model import ImageModel
from lenstronomy.LensModel.lens_model import LensModel
from lenstronomy.LightModel.light_model import LightModel
from lenstronomy.Util import param_util

from stronglens.physics.lens import LensParams
from stronglens.physics.pixels import stamp_center_pix
from stronglens.physics.psf import gaussian_kernel
from stronglens.physics.render import RenderSettings, lensed_unit_image, render_arcs
from stronglens.physics.sersic import lenstronomy_bn, sersic_ie_for_unit_flux
from stronglens.physics.source import SourceParams

PIX = 0.262
T = lambda a: torch.as_tensor(np.atleast_1d(np.asarray(a, dtype=float)), dtype=torch.float64)  # noqa: E731


def make_lens(te, q, phi, g1=0.0, g2=0.0) -> LensParams:
    return LensParams(T(te), T(q), T(phi), T(0.0), T(0.0), T(g1), T(g2))


def make_source(x, y, re, n, q, phi, clumps=(), b_n=None) -> SourceParams:
    k = max(1, len(clumps))
    cx, cy, cs, cf = (np.zeros((1, k)) for _ in range(4))
    cs[:] = 1.0
    for i, (a, b, s, f) in enumerate(clumps):
        cx[0, i], cy[0, i], cs[0, i], cf[0, i] = a, b, s, f
    t = lambda v: torch.as_tensor(v, dtype=torch.float64)  # noqa: E731
    return SourceParams(T(x), T(y), T(re), T(n), T(q), T(phi), t(cx), t(cy), t(cs), t(cf), b_n=b_n)


def lenstronomy_image(npix, sub, lens_kw, sersic_kw, clumps, kernel=None):
    c = stamp_center_pix(npix)
    data = ImageData(
        image_data=np.zeros((npix, npix)), ra_at_xy_0=-c * PIX, dec_at_xy_0=-c * PIX,
        transform_pix2angle=np.array([[PIX, 0.0], [0.0, PIX]]),
    )
    psf = PSF(psf_type="NONE") if kernel is None else PSF(psf_type="PIXEL", kernel_point_source=kernel)
    light = LightModel(["SERSIC_ELLIPSE"] + ["GAUSSIAN"] * len(clumps))
    model = ImageModel(data, psf, lens_model_class=LensModel(["SIE", "SHEAR"]), source_model_class=light,
                       kwargs_numerics=dict(supersampling_factor=sub, supersampling_convolution=False))
    kw_source = [sersic_kw] + [dict(amp=f, sigma=s, center_x=a, center_y=b) for a, b, s, f in clumps]
    return model.image(kwargs_lens=lens_kw, kwargs_source=kw_source)


CASES = [
    # theta_e, q, phi, g1, g2, src x, y, r_e, n, q_s, phi_s, clumps
    (1.2, 0.7, 0.4, 0.03, -0.02, 0.2, -0.1, 0.25, 1.5, 0.6, 1.0, ()),
    (2.0, 0.45, 2.5, -0.05, 0.04, -0.6, 0.5, 0.12, 3.0, 0.8, 0.2, ((-0.55, 0.45, 0.05, 0.2), (-0.7, 0.6, 0.08, 0.15))),
    (0.8, 1.0, 0.0, 0.0, 0.0, 0.05, 0.3, 0.4, 0.8, 0.4, 2.0, ((0.1, 0.2, 0.1, 0.3),)),
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("with_psf", [False, True])
def test_arc_matches_lenstronomy_per_pixel(case, with_psf):
    te, q, phi, g1, g2, sx, sy, re, n, qs, ps, clumps = case
    npix, sub = 41, 4
    bn = lenstronomy_bn(T(n))  # compare like with like: lenstronomy's approximate b_n
    src = make_source(sx, sy, re, n, qs, ps, clumps, b_n=bn)
    kernel = gaussian_kernel(T([[1.2]]), 6, PIX)[0, 0] if with_psf else None
    out = render_arcs(make_lens(te, q, phi, g1, g2), src, T([[1.0]]), None if kernel is None else kernel[None, None],
                      RenderSettings(npix=npix, pixscale=PIX, oversample=sub, adaptive=False))
    ours = out.arcs[0, 0].numpy()
    e1, e2 = param_util.phi_q2_ellipticity(phi, q)
    se1, se2 = param_util.phi_q2_ellipticity(ps, qs)
    frac_sersic = 1.0 - sum(c[3] for c in clumps)
    amp = frac_sersic * float(sersic_ie_for_unit_flux(T(re), T(n), bn))
    theirs = lenstronomy_image(
        npix, sub,
        [dict(theta_E=te, e1=e1, e2=e2, center_x=0.0, center_y=0.0), dict(gamma1=g1, gamma2=g2)],
        dict(amp=amp, R_sersic=re, n_sersic=n, e1=se1, e2=se2, center_x=sx, center_y=sy),
        clumps, None if kernel is None else kernel.numpy(),
    )
    assert np.abs(ours - theirs).max() < 0.01 * theirs.max()


@pytest.mark.parametrize("beta_frac", [0.3, 0.5, 0.7])
def test_point_source_behind_sis_has_mu_two_theta_over_beta(beta_frac):
    te = 1.5
    src = make_source(beta_frac * te, 0.0, 0.05, 1.0, 1.0, 0.0)  # point-like: r_e << beta
    unit, _ = lensed_unit_image(make_lens(te, 1.0, 0.0), src, RenderSettings(npix=61))
    assert float(unit.sum()) == pytest.approx(2.0 / beta_frac, rel=0.01)


def test_injected_flux_is_mu_times_source_flux_and_psf_conserves_it():
    flux = T([[2.0, 3.0, 5.0]])
    kern = gaussian_kernel(T([[1.3, 1.2, 1.1]]), 8, PIX)
    src = make_source(0.3, 0.1, 0.2, 1.0, 0.8, 0.3, ((0.35, 0.1, 0.04, 0.3),))
    out = render_arcs(make_lens(1.4, 0.75, 0.5, 0.02, 0.01), src, flux, kern, RenderSettings(npix=64))
    mu = float(out.mu_eff[0])
    assert 1.5 < mu < 50
    assert np.allclose(out.unconvolved.sum(dim=(-1, -2)).numpy(), mu * flux.numpy(), rtol=1e-10)
    assert np.allclose(out.arcs.sum(dim=(-1, -2)).numpy(), mu * flux.numpy(), rtol=5e-3)  # arc well inside the stamp
    # mu_eff agrees with a 32x uniformly oversampled rendering.
    ref, _ = lensed_unit_image(make_lens(1.4, 0.75, 0.5, 0.02, 0.01), src, RenderSettings(npix=64, oversample=32, adaptive=False))
    assert mu == pytest.approx(float(ref.sum()), rel=0.01)


def test_zero_mass_returns_the_source():
    clumps = ((0.5, -0.1, 0.06, 0.2),)
    bn = lenstronomy_bn(T(2.0))
    src = make_source(0.4, -0.2, 0.3, 2.0, 0.6, 0.9, clumps, b_n=bn)
    unit, _ = lensed_unit_image(make_lens(0.0, 0.8, 0.3, 0.0, 0.0), src, RenderSettings(npix=65, oversample=8, adaptive=False))
    e1, e2 = param_util.phi_q2_ellipticity(0.9, 0.6)
    theirs = lenstronomy_image(
        65, 8, [dict(theta_E=0.0, e1=0.0, e2=0.0, center_x=0.0, center_y=0.0), dict(gamma1=0.0, gamma2=0.0)],
        dict(amp=0.8 * float(sersic_ie_for_unit_flux(T(0.3), T(2.0), bn)), R_sersic=0.3, n_sersic=2.0, e1=e1, e2=e2,
             center_x=0.4, center_y=-0.2),
        clumps,
    )
    assert np.abs(unit[0].numpy() - theirs).max() < 0.01 * theirs.max()
    # The unlensed source carries its whole (unit) flux, Sersic and clumps together.
    exact = make_source(0.4, -0.2, 0.3, 2.0, 0.6, 0.9, clumps)
    unit_exact, _ = lensed_unit_image(make_lens(0.0, 0.8, 0.3), exact, RenderSettings(npix=65))
    assert float(unit_exact.sum()) == pytest.approx(1.0, rel=0.01)


def test_batch_equals_one_by_one():
    rng = np.random.default_rng(3)
    b = 6
    lens = LensParams(T(rng.uniform(0.5, 2.5, b)), T(rng.uniform(0.4, 1, b)), T(rng.uniform(0, 3, b)), T(np.zeros(b)),
                      T(np.zeros(b)), T(rng.uniform(-0.05, 0.05, b)), T(rng.uniform(-0.05, 0.05, b)))
    cx = rng.normal(0, 0.2, (b, 2))
    cf = np.where(rng.uniform(size=(b, 2)) < 0.5, 0.2, 0.0)
    t = lambda v: torch.as_tensor(v, dtype=torch.float64)  # noqa: E731
    src = SourceParams(T(rng.uniform(-0.5, 0.5, b)), T(rng.uniform(-0.5, 0.5, b)), T(rng.uniform(0.05, 0.5, b)),
                       T(rng.uniform(0.5, 4, b)), T(rng.uniform(0.3, 1, b)), T(rng.uniform(0, 3, b)),
                       t(cx), t(cx[:, ::-1].copy()), t(np.full((b, 2), 0.05)), t(cf))
    flux = T(rng.uniform(1, 3, (b, 3)))
    kern = gaussian_kernel(T(rng.uniform(1.0, 1.5, (b, 3))), 8, PIX)
    s = RenderSettings(npix=48)
    batch = render_arcs(lens, src, flux, kern, s).arcs
    for i in range(b):
        idx = torch.tensor([i])
        single = render_arcs(lens.index(idx), src.index(idx), flux[idx], kern[idx], s).arcs
        assert torch.allclose(batch[i], single[0], rtol=1e-10, atol=1e-14)


def test_adaptive_matches_32x_reference_on_compact_sources():
    rng = np.random.default_rng(11)
    b = 8
    lens = LensParams(T(rng.uniform(0.5, 3, b)), T(rng.uniform(0.5, 1, b)), T(rng.uniform(0, 3, b)), T(np.zeros(b)),
                      T(np.zeros(b)), T(rng.uniform(-0.05, 0.05, b)), T(rng.uniform(-0.05, 0.05, b)))
    te = lens.theta_e.numpy()
    bf = np.sqrt(rng.uniform(0.01, 1, b))
    ang = rng.uniform(0, 2 * np.pi, b)
    t = lambda v: torch.as_tensor(v, dtype=torch.float64)  # noqa: E731
    src = SourceParams(T(bf * te * np.cos(ang)), T(bf * te * np.sin(ang)), T(rng.uniform(0.05, 0.15, b)),
                       T(rng.uniform(0.5, 4, b)), T(rng.uniform(0.5, 1, b)), T(rng.uniform(0, 3, b)),
                       t(np.zeros((b, 1))), t(np.zeros((b, 1))), t(np.ones((b, 1))), t(np.zeros((b, 1))))
    adaptive, frac = lensed_unit_image(lens, src, RenderSettings(npix=101))
    ref, _ = lensed_unit_image(lens, src, RenderSettings(npix=101, oversample=32, adaptive=False))
    rel = (adaptive.sum(dim=(1, 2)) / ref.sum(dim=(1, 2)) - 1).abs()
    assert float(rel.max()) < 0.01
    assert frac < 0.2  # it really is adaptive


def _random_systems(rng: np.random.Generator, b: int, dtype: torch.dtype):
    """b lenses and clumpy sources (one of them a round lens, the q = 1 series branch)."""
    q = rng.uniform(0.4, 1, b)
    q[0] = 1.0
    lens = LensParams(*(torch.as_tensor(v, dtype=dtype) for v in (
        rng.uniform(0.5, 2.5, b), q, rng.uniform(0, 3, b), np.zeros(b), np.zeros(b),
        rng.uniform(-0.05, 0.05, b), rng.uniform(-0.05, 0.05, b))))
    n_clumps = 3
    present = rng.uniform(size=(b, n_clumps)) < 0.5
    src = SourceParams(*(torch.as_tensor(v, dtype=dtype) for v in (
        rng.uniform(-0.6, 0.6, b), rng.uniform(-0.6, 0.6, b), rng.uniform(0.05, 0.4, b), rng.uniform(0.5, 4, b),
        rng.uniform(0.4, 1, b), rng.uniform(0, 3, b), rng.normal(0, 0.2, (b, n_clumps)),
        rng.normal(0, 0.2, (b, n_clumps)), np.where(present, rng.uniform(0.02, 0.1, (b, n_clumps)), 1.0),
        np.where(present, 0.1, 0.0))))
    flux = torch.as_tensor(rng.uniform(1, 3, (b, 3)), dtype=dtype)
    kern = gaussian_kernel(torch.as_tensor(rng.uniform(1.0, 1.5, (b, 3)), dtype=dtype), 8, PIX)
    return lens, src, flux, kern


@pytest.mark.parametrize("dtype, rtol", [(torch.float32, 2e-5), (torch.float64, 1e-10)])
def test_compiled_engine_equals_eager(dtype, rtol):
    """torch.compile changes only float rounding: same arcs, same oversampling decisions."""
    rng = np.random.default_rng(5)
    eager_s = RenderSettings(npix=49)
    compiled_s = RenderSettings(npix=49, compile=True)
    for b in (5, 7):  # a second batch size exercises the dynamic-shape recompilation
        lens, src, flux, kern = _random_systems(rng, b, dtype)
        eager = render_arcs(lens, src, flux, kern, eager_s)
        compiled = render_arcs(lens, src, flux, kern, compiled_s)
        assert compiled.refined_fraction == eager.refined_fraction
        peak = eager.arcs.abs().amax(dim=(-1, -2), keepdim=True)
        assert float(((compiled.arcs - eager.arcs).abs() / peak).max()) < rtol
        assert torch.allclose(compiled.mu_eff, eager.mu_eff, rtol=rtol)


def test_compile_without_a_cpp_compiler_says_so(monkeypatch):
    import stronglens.physics.compiled as compiled_mod

    monkeypatch.setattr(compiled_mod.shutil, "which", lambda name: None)
    lens, src, flux, kern = _random_systems(np.random.default_rng(0), 2, torch.float64)
    with pytest.raises(RuntimeError, match="C\\+\\+ compiler"):
        render_arcs(lens, src, flux, kern, RenderSettings(npix=21, compile=True))


def test_the_compiled_hot_paths_trace_as_single_graphs():
    """A graph break would leave eager pieces in the compiled engine (slow, not wrong): there is none."""
    from stronglens.physics import render as inj
    from stronglens.physics.pixels import pixel_grid, subpixel_offsets

    lens, src, _, _ = _random_systems(np.random.default_rng(0), 3, torch.float32)
    y, x = pixel_grid(21, PIX, 1)
    centre = torch._dynamo.explain(inj._centre_pass)(x.expand(3, -1, -1), y.expand(3, -1, -1), lens, src,
                                                     RenderSettings(npix=21))
    pix = torch.tensor([[0, 10, 10], [1, 9, 10], [2, 10, 11]])
    refine = torch._dynamo.explain(inj._refined_pixel_sb)(pix, subpixel_offsets(4, PIX), lens.index(pix[:, 0]),
                                                          src.index(pix[:, 0]), 21, PIX)
    for explained in (centre, refine):
        assert (explained.graph_count, explained.graph_break_count) == (1, 0), explained.break_reasons
