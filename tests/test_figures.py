"""Figure library: bad inputs fail loudly, recorded injections re-render exactly, raw images are checked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stronglens.figures.gallery import raw_images
from stronglens.figures.selection_panels import require_threshold
from stronglens.figures.style import gri_composite
from stronglens.selection.examples import rerender_injections
from stronglens.selection.recovery import PRIORS, draw_attempt, grid_cells
from stronglens.selection.settings import GridSettings
from stronglens.storage.blobs import encode_bands
from stronglens.storage.shards import ImageError

GRID = GridSettings(**{"theta_e": [1.0, 2.0, 1.0], "psf_fwhm": [1.2, 1.2, 0.1], "depth": [24.5, 24.5, 0.5], "n_per_cell": 2})


def recorded(seed: int = 3) -> pd.DataFrame:
    cells = grid_cells(GRID)
    rows = []
    for cell_id in (0, 1):
        a = draw_attempt(seed, cells.iloc[cell_id], 0, 0, PRIORS["broad"], 1, {})
        rows.append({"cell_id": cell_id, "injection": 0, "attempt": 0, "prior": "broad", "src_mag_r": a.record["src_mag_r"]})
    return pd.DataFrame(rows)


def test_rerendered_injections_are_stamp_equals_host_plus_arc():
    stamps, ctrls = rerender_injections(recorded(), GRID, seed=3, host_model=1, npix=48)
    assert stamps.shape == ctrls.shape == (2, 3, 48, 48)
    arc = stamps - ctrls
    assert np.isfinite(stamps).all() and (arc.sum(axis=(1, 2, 3)) > 0).all()  # an arc was added, nothing else


def test_a_rerendered_injection_that_differs_from_the_record_is_an_error():
    rows = recorded().assign(src_mag_r=lambda d: d["src_mag_r"] + 0.1)
    with pytest.raises(ValueError, match="src_mag_r"):
        rerender_injections(rows, GRID, seed=3, host_model=1, npix=48)


def test_an_unknown_figure_threshold_names_the_key():
    table = pd.DataFrame({"threshold": ["p>0.3", "fpr<=0.001"]})
    require_threshold(table, "p>0.3")
    with pytest.raises(ValueError, match="figures.selection_threshold"):
        require_threshold(table, "p>0.9")


def test_a_nan_pixel_is_never_drawn():
    img = np.ones((3, 8, 8))
    assert gri_composite(img).shape == (8, 8, 3)
    img[1, 2, 2] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        gri_composite(img)


def test_raw_gallery_images_are_read_checked_and_in_order(tmp_path):
    good = [np.full((3, 16, 16), float(k), dtype=np.float32) for k in range(3)]
    bad = good[1].copy()
    bad[0, 3, 3] = np.nan
    shard = tmp_path / "part-0.parquet"
    pq.write_table(pa.table({"stamp_npz": [encode_bands(g) for g in good],
                             "ctrl_stamp_npz": [encode_bands(g) for g in (good[0], bad, good[2])]}), shard)
    rows = pd.DataFrame({"shard": str(shard), "row": [2, 0, 1], "image_column": ["stamp_npz", "ctrl_stamp_npz", "stamp_npz"]})
    images = raw_images(rows, 16)
    assert [float(im[0, 0, 0]) for im in images] == [2.0, 0.0, 1.0]
    rows.loc[1, "row"] = 1  # the NaN control image
    with pytest.raises(ImageError, match=r"row 1 field ctrl_stamp_npz"):
        raw_images(rows, 16)
