"""Re-render recorded injections of a selection grid (for the injected-arc gallery).

Each row of ``injections.parquet`` is keyed by (cell_id, injection, attempt,
prior); drawing again from the generators those keys seed gives exactly the
host, lens, source and noise the shard scored. Synthetic hosts only.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from stronglens.selection.recovery import PRIORS, cell_kernels, draw_attempt, grid_cells, render_attempts, render_hosts
from stronglens.selection.settings import GridSettings


def rerender_injections(rows: pd.DataFrame, grid: GridSettings, seed: int, host_model: int, npix: int,
                        psf_kind: str = "gaussian") -> tuple[np.ndarray, np.ndarray]:
    """(stamps, ctrls) in nmgy, (N, 3, npix, npix), of recorded baseline injections onto synthetic hosts.

    A redrawn source that differs from the recorded one (another seed, grid or
    code) is an error, so the gallery never shows images that were not scored.
    """
    cells = grid_cells(grid).set_index("cell_id", drop=False)
    rows = rows.reset_index(drop=True)
    stamps = np.empty((len(rows), 3, npix, npix))
    ctrls = np.empty((len(rows), 3, npix, npix))
    for cell_id, group in rows.groupby("cell_id", sort=False):  # one batched render per cell
        cell = cells.loc[int(cell_id)]

        def host_r(host, cell=cell):
            return render_hosts([host], cell_kernels(float(cell["psf_fwhm"]), 1, psf_kind, 3.5), npix)[0, 1].numpy()

        attempts = []
        for r in group.itertuples(index=False):
            a = draw_attempt(seed, cell, int(r.injection), int(r.attempt), PRIORS[r.prior], host_model, {}, host_image_r=host_r)
            if not math.isclose(a.record["src_mag_r"], float(r.src_mag_r), rel_tol=1e-9):
                raise ValueError(f"injections.parquet cell {r.cell_id} injection {r.injection} attempt {r.attempt}: the redrawn "
                                 "source differs (field src_mag_r): made with another seed, grid or code version?")
            attempts.append(a)
        stamp, ctrl, _, _ = render_attempts(attempts, cell, npix, seed, {}, psf_kind)
        stamps[group.index], ctrls[group.index] = stamp, ctrl
    return stamps, ctrls
