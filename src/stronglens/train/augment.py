"""Training-time augmentations and shortcut mitigations (docs/science.md section 6).

All randomness is per sample and comes from ``aug_seed(seed, index, epoch, n)``
= ``(seed * 1000003 + index + epoch * n) & 0x7fffffff``, so a sample's
augmentation changes every epoch (a fixed per-sample augmentation let the
seeds' models memorise) and is reproducible for (seed, index, epoch) whatever
the batch, worker or order it lands in.

Conventions: images are (C, H, W) or (B, C, H, W) float arrays in the
preprocessed units (MAD units of the sky); the object centre is pixel
(H // 2, W // 2) as in `stronglens.physics.pixels`; radii are in pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from stronglens.data.interventions import core_mask

if TYPE_CHECKING:
    from stronglens.train.settings import CoreDropStep


def aug_seed(seed: int, index: int, epoch: int, n: int) -> int:
    """The seeds' epoch-aware augmentation seed of sample `index` in a dataset of `n` samples."""
    return (seed * 1000003 + index + epoch * n) & 0x7FFFFFFF


def centred_flip(image: np.ndarray, axis: int) -> np.ndarray:
    """Mirror about the object centre pixel (npix // 2) along `axis`.

    For an odd size this is the plain flip; for an even size the plain flip
    moves the centre by one pixel, so the result is rolled back by one (the
    wrapped row or column is an edge row of sky).
    """
    out = np.flip(image, axis)
    return np.roll(out, 1, axis) if image.shape[axis] % 2 == 0 else out


def dihedral(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random element of the 8 flips and rotations of a (C, H, W) square image.

    Transpose, vertical and horizontal mirror, each with probability 0.5, all
    about the centre pixel: the same distribution (uniform over the dihedral
    group) as the seeds' hflip p 0.5, vflip p 0.5, rot90 by k = 0..3.
    """
    transpose, vflip, hflip = rng.random(3) < 0.5
    out = np.swapaxes(image, 1, 2) if transpose else image
    if vflip:
        out = centred_flip(out, 1)
    if hflip:
        out = centred_flip(out, 2)
    return out


SKY_SIGMA_MAD_UNITS = 1.4826  # Gaussian sigma / MAD: preprocessing divides by the unscaled MAD


@dataclass(frozen=True)
class CoreDropout:
    """Mask pixels within `radius` px of the centre (r <= radius) with probability `p`.

    `fill` is ``zero`` or ``noise``: Gaussian with sigma 1.4826, the sky noise
    of a Gaussian sky in the preprocessed units (the unscaled MAD).
    """

    radius: float
    p: float
    fill: str = "zero"

    def __call__(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self.p <= 0 or self.radius <= 0 or rng.random() >= self.p:
            return image
        mask = core_mask(image.shape[-2:], self.radius)
        out = np.array(image, copy=True)
        if self.fill == "zero":
            out[..., mask] = 0.0
        else:
            out[..., mask] = (SKY_SIGMA_MAD_UNITS * rng.standard_normal(out[..., mask].shape)).astype(out.dtype)
        return out


def core_dropout_at(schedule: tuple[CoreDropStep, ...], epoch: int, fill: str) -> CoreDropout:
    """The core dropout in force at `epoch`: the first schedule entry whose `until_epoch` is above it.

    An entry without `until_epoch` (or null) holds for all later epochs; an
    empty schedule means no core dropout.
    """
    for entry in schedule:
        if entry.until_epoch is None or epoch < entry.until_epoch:
            return CoreDropout(float(entry.radius), float(entry.p), fill)
    return CoreDropout(0.0, 0.0, fill)
