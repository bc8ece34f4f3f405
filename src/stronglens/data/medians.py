"""Exact medians of many pixel sets at once: annulus statistics and azimuthal ring medians.

A median here averages the two middle values of an even count, computed as
``torch.lerp(lower, upper, 0.5)`` exactly as ``torch.quantile(x, 0.5)`` does,
so the values equal the quantile definition bit for bit (docs/science.md
section 5; tests/test_medians.py holds them to it).

Speed (docs/scale.md, ``benchmarks/bench_preprocess.py``): the work is sorting.
On CPU, numpy's vectorised sort of float rows runs several times faster than
``torch.sort`` (which also builds an index array), and ``np.take`` gathers
columns several times faster than torch advanced indexing, so CPU tensors go
through numpy; other devices use torch. Ring medians never loop over rings:
rings of similar pixel count share one padded (images, rings, width) gather,
padded with +inf so the pads sort last, and one sort per such group (a handful
of groups, not one per ring) gives every ring's middle values.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from stronglens.physics.pixels import annulus_mask, radius_map_pix

# A ring joins a group while its pixel count stays within this factor of the
# group's smallest: no ring is padded to more than 1.5x its own size.
GROUP_WIDTH_RATIO = 1.5


def sort_rows(a: torch.Tensor) -> torch.Tensor:
    """Values of `a` sorted along the last axis (a new tensor; NaN sorts last on CPU)."""
    if a.device.type == "cpu":
        return torch.from_numpy(np.sort(a.detach().numpy(), axis=-1))
    return torch.sort(a, dim=-1).values


def take_columns(a: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
    """(M, K) = a[:, columns] for a 2-D `a` and 1-D long `columns`."""
    if a.device.type == "cpu":
        return torch.from_numpy(np.take(a.detach().numpy(), columns.numpy(), axis=1))
    return a.index_select(1, columns)


def middle_of_sorted(s: torch.Tensor, n: int) -> torch.Tensor:
    """Median of each row of sorted `s` (..., >= n) whose first `n` values are the data."""
    return torch.lerp(s[..., (n - 1) // 2], s[..., n // 2], 0.5)


def median_and_mad(pix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Median and MAD (median absolute deviation, unscaled) over the last axis of (..., N).

    One sort: the absolute deviations of the sorted values from the median form
    two sorted runs (below and above the median), and the MAD's middle values
    are found by a binary search over how many of them come from each run, not
    by sorting the deviations again.
    """
    n = pix.shape[-1]
    s = sort_rows(pix.reshape(-1, n))
    med = middle_of_sorted(s, n)
    lower = kth_deviation(s, med, (n - 1) // 2)
    upper = lower if n % 2 else kth_deviation(s, med, n // 2)
    return med.reshape(pix.shape[:-1]), torch.lerp(lower, upper, 0.5).reshape(pix.shape[:-1])


def kth_deviation(s: torch.Tensor, med: torch.Tensor, k: int) -> torch.Tensor:
    """The k-th smallest (0-based) |s - med| per row of sorted (M, N) `s`, with (M,) medians `med`.

    Run A (ascending) = med - s[split - 1 - j], j < split; run B = s[split + j] - med,
    j < N - split, split = N // 2 (every value below split is <= med, every value
    from split on is >= med). Deviations are formed exactly as |s - med| is.
    Binary search for i, the count taken from A among the k + 1 smallest: the
    largest i with A[i - 1] <= B[k + 1 - i] (vacuous at the ends).
    """
    n = s.shape[-1]
    split = n // 2
    a, b = split, n - split
    lo = torch.full_like(med, max(0, k + 1 - b), dtype=torch.long)
    hi = torch.full_like(med, min(a, k + 1), dtype=torch.long)

    def a_at(i: torch.Tensor) -> torch.Tensor:  # A[i], i in [0, a)
        return med - s.gather(1, (split - 1 - i).clamp(0, n - 1)[:, None])[:, 0]

    def b_at(j: torch.Tensor) -> torch.Tensor:  # B[j], j in [0, b)
        return s.gather(1, (split + j).clamp(0, n - 1)[:, None])[:, 0] - med

    while bool((lo < hi).any()):
        mid = (lo + hi + 1) // 2  # > lo, so mid - 1 >= 0
        j = k + 1 - mid
        ok = (j >= b) | (a_at(mid - 1) <= b_at(j))
        lo, hi = torch.where(ok, mid, lo), torch.where(ok, hi, mid - 1)
    j = k + 1 - lo
    inf = torch.full_like(med, -torch.inf)
    from_a = torch.where(lo > 0, a_at(lo - 1), inf)
    from_b = torch.where(j > 0, b_at(j - 1), inf)
    return torch.maximum(from_a, from_b)


@lru_cache(maxsize=32)
def annulus_columns(npix: int, annulus: tuple[float, float], device: str) -> torch.Tensor:
    """Flat pixel indices (row-major) of the pixels with inner <= r < outer."""
    mask = annulus_mask(npix, annulus).flatten()
    return mask.nonzero().squeeze(1).to(device)


def annulus_median_mad(x: torch.Tensor, annulus: tuple[float, float]) -> tuple[torch.Tensor, torch.Tensor]:
    """Median and MAD (B, C) of the annulus pixels of (B, C, H, W) images."""
    b, c, h, w = x.shape
    cols = annulus_columns(w, tuple(float(v) for v in annulus), str(x.device))
    pix = take_columns(x.reshape(b * c, h * w), cols)
    med, mad = median_and_mad(pix)
    return med.reshape(b, c), mad.reshape(b, c)


@dataclass(frozen=True)
class RingGroup:
    """Rings of similar pixel count sorted together: `pixels` is (rings x width) flat indices, pads = npix**2."""

    rings: torch.Tensor  # (nr,) long: ring radii (integer pixels)
    pixels: torch.Tensor  # (nr * width,) long
    width: int
    lower: torch.Tensor  # (nr,) long: position of each ring's lower middle value in its sorted row
    upper: torch.Tensor  # (nr,) long: position of the upper middle value


def integer_radius(npix: int, device=None) -> torch.Tensor:
    """(npix, npix) long: each pixel's distance from the object centre rounded to whole pixels."""
    return radius_map_pix(npix, device=device).round().long()


@lru_cache(maxsize=32)
def ring_groups(npix: int, r_max: int, device: str) -> tuple[RingGroup, ...]:
    """The grouping of rings 0..r_max of an npix x npix stamp (cached per stamp size and device)."""
    r = integer_radius(npix).flatten().numpy()
    order = np.argsort(r, kind="stable")
    counts = np.bincount(r, minlength=r_max + 1)[: r_max + 1]
    if (counts == 0).any():
        raise ValueError(f"rings {np.flatnonzero(counts == 0).tolist()} of a {npix}x{npix} stamp hold no pixel")
    starts = np.concatenate([[0], np.cumsum(np.bincount(r))])
    groups, by_count = [], list(np.argsort(counts, kind="stable"))
    while by_count:
        smallest = counts[by_count[0]]
        take = [k for k in by_count if counts[k] <= GROUP_WIDTH_RATIO * smallest] or by_count[:1]
        by_count = [k for k in by_count if k not in take]
        width = int(counts[take].max())
        pixels = np.full((len(take), width), npix * npix, dtype=np.int64)
        for i, k in enumerate(take):  # (plan building, once per stamp size)
            pixels[i, : counts[k]] = order[starts[k] : starts[k + 1]]
        n = counts[take]
        groups.append(RingGroup(torch.as_tensor(np.array(take), device=device), torch.as_tensor(pixels.ravel(), device=device),
                                width, torch.as_tensor((n - 1) // 2, device=device), torch.as_tensor(n // 2, device=device)))
    return tuple(groups)


def ring_medians(x: torch.Tensor, r_max: int | None = None) -> torch.Tensor:
    """(B, C, R) azimuthal medians of (B, C, H, W) images at integer radii 0..R-1 (R = r_max + 1; default: all)."""
    b, c, h, w = x.shape
    r_max = int(integer_radius(w).max()) if r_max is None else r_max
    flat = x.reshape(b * c, h * w)
    padded = torch.cat([flat, torch.full((b * c, 1), torch.inf, dtype=x.dtype, device=x.device)], dim=1)
    out = torch.empty((b * c, r_max + 1), dtype=x.dtype, device=x.device)
    for g in ring_groups(w, r_max, str(x.device)):
        v = sort_rows(take_columns(padded, g.pixels).reshape(b * c, len(g.rings), g.width))
        ring = torch.arange(len(g.rings), device=x.device)
        out[:, g.rings] = torch.lerp(v[:, ring, g.lower], v[:, ring, g.upper], 0.5)
    return out.reshape(b, c, r_max + 1)


def ring_image(rings: torch.Tensor, npix: int) -> torch.Tensor:
    """(B, C, npix, npix) image holding each pixel's ring value from (B, C, R) `rings` (R covering every radius)."""
    b, c, n_rings = rings.shape
    cols = ring_columns(npix, str(rings.device))
    return take_columns(rings.reshape(b * c, n_rings), cols).reshape(b, c, npix, npix)


@lru_cache(maxsize=32)
def ring_columns(npix: int, device: str) -> torch.Tensor:
    """(npix * npix,) long: the ring (integer radius) of every pixel, row-major."""
    return integer_radius(npix).flatten().to(device)
