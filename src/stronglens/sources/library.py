"""The real-galaxy source library: per-band stamps of the deep field's galaxies, measured and split.

Each galaxy of the deblended segmentation becomes a ``stamp_size`` square
stamp centred on its flux-weighted centroid, in three bands (g, r, z
proxies). Pixels keep the background-subtracted flux inside the galaxy's own
segment grown by ``dilate_pix`` and outside every other segment; the mask
is softened by a 1-pixel Gaussian so that no hard edge is lensed into an
arc, negative (noise) pixels are set to 0 and the outermost ring of the
stamp is 0 (the taper: the image source then integrates exactly, see
`stronglens.physics.image_source`). Each band is normalised to a total of 1.

Measured per galaxy, on the r-band stamp: centroid (cx, cy: column, row,
stamp pixels), circular half-light radius r_half_pix (pixels, from the
growth curve about the centroid), axis ratio q and position angle phi
(radians, from +x towards +y) from flux-weighted second moments. Kept:
galaxies whose segment lies inside the image and fits the stamp, with
positive flux in every band and min_r_half_pix <= r_half_pix <= max_r_half_pix.

Subsets: a galaxy is ``sky`` when the first 8 bytes of
sha256("<seed>:<galaxy id>") as a fraction of 2**64 fall below
sky_fraction, ``injection`` otherwise: disjoint by construction, stable
when the library grows or shrinks.

Stored as one .npz (`save_library`), arrays only (no pickle), and read
back by `load_library`, which names the file and field of anything wrong.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from stronglens.sources.segmentation import Segmentation
from stronglens.sources.settings import SourceLibrarySettings
from stronglens.storage.blobs import write_npz

SUBSETS = ("sky", "injection")
CATALOG_FIELDS = ("galaxy_id", "label", "x_image", "y_image", "cx", "cy", "r_half_pix", "extent_pix", "q", "phi", "area_pix",
                  "flux_g", "flux_r", "flux_z", "subset")


class LibraryError(ValueError):
    """A source library file that cannot be used; the message names the file and field."""


@dataclass
class SourceLibrary:
    """Galaxy stamps (K, 3, S, S) float32, unit flux per band, and their per-galaxy catalog.

    catalog: field -> (K,) array (see CATALOG_FIELDS: image position in deep-field pixels, centroid in
    stamp pixels, r_half_pix, q, phi (rad), segment area (pixels), display flux per band before
    normalisation, subset); pixscale_arcsec: the deep field's pixel scale; meta: settings and counts.
    """

    stamps: np.ndarray
    catalog: dict[str, np.ndarray]
    pixscale_arcsec: float
    meta: dict

    def __len__(self) -> int:
        return int(self.stamps.shape[0])

    def indices(self, subset: str) -> np.ndarray:
        """Indices (into stamps) of the galaxies of one subset, ascending."""
        if subset not in SUBSETS:
            raise ValueError(f"subset {subset!r}: expected one of {SUBSETS}")
        return np.flatnonzero(self.catalog["subset"] == subset)


def subset_of(galaxy_id: str, seed: int, sky_fraction: float) -> str:
    """``sky`` or ``injection`` by a seeded hash of the galaxy id (see the module docstring)."""
    digest = hashlib.sha256(f"{seed}:{galaxy_id}".encode()).digest()
    return "sky" if int.from_bytes(digest[:8], "big") / 2.0**64 < sky_fraction else "injection"


def half_light_radius(img: np.ndarray, cx: float, cy: float, sub: int = 5) -> float:
    """Circular half-light radius (pixels) about (cx, cy) from the growth curve, each pixel split into sub x sub
    equal parts (so the curve is smooth to ~1 / sub of a pixel), linearly interpolated at half the total."""
    rows, cols = np.nonzero(img)
    if len(rows) == 0:
        raise ValueError("half_light_radius: the image has no flux")
    y0, x0 = rows.min(), cols.min()
    img = img[y0 : rows.max() + 1, x0 : cols.max() + 1]  # zero pixels add nothing to the growth curve
    cx, cy = cx - x0, cy - y0
    offs = (np.arange(sub) + 0.5) / sub - 0.5
    yy, xx = np.indices(img.shape, dtype=np.float64)
    r = np.hypot((xx[..., None, None] + offs[None, None, None, :] - cx), (yy[..., None, None] + offs[None, None, :, None] - cy))
    flux = np.broadcast_to(img[..., None, None] / sub**2, r.shape)
    order = np.argsort(r.ravel(), kind="stable")
    cum = np.cumsum(flux.ravel()[order])
    return float(np.interp(0.5 * cum[-1], cum, r.ravel()[order]))


def moments_shape(img: np.ndarray) -> tuple[float, float, float, float]:
    """(cx, cy, q, phi) of a non-negative image from flux-weighted first and second moments."""
    yy, xx = np.indices(img.shape, dtype=np.float64)
    w = img.sum()
    cx, cy = (img * xx).sum() / w, (img * yy).sum() / w
    cov = np.array([[(img * (xx - cx) ** 2).sum(), (img * (xx - cx) * (yy - cy)).sum()],
                    [(img * (xx - cx) * (yy - cy)).sum(), (img * (yy - cy) ** 2).sum()]]) / w
    evals, evecs = np.linalg.eigh(cov)
    q = float(np.sqrt(max(evals[0], 1e-12) / max(evals[1], 1e-12)))
    return float(cx), float(cy), q, float(np.arctan2(evecs[1, 1], evecs[0, 1]) % np.pi)


def _galaxy_mask(labels: np.ndarray, label: int, dilate: int) -> np.ndarray:
    """Soft mask: own segment grown by `dilate` px, other segments removed, Gaussian-softened by 1 px."""
    own = labels == label
    grown = ndimage.binary_dilation(own, iterations=dilate) if dilate > 0 else own
    keep = grown & ((labels == 0) | own)
    return ndimage.gaussian_filter(keep.astype(np.float64), 1.0) * keep


def cut_stamp(seg: Segmentation, label: int, slc: tuple[slice, slice], s: SourceLibrarySettings) -> tuple[np.ndarray, dict] | None:
    """One galaxy's (3, S, S) unit-flux stamp and its catalog entry, or None if it is not kept."""
    h, w = seg.detection.shape
    size, half = s.stamp_size, s.stamp_size // 2
    if slc[0].start == 0 or slc[1].start == 0 or slc[0].stop == h or slc[1].stop == w:
        return None  # touches the image edge: truncated
    if max(slc[0].stop - slc[0].start, slc[1].stop - slc[1].start) > size - 2 * (s.dilate_pix + 2):
        return None  # does not fit the stamp with its grown mask
    own = seg.segments.data[slc] == label
    det = np.clip(seg.detection[slc], 0, None) * own
    if det.sum() <= 0:
        return None
    yy, xx = np.indices(det.shape)
    y0 = int(round((det * yy).sum() / det.sum())) + slc[0].start
    x0 = int(round((det * xx).sum() / det.sum())) + slc[1].start
    if y0 - half < 0 or x0 - half < 0 or y0 - half + size > h or x0 - half + size > w:
        return None
    window = (slice(y0 - half, y0 - half + size), slice(x0 - half, x0 - half + size))
    mask = _galaxy_mask(seg.segments.data[window], label, s.dilate_pix)
    stamp = np.clip(seg.bands[(slice(None), *window)], 0, None) * mask
    stamp[:, [0, -1], :] = 0.0
    stamp[:, :, [0, -1]] = 0.0
    flux = stamp.sum(axis=(1, 2))
    if not (flux > 0).all():
        return None
    stamp = stamp / flux[:, None, None]
    cx, cy, q, phi = moments_shape(stamp[1])
    r_half = half_light_radius(stamp[1], cx, cy)
    if not s.min_r_half_pix <= r_half <= s.max_r_half_pix:
        return None
    lit_y, lit_x = np.nonzero(stamp.sum(axis=0))
    extent = float(np.hypot(lit_x - cx, lit_y - cy).max()) + 1.0  # beyond it the bilinear interpolant is 0
    entry = {"label": label, "x_image": float(x0), "y_image": float(y0), "cx": cx, "cy": cy, "r_half_pix": r_half,
             "extent_pix": extent,
             "q": q, "phi": phi, "area_pix": int(own.sum()), "flux_g": float(flux[0]), "flux_r": float(flux[1]),
             "flux_z": float(flux[2])}
    return stamp.astype(np.float32), entry


def build_library(seg: Segmentation, s: SourceLibrarySettings, seed: int) -> SourceLibrary:
    """Every kept galaxy of a segmentation, in label order, with its subset (see the module docstring)."""
    stamps, entries = [], []
    for label, slc in zip(seg.segments.labels, seg.segments.slices):
        cut = cut_stamp(seg, int(label), slc, s)
        if cut is not None:
            stamps.append(cut[0])
            entries.append({**cut[1], "galaxy_id": f"xdf-{int(label):05d}"})
    if not entries:
        raise ValueError("no galaxy of the deep field passed the library cuts (min/max_r_half_pix, stamp_size)")
    for e in entries:
        e["subset"] = subset_of(e["galaxy_id"], seed, s.sky_fraction)
    catalog = {k: np.array([e[k] for e in entries]) for k in CATALOG_FIELDS}
    catalog["galaxy_id"] = catalog["galaxy_id"].astype("U16")
    catalog["subset"] = catalog["subset"].astype("U16")
    meta = {"n_detected": seg.n_detected, "n_deblended": int(seg.segments.n_labels), "n_kept": len(entries),
            "n_sky": int((catalog["subset"] == "sky").sum()), "n_injection": int((catalog["subset"] == "injection").sum())}
    return SourceLibrary(np.stack(stamps), catalog, s.pixscale_arcsec, meta)


def save_library(lib: SourceLibrary, path: str | Path, provenance: dict) -> None:
    """Write the library as one .npz: stamps, catalog_<field> arrays, pixscale, meta and provenance as JSON text."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {"stamps": lib.stamps, "pixscale_arcsec": np.array(lib.pixscale_arcsec),
              "meta_json": np.array(json.dumps({**lib.meta, "provenance": provenance}, sort_keys=True))}
    arrays.update({f"catalog_{k}": v for k, v in lib.catalog.items()})
    tmp = path.with_suffix(".tmp.npz")
    write_npz(tmp, arrays, compress=True)
    tmp.replace(path)


def load_library(path: str | Path) -> SourceLibrary:
    """Read a library written by `save_library`; a missing or inconsistent field is a LibraryError naming it."""
    path = Path(path)
    if not path.is_file():
        raise LibraryError(f"{path}: no such source library (rule build_source_library writes it)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as exc:
        raise LibraryError(f"{path}: not a readable .npz source library: {exc}") from exc
    for key in ("stamps", "pixscale_arcsec", "meta_json", *(f"catalog_{k}" for k in CATALOG_FIELDS)):
        if key not in data:
            raise LibraryError(f"{path}: field {key} is missing")
    stamps = data["stamps"]
    if stamps.ndim != 4 or stamps.shape[1] != 3 or stamps.shape[2] != stamps.shape[3]:
        raise LibraryError(f"{path}: field stamps has shape {stamps.shape}, expected (K, 3, S, S)")
    if not np.isfinite(stamps).all():
        raise LibraryError(f"{path}: field stamps has non-finite pixels")
    catalog = {k: data[f"catalog_{k}"] for k in CATALOG_FIELDS}
    for k, v in catalog.items():
        if len(v) != len(stamps):
            raise LibraryError(f"{path}: field catalog_{k} has {len(v)} rows for {len(stamps)} stamps")
    bad = ~np.isin(catalog["subset"], SUBSETS)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise LibraryError(f"{path}: row {i} field catalog_subset = {catalog['subset'][i]!r}, expected one of {SUBSETS}")
    return SourceLibrary(stamps, catalog, float(data["pixscale_arcsec"]), json.loads(str(data["meta_json"])))
