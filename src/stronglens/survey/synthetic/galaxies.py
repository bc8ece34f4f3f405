"""Real-galaxy sources for the survey and the selection function (docs/science.md section 11).

A real-galaxy source keeps a Sersic draw's position, magnitudes (so its
colour prior) and half-light radius, and replaces its light profile by a
library galaxy of one subset, drawn uniformly by the row's own generator:
the galaxy is scaled so that its measured half-light radius becomes the
draw's r_e (``src_pixscale_arcsec = r_e / r_half_pix``) and rotated by the
draw's position angle. Its own clumps, colours gradients and axis ratio
replace the Sersic's; the row records which galaxy (``src_galaxy``, its
index in the library, and ``src_galaxy_id``), ``src_q`` (the galaxy's
measured axis ratio) and ``src_n`` NaN (no Sersic index applies).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from stronglens.physics.image_source import ImageSource
from stronglens.sources.library import SourceLibrary

SOURCE_MODELS = ("sersic", "real_galaxy")


def galaxy_columns(rng: np.random.Generator, library: SourceLibrary, pool: np.ndarray, r_e: float) -> dict:
    """The real-galaxy columns of one source: a galaxy of `pool` (library indices) scaled to r_e (arcsec)."""
    if len(pool) == 0:
        raise ValueError("the source library subset is empty: no real galaxy to draw")
    k = int(pool[int(rng.integers(len(pool)))])
    return {"src_model": "real_galaxy", "src_galaxy": k, "src_galaxy_id": str(library.catalog["galaxy_id"][k]),
            "src_pixscale_arcsec": float(r_e / library.catalog["r_half_pix"][k]),
            "src_q": float(library.catalog["q"][k]), "src_n": float("nan")}


def sersic_columns() -> dict:
    """The same columns for a Sersic source (no galaxy)."""
    return {"src_model": "sersic", "src_galaxy": -1, "src_galaxy_id": "", "src_pixscale_arcsec": float("nan")}


def library_tensor(library: SourceLibrary, dtype=torch.float64) -> torch.Tensor:
    """(K, 3, S, S) stamps as a torch tensor, to share across a shard's systems."""
    return torch.as_tensor(library.stamps, dtype=dtype)


def image_source_from_rows(rows: Mapping[str, Sequence], library: SourceLibrary, stamps: torch.Tensor) -> ImageSource:
    """ImageSource of real-galaxy rows (src_x/y_arcsec, src_pixscale_arcsec, src_phi, src_galaxy)."""
    k = np.asarray(rows["src_galaxy"], dtype=np.int64)
    if (k < 0).any() or (k >= len(library)).any():
        i = int(np.flatnonzero((k < 0) | (k >= len(library)))[0])
        raise ValueError(f"row {i}: field src_galaxy = {k[i]} is not a galaxy of the {len(library)}-galaxy library")
    col = lambda name: torch.as_tensor(np.asarray(rows[name], dtype=np.float64), dtype=stamps.dtype)  # noqa: E731
    cx = torch.as_tensor(library.catalog["cx"][k], dtype=stamps.dtype)
    cy = torch.as_tensor(library.catalog["cy"][k], dtype=stamps.dtype)
    pixscale = col("src_pixscale_arcsec")
    extent = torch.as_tensor(library.catalog["extent_pix"][k], dtype=stamps.dtype) * pixscale
    return ImageSource(col("src_x_arcsec"), col("src_y_arcsec"), pixscale, col("src_phi"), cx, cy, torch.as_tensor(k),
                       extent, stamps)


class GalaxyPool:
    """The galaxies of one library subset that sources are drawn from, with the library's stamps as a tensor."""

    def __init__(self, library: SourceLibrary, subset: str, dtype=torch.float64) -> None:
        self.library = library
        self.subset = subset
        self.indices = library.indices(subset)
        self.stamps = library_tensor(library, dtype)

    def columns(self, rng: np.random.Generator, r_e: float) -> dict:
        """Real-galaxy columns of one source scaled to r_e (arcsec); see `galaxy_columns`."""
        return galaxy_columns(rng, self.library, self.indices, r_e)

    def image_source(self, rows: Mapping[str, Sequence]) -> ImageSource:
        """ImageSource of rows drawn from this pool."""
        return image_source_from_rows(rows, self.library, self.stamps)
