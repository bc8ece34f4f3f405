"""SIE + shear deflections against lenstronomy and analytic limits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from lenstronomy.LensModel.lens_model import LensModel
from lenstronomy.Util import param_util

from stronglens.physics.lens import LensParams, deflection

T = lambda a: torch.as_tensor(np.atleast_1d(a), dtype=torch.float64)  # noqa: E731


def lens(theta_e, q, phi, g1=0.0, g2=0.0, x0=0.0, y0=0.0) -> LensParams:
    return LensParams(T(theta_e), T(q), T(phi), T(x0), T(y0), T(g1), T(g2))


@pytest.mark.parametrize("q", [0.3, 0.45, 0.6, 0.8, 0.95, 0.999, 1.0])
def test_sie_shear_matches_lenstronomy(q):
    rng = np.random.default_rng(int(q * 1000))
    lm = LensModel(["SIE", "SHEAR"])
    x, y = np.meshgrid(np.linspace(-4, 4, 33), np.linspace(-4, 4, 33))
    for phi in np.linspace(0, np.pi, 9):
        te, g1, g2, cx, cy = rng.uniform(0.5, 3), *rng.uniform(-0.08, 0.08, 2), *rng.uniform(-0.3, 0.3, 2)
        ax, ay = deflection(T(x)[None], T(y)[None], lens(te, q, phi, g1, g2, cx, cy))
        e1, e2 = param_util.phi_q2_ellipticity(phi, q)
        kw = [dict(theta_E=te, e1=e1, e2=e2, center_x=cx, center_y=cy), dict(gamma1=g1, gamma2=g2, ra_0=cx, dec_0=cy)]
        lx, ly = lm.alpha(x, y, kw)
        assert np.abs(ax[0].numpy() - lx).max() < 1e-6
        assert np.abs(ay[0].numpy() - ly).max() < 1e-6


def test_sis_limit_is_theta_e_radial():
    x, y = T(np.linspace(-3, 3, 40))[None], T(np.linspace(2.2, -1.7, 40))[None]  # avoids the origin
    ax, ay = deflection(x, y, lens(1.3, 1.0, 0.7))
    r = torch.hypot(x, y)
    assert torch.allclose(ax, 1.3 * x / r, atol=1e-12)
    assert torch.allclose(ay, 1.3 * y / r, atol=1e-12)


def test_q_to_one_is_continuous():
    x, y = T(np.linspace(-3, 3, 50))[None], T(np.linspace(-1, 2.5, 50))[None]
    ref = deflection(x, y, lens(1.5, 1.0, 0.3))
    for eps in (1e-3, 1e-5, 1e-7, 1e-9, 1e-12):
        a = deflection(x, y, lens(1.5, 1.0 - eps, 0.3))
        tol = 10 * eps + 1e-12
        assert torch.allclose(a[0], ref[0], atol=tol) and torch.allclose(a[1], ref[1], atol=tol)


def test_zero_mass_and_centre_are_finite():
    x, y = T([0.0, 0.5, -1.0])[None], T([0.0, 0.0, 2.0])[None]
    ax, ay = deflection(x, y, lens(0.0, 0.7, 0.2))
    assert torch.all(ax == 0) and torch.all(ay == 0)
    ax, ay = deflection(x, y, lens(1.0, 0.7, 0.2))
    assert torch.isfinite(ax).all() and torch.isfinite(ay).all()
    assert ax[0, 0] == 0 and ay[0, 0] == 0  # the exact centre is defined as 0
