"""Injections for the realism audit, onto the catalog's own negative hosts (docs/realism.md).

Two sets, each rendered with every source model from the same draws (one
generator per injection, so a Sersic injection and its real-galaxy twin
share host, lens, position, magnitude and size):

* matched: `injections_per_lens` per catalog lens, at that lens's theta_E
  and, after rendering, scaled in flux to that lens's r-band arc SNR (the
  SNR is linear in flux), on LRG-like hosts where the catalog has enough
  of them; a lens without a known theta_E or SNR gets an unmatched draw from
  the anchored prior, flagged ``matched = False``;
* ceiling: `per_bin` injections per source-magnitude bin, beta_frac and
  theta_E restricted as the seeds' bright-arc test (seed 003 §29.3).

Arcs are rendered with each host's own PSF (`selection.dataset_hosts`), the
lens following the host's r-band second moments. The arc is kept beside the
stamp so that the shot-noise test can add its photon noise to the very
same injections.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from stronglens.core.rng import generator
from stronglens.physics.render import poisson_arc_noise
from stronglens.realism.catalog import Catalog
from stronglens.realism.settings import CatalogSettings, CeilingSettings
from stronglens.selection.dataset_hosts import LRG_TYPES, arcs_on_hosts
from stronglens.selection.recovery import PRIORS, HostError, draw_lensing, host_moments
from stronglens.survey.synthetic.galaxies import GalaxyPool

MIN_LRG_HOSTS = 10
CHUNK = 128


@dataclass
class InjectionSet:
    """records: one row per injection (host, draws, arc_snr, source_model, ...); stamps = host + arc and
    arcs, both (N, 3, H, W) nmgy, in the records' order."""

    records: pd.DataFrame
    stamps: np.ndarray
    arcs: np.ndarray

    def where(self, mask: np.ndarray) -> InjectionSet:
        return InjectionSet(self.records[mask].reset_index(drop=True), self.stamps[mask], self.arcs[mask])

    def with_shot_noise(self, gain: float, seed: int) -> np.ndarray:
        """The same stamps plus the arcs' own photon noise (Gaussian limit, gain electrons per nmgy)."""
        normal = np.stack([generator(seed, "realism:shot", int(i)).standard_normal(self.arcs.shape[1:])
                           for i in self.records["draw"]])
        noise = poisson_arc_noise(torch.from_numpy(self.arcs), torch.tensor(gain, dtype=torch.float64),
                                  torch.from_numpy(normal))
        return self.stamps + noise.numpy()


def host_pool(catalog: Catalog) -> np.ndarray:
    """Catalog positions of the injection hosts: LRG-like negatives when there are enough, else every negative."""
    neg = catalog.negatives
    if "host_type" in catalog.rows.columns:
        lrg = neg[catalog.rows["host_type"].iloc[neg].isin(LRG_TYPES).to_numpy()]
        if len(lrg) >= MIN_LRG_HOSTS:
            return lrg
    return neg


def _moments(image_r: np.ndarray) -> tuple[float | None, float | None]:
    try:
        return host_moments(image_r)
    except HostError:
        return None, None


def _draw(rng: np.random.Generator, catalog: Catalog, pool: np.ndarray, theta_e: float, prior: dict,
          variant: dict) -> dict:
    pos = int(pool[rng.integers(len(pool))])
    host = catalog.rows.iloc[pos]
    cell = {"theta_e": theta_e, "psf_fwhm": float(host["psfsize_r"]), "depth_r": np.nan}
    q, phi = _moments(catalog.images[pos, 1])
    rec = draw_lensing(rng, cell, prior, variant, q, phi)
    return {"host_pos": pos, "host_psfsize_r": float(host["psfsize_r"]), "host_psfdepth_r": float(host["psfdepth_r"]),
            **rec}


def render(catalog: Catalog, records: list[dict], cat: CatalogSettings, variant: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(arcs, arc_snr, mu_eff) of records on their hosts, in chunks."""
    arcs, snr, mu = [], [], []
    for start in range(0, len(records), CHUNK):
        chunk = records[start : start + CHUNK]
        a, s, m = arcs_on_hosts(chunk, np.array([r["host_psfsize_r"] for r in chunk]), None, cat.stamp_size,
                                cat.psf_model, False, cat.moffat_beta, variant)
        arcs.append(a), snr.append(s), mu.append(m)
    return np.concatenate(arcs), np.concatenate(snr), np.concatenate(mu)


def _variants(models: tuple[str, ...], pool: GalaxyPool | None) -> dict[str, dict]:
    out = {}
    for m in models:
        if m == "real_galaxy" and pool is None:
            raise ValueError("source model real_galaxy needs the source library's injection subset (--library)")
        out[m] = {"galaxies": pool} if m == "real_galaxy" else {}
    return out


def _assemble(catalog: Catalog, draws: list[tuple[int, dict, float, dict, dict]], cat: CatalogSettings,
              models: tuple[str, ...], galaxies: GalaxyPool | None, target_snr: np.ndarray | None) -> InjectionSet:
    """Render every draw with every model; scale each arc to its target SNR where one is given (finite)."""
    frames, stamps, arcs_all = [], [], []
    pool = host_pool(catalog)
    for model, variant in _variants(models, galaxies).items():
        records = [{"draw": draw_id, "source_model": model, **extra,
                    **_draw(_clone(state), catalog, pool, theta, prior, variant)}
                   for draw_id, state, theta, prior, extra in draws]
        arcs, snr, mu = render(catalog, records, cat, variant)
        scale = np.ones(len(records))
        if target_snr is not None:
            ok = np.isfinite(target_snr) & (snr > 0)
            scale[ok] = target_snr[ok] / snr[ok]
        arcs = arcs * scale[:, None, None, None]
        table = pd.DataFrame(records).assign(arc_snr=snr * scale, mu_eff=mu, flux_scale=scale)
        table["mag_r_injected"] = table["src_mag_r"] - 2.5 * np.log10(scale) if "src_mag_r" in table else np.nan
        hosts = catalog.images[table["host_pos"].to_numpy()]
        frames.append(table), stamps.append(hosts + arcs), arcs_all.append(arcs)
    return InjectionSet(pd.concat(frames, ignore_index=True), np.concatenate(stamps), np.concatenate(arcs_all))


def matched_injections(catalog: Catalog, per_lens: int, cat: CatalogSettings, models: tuple[str, ...],
                       galaxies: GalaxyPool | None, seed: int) -> InjectionSet:
    """`per_lens` injections per catalog lens and model, matched in theta_E and arc SNR where those are known."""
    lenses = catalog.rows.iloc[catalog.lenses]
    prior = PRIORS["anchored"]
    draws, target = [], []
    for i, (_, lens) in enumerate(lenses.iterrows()):
        for k in range(per_lens):
            rng = generator(seed, "realism:matched", i, k)
            theta = float(lens["theta_e_arcsec"])
            snr = float(lens["arc_snr"])
            matched = bool(np.isfinite(theta) and np.isfinite(snr))
            if not np.isfinite(theta):
                theta = float(rng.uniform(*prior["theta_e"]))
            draws.append((len(draws), rng.bit_generator.state, theta, prior,
                          {"matched_to": i, "matched": matched, "theta_e_cell": theta}))
            target.append(snr if matched else np.nan)
    return _assemble(catalog, draws, cat, models, galaxies, np.array(target))


def ceiling_injections(catalog: Catalog, cfg: CeilingSettings, cat: CatalogSettings, models: tuple[str, ...],
                       galaxies: GalaxyPool | None, seed: int) -> InjectionSet:
    """`cfg.per_bin` injections per source-magnitude bin (beta_frac and theta_E restricted), every model."""
    draws = []
    edges = cfg.mag_edges
    for b, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        prior = {"mag_r": [lo, hi], "beta_frac": list(cfg.beta_frac), "theta_e": list(cfg.theta_e)}
        for k in range(cfg.per_bin):
            rng = generator(seed, "realism:ceiling", b, k)
            theta = float(rng.uniform(*cfg.theta_e))
            draws.append((len(draws), rng.bit_generator.state, theta, prior,
                          {"mag_bin": f"{lo:g}-{hi:g}", "mag_lo": lo, "mag_hi": hi}))
    return _assemble(catalog, draws, cat, models, galaxies, None)


def _clone(state: dict) -> np.random.Generator:
    """A generator continuing from `state` (each source model replays the same draws)."""
    g = np.random.Generator(np.random.PCG64())
    g.bit_generator.state = state
    return g
