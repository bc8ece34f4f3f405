"""PSF kernels and the padded FFT convolution."""

from __future__ import annotations

import numpy as np
import torch
from scipy.signal import fftconvolve

from stronglens.physics.psf import (
    band_fwhm,
    fft_convolve,
    gaussian_kernel,
    make_psf_kernels,
    moffat_kernel,
    psf_convolve,
    separable_factors,
)


def assert_equals_direct_convolution(ours: torch.Tensor, img: torch.Tensor, kern: torch.Tensor) -> None:
    """Every (system, band) image equals scipy's direct 'same' linear convolution."""
    for b in range(img.shape[0]):
        for c in range(img.shape[1]):
            ref = fftconvolve(img[b, c].numpy(), kern[b, c].numpy(), mode="same")
            assert np.allclose(ours[b, c].numpy(), ref, atol=1e-10)


def test_band_fwhm_follows_kolmogorov_factors():
    f = band_fwhm(torch.tensor([1.0, 1.4], dtype=torch.float64))
    assert torch.allclose(f, torch.tensor([[1.05, 1.0, 0.94], [1.47, 1.4, 1.316]], dtype=torch.float64))


def test_kernels_are_normalised_and_have_the_right_width():
    fwhm = torch.tensor([[1.2]], dtype=torch.float64)
    for kern in (gaussian_kernel(fwhm, 12, 0.262), moffat_kernel(fwhm, 3.5, 12, 0.262, sub=9)):
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
    assert_equals_direct_convolution(fft_convolve(img, kern), img, kern)


def test_no_wraparound():
    img = torch.zeros((1, 1, 32, 32), dtype=torch.float64)
    img[0, 0, 16, 0] = 1.0  # a point on the left edge
    out = fft_convolve(img, gaussian_kernel(torch.tensor([[1.5]], dtype=torch.float64), 10, 0.262))
    assert float(out[0, 0, :, -8:].abs().max()) < 1e-12


def test_gaussian_kernel_holds_the_exact_pixel_integrals():
    fwhm, radius, pix, sub = 1.3, 9, 0.262, 81
    kern = gaussian_kernel(torch.tensor([fwhm], dtype=torch.float64), radius, pix)[0].numpy()
    # Brute force: a fine midpoint sum of the 2-D Gaussian inside every pixel.
    k = 2 * radius + 1
    offs = ((np.arange(k * sub) + 0.5) / sub - k / 2.0) * pix
    sigma = fwhm / (2.0 * np.sqrt(2.0 * np.log(2.0)))
    g = np.exp(-0.5 * (offs[None, :] ** 2 + offs[:, None] ** 2) / sigma**2)
    brute = g.reshape(k, sub, k, sub).mean(axis=(1, 3))
    brute /= brute.sum()
    assert np.abs(kern - brute).max() < 1e-5 * kern.max()
    assert abs(kern.sum() - 1.0) < 1e-12


def test_separable_convolution_equals_the_direct_linear_convolution():
    rng = np.random.default_rng(1)
    img = torch.as_tensor(rng.normal(size=(2, 3, 37, 41)))
    # An asymmetric rank-1 kernel catches a flipped (correlation) or transposed product.
    col = torch.as_tensor(rng.uniform(0.1, 1.0, size=(2, 3, 9)))
    row = torch.as_tensor(rng.uniform(0.1, 1.0, size=(2, 3, 9)))
    kern = col[..., :, None] * row[..., None, :]
    assert separable_factors(kern) is not None
    assert_equals_direct_convolution(psf_convolve(img, kern), img, kern)


def test_psf_convolve_takes_the_fft_for_kernels_that_do_not_factor():
    rng = np.random.default_rng(2)
    img = torch.as_tensor(rng.normal(size=(2, 3, 33, 33)))
    psfsize = torch.tensor([1.1, 1.6], dtype=torch.float64)
    gauss = make_psf_kernels(psfsize, 0.262)
    moffat = make_psf_kernels(psfsize, 0.262, "moffat")
    assert separable_factors(gauss) is not None
    assert separable_factors(moffat) is None
    for kern in (gauss, moffat):
        assert torch.allclose(psf_convolve(img, kern), fft_convolve(img, kern), atol=1e-12)
    # float32 images: the separable product agrees with the FFT to float rounding.
    img32, gauss32 = img.float(), gauss.float()
    assert torch.allclose(psf_convolve(img32, gauss32), fft_convolve(img32, gauss32), atol=1e-5)
