"""Survey quantities of SCIENCE.md section 2."""

from __future__ import annotations

import numpy as np
import pytest

from stronglens.physics.photometry import m5_to_psfdepth, mag_to_nmgy, nmgy_to_mag, psfdepth_to_m5, sky_sigma_pix


def test_mag_nmgy_roundtrip_and_zeropoint():
    assert mag_to_nmgy(22.5) == pytest.approx(1.0)
    assert mag_to_nmgy(20.0) == pytest.approx(10.0)
    mags = np.linspace(15, 28, 27)
    assert np.allclose(nmgy_to_mag(mag_to_nmgy(mags)), mags)


def test_depth_roundtrip():
    m5 = np.array([23.35, 24.2, 25.35])
    assert np.allclose(psfdepth_to_m5(m5_to_psfdepth(m5)), m5)


@pytest.mark.parametrize("m5, expected", [(24.0, 0.0073), (25.0, 0.0029)])
def test_sky_sigma_reference_values(m5, expected):
    # SCIENCE.md: sigma_pix at m5 = 24.0 / 25.0 with FWHM 1.2" is 0.0073 / 0.0029 nmgy.
    assert sky_sigma_pix(m5_to_psfdepth(m5), 1.2, 0.262) == pytest.approx(expected, rel=0.02)
