"""PSF kernels and the padded FFT convolution."""

from __future__ import annotations

import numpy as np
import torch
from scipy.signal import fftconvolve

from stronglens.physics.psf import band_fwhm, fft_convolve, gaussian_kernel, make_psf_kernels, moffat_kernel


def test_band_fwhm_follows_kolmogorov_factors():
    f = band_fwhm(torch.tensor([1.0, 1.4], dtype=torch.float64))
    assert torch.allclose(f, torch.tensor([[1.05, 1.0, 0.94], [1.47, 1.4, 1.316]], dtype=torch.float64))


def test_kernels_are_normalised_and_have_the_right_width():
    fwhm = torch.tensor([[1.2]], dtype=torch.float64)
    for kern in (gaussian_kernel(fwhm, 12, 0.262, sub=9), moffat_kernel(fwhm, 3.5, 12, 0.262, sub=9)):
        k = kern[0, 0].numpy()
        assert abs(k.sum() - 1) < 1e-12
        row = k[12]
        half = row.max() / 2
        above = np.where(row >= half)[0]
        width_px = above[-1] - above[0] + 1
        assert abs(width_px * 0.262 - 1.2) < 0.3  # FWHM to within a pixel


def test_fft_convolve_equals_direct_linear_convolution():
    rng = np.random.default_rng(0)
    img = torch.as_tensor(rng.normal(size=(2, 3, 30, 30)))
    kern = make_psf_kernels(torch.tensor([1.1, 1.6], dtype=torch.float64), 0.262)
    ours = fft_convolve(img, kern).numpy()
    for b in range(2):
        for c in range(3):
            ref = fftconvolve(img[b, c].numpy(), kern[b, c].numpy(), mode="same")
            assert np.allclose(ours[b, c], ref, atol=1e-10)


def test_no_wraparound():
    img = torch.zeros((1, 1, 32, 32), dtype=torch.float64)
    img[0, 0, 16, 0] = 1.0  # a point on the left edge
    out = fft_convolve(img, gaussian_kernel(torch.tensor([[1.5]], dtype=torch.float64), 10, 0.262))
    assert float(out[0, 0, :, -8:].abs().max()) < 1e-12
