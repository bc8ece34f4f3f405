"""Settings of the selection function, one slice per rule (docs/science.md section 8).

`SelectionShardSettings` holds what changes the injections and their scores;
`SelectionGatherSettings` what only the tables read (thresholds, FPRs);
`SelectionFigureSettings` what the figures read. Batch and device are
execution settings: flags from the shard rule's resources. `PsfSettings` is
the run dataset's PSF model, which arcs and hosts are rendered with.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GridSettings:
    """The injection grid: [low, high, step] per axis and injections per cell.

    theta_e: Einstein radius (arcsec); psf_fwhm: r-band PSF FWHM (arcsec);
    depth: r-band 5-sigma point-source depth (AB mag).
    """

    theta_e: tuple[float, float, float]
    psf_fwhm: tuple[float, float, float]
    depth: tuple[float, float, float]
    n_per_cell: int = 200


@dataclass(frozen=True)
class SelectionShardSettings:
    """What an injection shard computes.

    grid: the resolved grid; sensitivity: also the PSF / R_e / colour / lens-q
    variants; hosts: ``synthetic`` or ``dataset``; host_split: split of the
    dataset hosts; host_model: 1 (any host) or 2 (LRG-like, lens follows the
    host); max_retries: new hosts for a failed injection; compile_engine:
    render with torch.compile; prior: main source prior; also_priors: other
    priors (baseline only); source_models: ``sersic`` and/or ``real_galaxy``
    (the library's injection subset), the first for the baseline and the
    sensitivity variants, the others baseline only (variant "source:<model>").
    """

    grid: GridSettings
    sensitivity: bool
    hosts: str
    host_split: str
    host_model: int
    max_retries: int
    compile_engine: bool
    prior: str
    also_priors: tuple[str, ...]
    source_models: tuple[str, ...] = ("sersic",)


@dataclass(frozen=True)
class SelectionGatherSettings:
    """What the tables of a run's selection function read.

    thresholds: fixed p thresholds (p > t detects); fprs: false-positive rates
    of the clean hosts' scores whose thresholds are also used;
    beta_frac_max: the restricted variant keeps beta_frac <= this (unitless);
    prior, also_priors, source_models: as in the shard settings.
    """

    thresholds: tuple[float, ...]
    fprs: tuple[float, ...]
    beta_frac_max: float
    prior: str
    also_priors: tuple[str, ...]
    source_models: tuple[str, ...] = ("sersic",)


@dataclass(frozen=True)
class SelectionFigureSettings:
    """What the selection figures read (see the shard and gather settings)."""

    grid: GridSettings
    hosts: str
    host_model: int
    prior: str
    also_priors: tuple[str, ...]
    thresholds: tuple[float, ...]
    source_models: tuple[str, ...] = ("sersic",)


@dataclass(frozen=True)
class PsfSettings:
    """The dataset's PSF model: ``gaussian`` or ``moffat``; moffat_beta: Moffat power index (unitless)."""

    psf_model: str = "gaussian"
    moffat_beta: float = 3.5
