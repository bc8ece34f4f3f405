"""The real-galaxy source library: segmentation of the embedded deep field, stamps, subsets, file checks."""

from __future__ import annotations

import hashlib
import time

import numpy as np
import pytest

from stronglens.sources.deep_field import deep_field_rgb, linear_bands
from stronglens.sources.library import (
    LibraryError,
    build_library,
    half_light_radius,
    load_library,
    moments_shape,
    save_library,
    subset_of,
)
from stronglens.sources.segmentation import segment_galaxies
from stronglens.sources.settings import SourceLibrarySettings

SETTINGS = SourceLibrarySettings()


@pytest.fixture
def library(source_library):
    return source_library


def test_the_library_holds_hundreds_of_measured_galaxies(library):
    print(f"library: {len(library)} galaxies ({library.meta})")
    assert len(library) >= 200
    r = library.catalog["r_half_pix"]
    assert (r >= SETTINGS.min_r_half_pix).all() and (r <= SETTINGS.max_r_half_pix).all()
    assert ((library.catalog["q"] > 0) & (library.catalog["q"] <= 1)).all()
    stamps = library.stamps.astype(np.float64)
    np.testing.assert_allclose(stamps.sum(axis=(2, 3)), 1.0, rtol=1e-5)
    assert (stamps >= 0).all() and np.isfinite(stamps).all()
    assert (stamps[:, :, [0, -1], :] == 0).all() and (stamps[:, :, :, [0, -1]] == 0).all()


def test_bands_differ_in_morphology(library):
    """Per-band stamps: the g (blue) and z (red) light are not one profile scaled."""
    diff = np.abs(library.stamps[:, 0] - library.stamps[:, 2]).sum(axis=(1, 2))
    assert np.median(diff) > 0.1


def test_subsets_are_disjoint_and_follow_the_seeded_hash(library):
    ids = library.catalog["galaxy_id"]
    sky, inj = set(ids[library.indices("sky")]), set(ids[library.indices("injection")])
    assert sky and inj and not sky & inj and len(sky) + len(inj) == len(library) == len(set(ids))
    assert all(subset_of(g, 42, SETTINGS.sky_fraction) == "sky" for g in sky)
    assert 0.35 < len(sky) / len(library) < 0.65
    other = [subset_of(g, 43, SETTINGS.sky_fraction) for g in ids]
    assert other != list(library.catalog["subset"])


def test_segmentation_and_file_are_deterministic(library, tmp_path):
    seg = segment_galaxies(linear_bands(deep_field_rgb(), SETTINGS.display_gamma), SETTINGS)
    again = build_library(seg, SETTINGS, 42)
    np.testing.assert_array_equal(again.stamps, library.stamps)
    provenance = {"config": {"seed": 42}}
    save_library(library, tmp_path / "a.npz", provenance)
    time.sleep(2.1)  # zip timestamps have a 2-second resolution: a time-stamped writer would differ now
    save_library(again, tmp_path / "b.npz", provenance)
    digest = [hashlib.sha256((tmp_path / f).read_bytes()).hexdigest() for f in ("a.npz", "b.npz")]
    assert digest[0] == digest[1]
    back = load_library(tmp_path / "a.npz")
    np.testing.assert_array_equal(back.stamps, library.stamps)
    assert list(back.catalog["galaxy_id"]) == list(library.catalog["galaxy_id"])


def test_measurements_on_known_shapes():
    yy, xx = np.indices((61, 61), dtype=float)
    sigma = 3.0
    gauss = np.exp(-0.5 * ((xx - 30.0) ** 2 + (yy - 30.0) ** 2) / sigma**2)
    # half-light radius of a circular Gaussian: sigma sqrt(2 ln 2)
    assert half_light_radius(gauss, 30.0, 30.0) == pytest.approx(sigma * np.sqrt(2 * np.log(2)), rel=0.02)
    ell = np.exp(-0.5 * (((xx - 30) * np.cos(0.5) + (yy - 30) * np.sin(0.5)) ** 2 / 6.0**2
                         + (-(xx - 30) * np.sin(0.5) + (yy - 30) * np.cos(0.5)) ** 2 / 3.0**2))
    cx, cy, q, phi = moments_shape(ell)
    assert (cx, cy) == pytest.approx((30.0, 30.0), abs=1e-6)
    assert q == pytest.approx(0.5, abs=0.01) and phi == pytest.approx(0.5, abs=0.01)


def test_a_broken_library_file_names_its_field(library, tmp_path):
    with pytest.raises(LibraryError, match="no such source library"):
        load_library(tmp_path / "missing.npz")
    path = tmp_path / "bad.npz"
    arrays = {"stamps": library.stamps[:3], "pixscale_arcsec": np.array(0.138), "meta_json": np.array("{}")}
    arrays.update({f"catalog_{k}": v[:3] for k, v in library.catalog.items() if k != "r_half_pix"})
    np.savez(path, **arrays)
    with pytest.raises(LibraryError, match="field catalog_r_half_pix is missing"):
        load_library(path)
    arrays["catalog_r_half_pix"] = library.catalog["r_half_pix"][:2]
    np.savez(path, **arrays)
    with pytest.raises(LibraryError, match="catalog_r_half_pix has 2 rows for 3 stamps"):
        load_library(path)
    arrays["catalog_r_half_pix"] = library.catalog["r_half_pix"][:3]
    arrays["stamps"] = np.where(np.arange(3)[:, None, None, None] == 1, np.nan, library.stamps[:3])
    np.savez(path, **arrays)
    with pytest.raises(LibraryError, match="non-finite"):
        load_library(path)
