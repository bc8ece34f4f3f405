"""Selection-function injections onto a dataset's own held-out negative hosts.

Real hosts are not re-rendered: each keeps its pixels (and their noise) and
is binned into the grid cell whose PSF FWHM and r-band depth lie within half
a grid step of its own `psfsize_r` and `psfdepth_r`. The arc is rendered
with the host's own PSF and added; the stamp is host + arc, the clean
control the host itself. A cell whose bin holds no host yields rows with
status ``no_host``: reported empty, never as zero completeness. A host that
fails to load (corrupt blob, NaN pixels, wrong shape) is a ``failed``
attempt retried on another host of the bin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import torch

from stronglens.core.constants import PIXSCALE_ARCSEC
from stronglens.core.rng import generator
from stronglens.physics.photometry import psfdepth_to_m5, sky_sigma_pix
from stronglens.physics.psf import band_fwhm, make_psf_kernels
from stronglens.physics.render import RenderSettings, arc_snr
from stronglens.selection.recovery import (
    DTYPE,
    Preprocessor,
    Scorer,
    draw_lensing,
    failed_row,
    host_moments,
    render_records,
    score_attempts,
)
from stronglens.selection.settings import GridSettings
from stronglens.storage.blobs import BlobError, decode_bands

LRG_TYPES = ("DEV", "SER")


@dataclass
class DatasetHosts:
    """Negative hosts of one split: manifest rows (shard, row, image_column, psfsize_r, psfdepth_r, ...)."""

    rows: pd.DataFrame
    npix: int

    @classmethod
    def from_manifest(cls, manifest: pd.DataFrame, split: str, npix: int) -> DatasetHosts:
        need = ("shard", "row", "image_column", "label", "split", "psfsize_r", "psfdepth_r", "host_id")
        missing = [c for c in need if c not in manifest.columns]
        if missing:
            raise ValueError(f"manifest lacks field(s) {missing} needed to bin hosts")
        rows = manifest[(manifest["label"] == 0) & (manifest["split"] == split)].reset_index(drop=True)
        return cls(rows.assign(m5_r=psfdepth_to_m5(rows["psfdepth_r"].to_numpy(dtype=np.float64))), npix)

    def in_cell(self, cell: pd.Series, grid: GridSettings, host_model: int) -> np.ndarray:
        """Row positions of the hosts binned into `cell` (and LRG-like ones only for host model 2)."""
        psf_half, depth_half = grid.psf_fwhm[2] / 2, grid.depth[2] / 2
        sel = ((self.rows["psfsize_r"] - cell["psf_fwhm"]).abs() <= psf_half + 1e-9) & \
              ((self.rows["m5_r"] - cell["depth_r"]).abs() <= depth_half + 1e-9)
        if host_model == 2:
            if "host_type" not in self.rows.columns:
                raise ValueError("host model 2 needs the manifest field host_type (DEV/SER = LRG-like)")
            sel &= self.rows["host_type"].isin(LRG_TYPES)
        return np.flatnonzero(sel.to_numpy())

    def load(self, pos: int) -> np.ndarray:
        """(3, H, W) host image in nmgy; any defect raises HostError naming shard, row and field."""
        from stronglens.selection.recovery import HostError

        r = self.rows.iloc[pos]
        where = f"{r['shard']} row {int(r['row'])} field {r['image_column']}"
        try:
            blob = pq.read_table(r["shard"], columns=[r["image_column"]]).column(0)[int(r["row"])].as_py()
            img = decode_bands(blob, where=where)
        except (OSError, BlobError, KeyError, IndexError) as err:
            raise HostError(f"{where}: cannot be loaded ({err})") from err
        if img.shape != (3, self.npix, self.npix):
            raise HostError(f"{where}: shape {img.shape}, expected {(3, self.npix, self.npix)}")
        if not np.isfinite(img).all():
            raise HostError(f"{where}: {int((~np.isfinite(img)).sum())} NaN/Inf pixels")
        return img.astype(np.float64)


def run_cell_on_hosts(cell: pd.Series, grid: GridSettings, n: int, seed: int, prior: dict, host_model: int, variant: dict,
                      hosts: DatasetHosts, preprocess: Preprocessor, score: Scorer, max_retries: int,
                      psf_kind: str = "gaussian", compile_engine: bool = False, moffat_beta: float = 3.5) -> pd.DataFrame:
    """Like `selection.run_cell`, onto the cell's own binned dataset hosts (rows ok / failed / no_host)."""
    cid = int(cell["cell_id"])
    pool = hosts.in_cell(cell, grid, host_model)
    if len(pool) == 0:
        return pd.DataFrame([{"cell_id": cid, "injection": j, "attempt": 0, "status": "no_host",
                              "reason": "no host in this cell's PSF / depth bin", "theta_e_cell": float(cell["theta_e"]),
                              "psf_fwhm": float(cell["psf_fwhm"]), "depth_r": float(cell["depth_r"])} for j in range(n)])
    rows: list[dict] = []
    pending = list(range(n))
    for attempt in range(max_retries + 1):
        if not pending:
            break
        records, images, psf = [], [], []
        for j in pending:
            rng = generator(seed, "selection", cid, j, attempt)
            pos = int(pool[rng.integers(len(pool))])
            try:
                img = hosts.load(pos)
                q_phi = host_moments(img[1]) if host_model == 2 else (None, None)
            except Exception as err:  # noqa: BLE001 - HostError and moment failures alike: a failed host
                rows.append(failed_row(cid, j, attempt, f"host: {err}"))
                continue
            h = hosts.rows.iloc[pos]
            records.append({"cell_id": cid, "injection": j, "attempt": attempt, "host_id": h["host_id"],
                            "host_psfsize_r": float(h["psfsize_r"]), "host_psfdepth_r": float(h["psfdepth_r"]),
                            "host_m5_r": float(h["m5_r"]),
                            **draw_lensing(rng, cell, prior, variant, *q_phi)})
            images.append(img)
            psf.append(float(h["psfsize_r"]) * variant.get("psf_scale", 1.0))
        ok_ids: set[int] = set()
        if records:
            ctrl = np.stack(images)
            arcs, snr, mu = arcs_on_hosts(records, np.array(psf), hosts.rows, hosts.npix, psf_kind, compile_engine,
                                            moffat_beta, variant)
            new_rows, ok_ids = score_attempts(records, ctrl + arcs, ctrl, snr, mu, preprocess, score)
            rows += new_rows
        pending = [j for j in pending if j not in ok_ids]
    return pd.DataFrame(rows)


def arcs_on_hosts(records: list[dict], psf: np.ndarray, host_rows: pd.DataFrame, npix: int, psf_kind: str,
                   compile_engine: bool = False, moffat_beta: float = 3.5, variant: dict | None = None):
    """Arcs rendered with each host's own PSF; arc SNR against the host's own r-band sky sigma."""
    kernels = make_psf_kernels(torch.as_tensor(psf, dtype=DTYPE), PIXSCALE_ARCSEC, psf_kind, moffat_beta)
    out = render_records(records, kernels, RenderSettings(npix=npix, pixscale=PIXSCALE_ARCSEC, compile=compile_engine), variant or {})
    depth_r = np.array([r["host_psfdepth_r"] for r in records])
    fwhm_r = band_fwhm(torch.as_tensor(psf, dtype=DTYPE)).numpy()[:, 1]
    sigma_r = sky_sigma_pix(depth_r, fwhm_r, PIXSCALE_ARCSEC)
    snr = arc_snr(out.arcs[:, 1], torch.as_tensor(sigma_r, dtype=DTYPE)).numpy()
    return out.arcs.numpy(), snr, out.mu_eff.numpy()
