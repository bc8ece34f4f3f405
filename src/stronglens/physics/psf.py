"""Point-spread functions and their convolution at native pixel resolution.

Kernels are pixel-integrated (a Gaussian exactly, from normal-CDF differences;
a Moffat as the mean of a sub-sampled grid), centred on the middle pixel of an
odd-sized stamp and normalised to sum 1. `psf_convolve` applies separable
kernels as banded matrix products and any other kernel by a padded FFT; both
are the same linear ('same'-size, zero-padded) convolution.
Per-band FWHM follows the Kolmogorov scaling from the r-band ``psfsize_r``:
g = 1.05x, r = 1.00x, z = 0.94x (`BAND_FWHM_FACTOR`).
"""

from __future__ import annotations

import math

import torch

from stronglens.core.constants import BAND_FWHM_FACTOR, BANDS

FWHM_TO_SIGMA = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))


def band_fwhm(psfsize_r: torch.Tensor, bands: tuple[str, ...] = BANDS) -> torch.Tensor:
    """Per-band FWHM (arcsec), shape (B, C), from the r-band FWHM (B,)."""
    factors = torch.tensor([BAND_FWHM_FACTOR[b] for b in bands], dtype=psfsize_r.dtype, device=psfsize_r.device)
    return psfsize_r[:, None] * factors[None, :]


def kernel_radius_px(max_fwhm_arcsec: float, pixscale: float, kind: str) -> int:
    """Kernel half-width in pixels: >= 4 sigma for a Gaussian, 3 FWHM for a Moffat."""
    sigma_px = max_fwhm_arcsec * FWHM_TO_SIGMA / pixscale
    if kind == "gaussian":
        return max(2, math.ceil(4.0 * sigma_px))
    return max(3, math.ceil(3.0 * max_fwhm_arcsec / pixscale))


def _subpixel_radius2(radius: int, pixscale: float, sub: int, like: torch.Tensor) -> torch.Tensor:
    """Squared distance (arcsec^2) from the kernel centre of every sub-pixel, (k*sub, k*sub)."""
    k = 2 * radius + 1
    offs = (torch.arange(k * sub, dtype=like.dtype, device=like.device) + 0.5) / sub - k / 2.0
    offs = offs * pixscale
    return offs[None, :] ** 2 + offs[:, None] ** 2


def _pixel_average(profile: torch.Tensor, radius: int, sub: int) -> torch.Tensor:
    """Average (..., k*sub, k*sub) sub-pixel values to (..., k, k) and normalise to sum 1."""
    k = 2 * radius + 1
    shaped = profile.reshape(profile.shape[:-2] + (k, sub, k, sub)).mean(dim=(-1, -3))
    return shaped / shaped.sum(dim=(-1, -2), keepdim=True)


def gaussian_profile_1d(fwhm: torch.Tensor, radius: int, pixscale: float) -> torch.Tensor:
    """Exact pixel integrals of a unit 1-D Gaussian over pixels -radius..radius, shape fwhm.shape + (k,).

    Differences of the normal CDF at the pixel edges, in float64; fwhm in arcsec.
    """
    k = 2 * radius + 1
    sigma = (fwhm.double() * FWHM_TO_SIGMA)[..., None]
    edges = (torch.arange(k + 1, dtype=torch.float64, device=fwhm.device) - radius - 0.5) * pixscale
    cdf = 0.5 * torch.special.erf(edges / (sigma * math.sqrt(2.0)))
    return cdf[..., 1:] - cdf[..., :-1]


def gaussian_kernel(fwhm: torch.Tensor, radius: int, pixscale: float) -> torch.Tensor:
    """Pixel-integrated circular Gaussian kernels, shape fwhm.shape + (k, k); fwhm in arcsec.

    Each pixel holds the exact integral of the Gaussian over its square (a
    circular Gaussian is the product of two 1-D ones), renormalised to sum 1
    after truncation at `radius`. Returned in fwhm's dtype.
    """
    g = gaussian_profile_1d(fwhm, radius, pixscale)
    g = g / g.sum(dim=-1, keepdim=True)
    return (g[..., :, None] * g[..., None, :]).to(fwhm.dtype)


def moffat_kernel(fwhm: torch.Tensor, beta: float, radius: int, pixscale: float, sub: int = 5) -> torch.Tensor:
    """Pixel-integrated circular Moffat kernels, truncated at `radius` and renormalised.

    alpha = FWHM / (2 sqrt(2^(1/beta) - 1)); profile (1 + r^2/alpha^2)^(-beta).
    """
    if beta <= 1.0:
        raise ValueError(f"Moffat beta must be > 1 for a finite flux, got {beta}")
    r2 = _subpixel_radius2(radius, pixscale, sub, fwhm)
    alpha = (fwhm / (2.0 * math.sqrt(2.0 ** (1.0 / beta) - 1.0)))[..., None, None]
    return _pixel_average((1.0 + r2 / alpha**2) ** (-beta), radius, sub)


MAX_FWHM_ARCSEC = 2.1  # the widest DR10 seeing we expect: 2.0" in r, times the g-band factor


def make_psf_kernels(
    psfsize_r: torch.Tensor, pixscale: float, kind: str = "gaussian", moffat_beta: float = 3.5
) -> torch.Tensor:
    """Per-system, per-band PSF kernels (B, C, k, k) from psfsize_r (B,) in arcsec.

    The kernel size is set by MAX_FWHM_ARCSEC, not by the batch, so a row's
    kernel (hence its pixels) does not depend on which rows share its batch;
    only a batch holding wider seeing than that grows the kernel.
    """
    fwhm = band_fwhm(psfsize_r)
    radius = kernel_radius_px(max(MAX_FWHM_ARCSEC, float(fwhm.max())), pixscale, kind)
    if kind == "gaussian":
        return gaussian_kernel(fwhm, radius, pixscale)
    if kind == "moffat":
        return moffat_kernel(fwhm, moffat_beta, radius, pixscale)
    raise ValueError(f"unknown PSF kind {kind!r}; expected 'gaussian' or 'moffat'")


def fast_fft_size(n: int) -> int:
    """Smallest integer >= n whose only prime factors are 2, 3 and 5 (fast FFT lengths)."""
    m = n
    while True:
        k = m
        for p in (2, 3, 5):
            while k % p == 0:
                k //= p
        if k == 1:
            return m
        m += 1


SEPARABLE_RTOL = 1e-6  # a kernel counts as separable when its rank-1 residual is below this fraction of its sum


def separable_factors(kernels: torch.Tensor, rtol: float = SEPARABLE_RTOL) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Column and row factors (u, v), each (..., k), with kernels == u[..., :, None] * v[..., None, :].

    A separable kernel K = u v^T has row sums u * sum(v) and column sums
    v * sum(u), so u = row sums and v = column sums / sum(K). Returns None
    unless every kernel matches that product to `rtol` times its sum (checked
    in float64). A pixel-integrated circular Gaussian is exactly separable; a
    Moffat is not.
    """
    k64 = kernels.double()
    total = k64.sum(dim=(-1, -2))
    col = k64.sum(dim=-1)
    row = k64.sum(dim=-2) / total[..., None]
    residual = (k64 - col[..., :, None] * row[..., None, :]).abs().amax(dim=(-1, -2))
    if bool((residual > rtol * total.abs()).any()):
        return None
    return col.to(kernels.dtype), row.to(kernels.dtype)


def _toeplitz_same(factor: torch.Tensor, n: int) -> torch.Tensor:
    """(..., n, n) matrices T with (T @ a)[i] = sum_j factor[i - j + r] a[j]: 1-D 'same' convolution, r = k // 2.

    Built without a gather: the reversed factor, zero-padded to length L + 1
    (L = n + k - 1), repeated n times and cut to n rows of L, puts it one
    column further right on every row; the 'same' window is columns r .. r + n.
    """
    k = factor.shape[-1]
    r = k // 2
    width = n + k - 1
    pattern = torch.nn.functional.pad(factor.flip(-1), (0, width + 1 - k))
    banded = pattern.repeat((1,) * (factor.dim() - 1) + (n,))[..., : n * width]
    return banded.reshape(factor.shape[:-1] + (n, width))[..., r : r + n]


def separable_convolve(images: torch.Tensor, col: torch.Tensor, row: torch.Tensor) -> torch.Tensor:
    """Linear 'same'-size convolution of (B, C, H, W) images with separable kernels col x row.

    col, row: (B, C, k) factors along y (rows) and x (columns). Done as two banded
    matrix products, out = T_y @ image @ T_x^T, which on a CPU is several times
    faster than a padded FFT for stamp-sized images and kernels.
    """
    h, w = images.shape[-2:]
    return _toeplitz_same(col, h) @ images @ _toeplitz_same(row, w).transpose(-1, -2)


def psf_convolve(images: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Linear 'same'-size convolution of (B, C, H, W) images with (B, C, k, k) kernels.

    Separable kernels (every Gaussian) take `separable_convolve`; any other
    kernel (Moffat) takes `fft_convolve`. Both give the same linear convolution
    with zero padding outside the stamp.
    """
    factors = separable_factors(kernels)
    if factors is None:
        return fft_convolve(images, kernels)
    return separable_convolve(images, *factors)


def fft_convolve(images: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Linear ('same'-size) convolution of (B, C, H, W) images with (B, C, k, k) kernels.

    The FFT grid is padded to at least H + k - 1, i.e. by the full kernel
    radius (>= 3 sigma of the PSF) on each side, so nothing wraps around; it
    is rounded up to a 2-3-5-smooth length for speed.
    """
    h, w = images.shape[-2:]
    k = kernels.shape[-1]
    if k % 2 != 1 or kernels.shape[-2] != k:
        raise ValueError(f"kernels must be square and odd-sized, got {tuple(kernels.shape[-2:])}")
    r = k // 2
    size = (fast_fft_size(h + k - 1), fast_fft_size(w + k - 1))
    spec = torch.fft.rfft2(images, s=size) * torch.fft.rfft2(kernels, s=size)
    full = torch.fft.irfft2(spec, s=size)
    return full[..., r : r + h, r : r + w]
