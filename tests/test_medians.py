"""The fast exact medians (stronglens.data.medians) against the torch.quantile definition they replace."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stronglens.data.medians import annulus_median_mad, integer_radius, ring_groups, ring_medians
from stronglens.data.normalise import preprocess
from stronglens.physics.pixels import annulus_mask


def quantile_annulus(x: torch.Tensor, annulus: tuple[float, float]) -> tuple[torch.Tensor, torch.Tensor]:
    """The previous implementation: boolean gather, then torch.quantile for the median and the MAD."""
    pix = x[..., annulus_mask(x.shape[-1], annulus)]
    med = torch.quantile(pix, 0.5, dim=-1)
    return med, torch.quantile((pix - med[..., None]).abs(), 0.5, dim=-1)


def quantile_rings(x: torch.Tensor, r_max: int | None = None) -> torch.Tensor:
    """The previous implementation: one torch.quantile per integer ring."""
    r = integer_radius(x.shape[-1])
    r_max = int(r.max()) if r_max is None else r_max
    return torch.stack([torch.quantile(x[..., r == k], 0.5, dim=-1) for k in range(r_max + 1)], dim=-1)


def quantile_preprocess(x: torch.Tensor, mode: str, annulus: tuple[float, float], clip: float | None,
                        stretch: str) -> torch.Tensor:
    med, mad = quantile_annulus(x, annulus)
    y = (x - med[..., None, None]) / mad[..., None, None]
    if mode == "residual_radial_profile":
        y = y - quantile_rings(y)[..., integer_radius(x.shape[-1])]
    y = torch.asinh(y) if stretch == "asinh" else y
    return y if clip is None else y.clamp(-clip, clip)


def images(npix: int, dtype: torch.dtype, ties: bool) -> torch.Tensor:
    rng = np.random.default_rng(npix)
    x = rng.normal(0.0, 0.01, size=(5, 3, npix, npix)) + rng.exponential(0.05, size=(5, 3, 1, 1))
    if ties:  # quantised pixels: many equal values, as in integer-count or compressed images
        x = np.round(x * 300) / 300
    return torch.from_numpy(x).to(dtype)


@pytest.mark.parametrize("npix", [64, 101, 33])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("ties", [False, True])
def test_annulus_median_and_mad_equal_the_quantile_definition(npix, dtype, ties):
    x = images(npix, dtype, ties)
    annulus = (npix * 0.3, npix * 0.5)
    for got, want in zip(annulus_median_mad(x, annulus), quantile_annulus(x, annulus)):
        assert torch.equal(got, want)


@pytest.mark.parametrize("npix", [64, 101, 33])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("ties", [False, True])
def test_ring_medians_equal_one_quantile_per_ring(npix, dtype, ties):
    x = images(npix, dtype, ties)
    assert torch.equal(ring_medians(x), quantile_rings(x))
    assert torch.equal(ring_medians(x, npix // 2), quantile_rings(x, npix // 2))


def test_even_and_odd_counts_average_the_middle_pair():
    x = torch.zeros(1, 1, 64, 64, dtype=torch.float64)
    cols = annulus_mask(64, (20, 32)).flatten().nonzero().squeeze(1)
    x.view(-1)[cols] = torch.arange(len(cols), dtype=torch.float64)  # values 0..N-1
    med, mad = annulus_median_mad(x, (20, 32))
    n = len(cols)
    assert n % 2 == 0 and float(med) == (n - 1) / 2
    assert float(mad) == pytest.approx(n / 4, abs=0.5)


def test_rings_are_grouped_not_looped_and_cover_every_pixel_once():
    for npix in (64, 101):
        groups = ring_groups(npix, int(integer_radius(npix).max()), "cpu")
        assert len(groups) <= 16  # a handful of sorts, far fewer than the ~npix/1.4 rings
        pix = torch.cat([g.pixels for g in groups])
        real = pix[pix < npix * npix]
        assert sorted(real.tolist()) == list(range(npix * npix))
        for g in groups:  # no ring padded beyond 1.5x its own count
            counts = g.lower + g.upper + 1  # lower + upper = count - 1 for odd and even counts
            assert int(counts.max()) == g.width and g.width <= 1.5 * int(counts.min())


@pytest.mark.parametrize("mode", ["raw_robust", "residual_radial_profile"])
@pytest.mark.parametrize("stretch", ["none", "asinh"])
def test_preprocess_equals_the_quantile_implementation(mode, stretch):
    for npix, dtype in ((64, torch.float32), (101, torch.float32), (64, torch.float64)):
        x = images(npix, dtype, ties=False)
        got = preprocess(x, mode, (npix * 0.3, npix * 0.5), 10.0, stretch)
        want = quantile_preprocess(x, mode, (npix * 0.3, npix * 0.5), 10.0, stretch)
        assert torch.allclose(got, want, rtol=0, atol=8 * torch.finfo(dtype).eps * 10), (npix, dtype)


def test_a_nan_or_inf_pixel_is_named_not_propagated():
    from stronglens.data.normalise import PreprocessError

    x = images(64, torch.float32, ties=False)
    x[3, 1, 5, 7] = float("nan")
    x[3, 1, 6, 7] = float("inf")
    with pytest.raises(PreprocessError, match=r"cutout-3: band 1 has 2 NaN/Inf pixels"):
        preprocess(x, "raw_robust", (20, 32), 10.0, "none", labels=[f"cutout-{i}" for i in range(len(x))])
