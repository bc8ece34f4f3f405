"""Image interventions shared by training, gates and figures (docs/science.md sections 6 and 7).

Core masks (the pixels r <= R of the object centre), arc occlusion (the annulus
around theta_E replaced by sky), and the azimuthal shuffle that turns a pair's
arc into a hard negative: same radial flux, no arc morphology. Training uses
them as augmentations, the gates as probes, the figures to show them; keeping
one copy means a gate probes exactly what training mitigates.

Conventions: images are (C, H, W) or (N, C, H, W) float arrays in preprocessed
units; the object centre is pixel (H // 2, W // 2); radii are in pixels,
theta_E and pads in arcsec (converted with the DR10 pixel scale).
"""

from __future__ import annotations

import numpy as np

from stronglens.core.constants import PIXSCALE_ARCSEC
from stronglens.core.rng import generator


def core_mask(shape: tuple[int, int], radius: float) -> np.ndarray:
    """Boolean (H, W) mask of pixels whose centre lies within `radius` px of the object centre."""
    return radius_pix(shape) <= radius


def radius_pix(shape: tuple[int, int]) -> np.ndarray:
    """(H, W) distance of every pixel centre from the object centre (H // 2, W // 2), in pixels."""
    yy, xx = np.indices(shape)
    return np.hypot(yy - shape[0] // 2, xx - shape[1] // 2)


def ring_index(shape: tuple[int, int], ring_px: float = 1.0) -> np.ndarray:
    """Integer ring number floor(r / ring_px) of every pixel of an (H, W) stamp."""
    return np.floor(radius_pix(shape) / ring_px).astype(np.int64)


def azimuthal_shuffle(arc: np.ndarray, rng: np.random.Generator, ring_px: float = 1.0) -> np.ndarray:
    """Permute the pixels of a (C, H, W) arc image within each ring of width `ring_px` about the centre.

    One permutation per ring, shared by the bands (colours stay together).
    Each ring keeps exactly its flux (and its radial profile at the ring
    resolution, including the Einstein-radius ring) while the arc's azimuthal
    shape is destroyed: the arc signal of a hard negative.
    """
    rings = ring_index(arc.shape[-2:], ring_px).ravel()
    order = np.argsort(rings, kind="stable")
    bounds = np.flatnonzero(np.diff(rings[order])) + 1
    perm = np.empty_like(order)
    for group in np.split(order, bounds):
        perm[group] = group[rng.permutation(len(group))]
    flat = arc.reshape(arc.shape[0], -1)
    return flat[:, perm].reshape(arc.shape)


def hard_negative(stamp: np.ndarray, ctrl: np.ndarray, rng: np.random.Generator, ring_px: float,
                  clip: float | None) -> np.ndarray:
    """ctrl + the azimuthally shuffled arc (stamp - ctrl), re-clipped like the preprocessing.

    Same host, same radial arc flux, no arc morphology: label 0.
    """
    out = ctrl + azimuthal_shuffle(stamp - ctrl, rng, ring_px)
    if clip is not None:
        np.clip(out, -clip, clip, out=out)
    return out.astype(np.float32, copy=False)


def mask_core(x: np.ndarray, radius: float) -> np.ndarray:
    """Copy of (N, C, H, W) images with pixels r <= radius set to 0 (the sky level in preprocessed units)."""
    out = np.array(x, dtype=np.float32, copy=True)
    if radius > 0:
        out[..., core_mask(x.shape[-2:], radius)] = 0.0
    return out


def occlude_arcs(x: np.ndarray, theta_e_arcsec: np.ndarray, band: tuple[float, float], seed: int = 0,
                 fill: str = "sky", pad_arcsec: np.ndarray | float = 0.0) -> np.ndarray:
    """Copy with the annulus band[0]*theta_E - pad <= r <= band[1]*theta_E + pad of each image occluded.

    `pad_arcsec` (per image or one value) widens the annulus by the PSF blur.
    fill ``sky``: pixel values redrawn (with replacement, per band) from the
    image's own outer ring r >= 0.75 x half-width, so the occluded annulus
    looks like blank sky whatever the preprocessing; ``zero``: set to 0.
    """
    r = radius_pix(x.shape[-2:])
    outer = r >= 0.75 * (min(x.shape[-2:]) / 2)
    theta_px = np.asarray(theta_e_arcsec, dtype=np.float64) / PIXSCALE_ARCSEC
    pad_px = np.broadcast_to(np.asarray(pad_arcsec, dtype=np.float64) / PIXSCALE_ARCSEC, theta_px.shape)
    out = np.array(x, dtype=np.float32, copy=True)
    for i, (t, pad) in enumerate(zip(theta_px, pad_px)):
        ring = (r >= band[0] * t - pad) & (r <= band[1] * t + pad)
        if fill == "zero":
            out[i][..., ring] = 0.0
            continue
        rng = generator(seed, "gates:occlusion", i)
        for c in range(x.shape[1]):
            out[i, c][ring] = rng.choice(x[i, c][outer], size=int(ring.sum()))
    return out
