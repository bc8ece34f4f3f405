"""Settings of the realism audit (`realism` block), parsed once at the stage boundary (docs/realism.md).

`RealismSettings` is what changes the audit's numbers; `DecisionSettings`
holds the D01 gate thresholds; `ThresholdSetSettings` the dual threshold
sets of seed 003 §20.1, which the experiments table applies (they read the
gates report and the selection summary as well). Standard library only
(the Snakefile imports it). Units: thresholds on p are probabilities,
recalls and completeness are fractions in [0, 1], magnitudes AB, theta_E
in arcsec, annuli in pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stronglens.config.settings import Threshold


@dataclass(frozen=True)
class ProbeSettings:
    """The injection-ness probe.

    max_per_group: most images per group (real, each injection model, negatives) entering the probe;
    folds: stratified CV folds of the logistic-regression probe (fewer when a group is smaller);
    bootstrap: resamples of the out-of-fold scores for the AUC interval;
    permutations: label permutations of the MMD test;
    probe_permutations: label permutations of the probe's own null (the null tests' calibration);
    inverse_regularisation: scikit-learn's C of the L2 logistic regression (unitless).
    """

    max_per_group: int = 200
    folds: int = 5
    bootstrap: int = 1000
    permutations: int = 500
    probe_permutations: int = 50
    inverse_regularisation: float = 1.0


@dataclass(frozen=True)
class CeilingSettings:
    """The bright-arc ceiling test: injections with beta_frac in `beta_frac` (unitless) and theta_E in
    `theta_e` (arcsec), `per_bin` of them per source r-magnitude bin between consecutive `mag_edges` (AB)."""

    beta_frac: tuple[float, float] = (0.1, 0.55)
    theta_e: tuple[float, float] = (0.8, 2.5)
    mag_edges: tuple[float, ...] = (18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0)
    per_bin: int = 25


@dataclass(frozen=True)
class DecisionSettings:
    """D01 gate thresholds (seed 003 §29).

    split_balance_ks_p: KS p-value (train vs evaluation split, psfsize_r and psfdepth_r) at or above which
    data quality passes, with `split_balance_ks_fail` below which it fails; bad_pixel_fraction: a cutout with
    more zero or non-finite pixels than this is flagged; flagged_share: the share of flagged cutouts allowed;
    annulus_recall_drop: |recall change| at p > 0.3 under the alternative annulus (pass, fail);
    ceiling: peak bright-arc detection at p > 0.3 (pass at or above, fail below `fail`);
    probe_auc: linear-probe AUC real vs injection (pass below, fail above); fd_ratio: FD(real, inj) /
    FD(real, neg) (pass below, fail above; the seeds' criterion is > 2).
    """

    split_balance_ks_p: float = 0.05
    split_balance_ks_fail: float = 0.001
    bad_pixel_fraction: float = 0.05
    flagged_share: float = 0.05
    annulus_recall_drop: Threshold = field(default_factory=lambda: Threshold(0.02, 0.05))
    ceiling: Threshold = field(default_factory=lambda: Threshold(0.40, 0.30))
    probe_auc: Threshold = field(default_factory=lambda: Threshold(0.70, 0.85))
    fd_ratio: Threshold = field(default_factory=lambda: Threshold(1.0, 2.0))


@dataclass(frozen=True)
class ThresholdSetSettings:
    """The two reviewers' threshold sets (seed 003 §20.1), read by the experiments table, not by the audit:
    set 1 needs the evaluation AUROC >= auroc, tier A recall >= tier_a_recall_p03 at p > 0.3, the bright-arc
    ceiling >= ceiling and the selection function's completeness >= main_map_completeness at p > 0.3; set 2
    needs tier A recall >= tier_a_recall_p05 at p > 0.5. All fractions."""

    auroc: float = 0.993
    tier_a_recall_p03: float = 0.80
    tier_a_recall_p05: float = 0.65
    ceiling: float = 0.40
    main_map_completeness: float = 0.07


@dataclass(frozen=True)
class RealismSettings:
    """What the realism audit of one run computes.

    thresholds: fixed p thresholds of recall (p > t detects); fprs: FPRs of the catalog negatives' scores whose
    thresholds are also used; theta_e_bins: bin edges of recall by theta_E (arcsec); max_negatives: most
    negatives of the catalog's evaluation split that are scored (they set the FPR thresholds);
    injections_per_lens: matched injections per catalog lens and source model; source_models: injected source
    models (``sersic``, ``real_galaxy``); alt_annulus: the other normalisation annulus (inner, outer, pixels);
    n_gallery: lenses in the anchor gallery; probe, ceiling, decision: see their classes.
    """

    thresholds: tuple[float, ...] = (0.3, 0.5, 0.7)
    fprs: tuple[float, ...] = (0.01, 0.001)
    theta_e_bins: tuple[float, ...] = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0)
    max_negatives: int = 1000
    injections_per_lens: int = 2
    source_models: tuple[str, ...] = ("sersic", "real_galaxy")
    alt_annulus: tuple[float, float] = (12.0, 20.0)
    n_gallery: int = 12
    probe: ProbeSettings = field(default_factory=ProbeSettings)
    ceiling: CeilingSettings = field(default_factory=CeilingSettings)
    decision: DecisionSettings = field(default_factory=DecisionSettings)


@dataclass(frozen=True)
class CatalogSettings:
    """The lens catalog a run is audited on: a sky or cutouts dataset.

    dataset: its name; source: ``sky`` or ``cutouts``; split: the split whose lenses and negatives are scored
    (the gates' evaluation split); stamp_size: its stamps' side (pixels); gain_e_per_nmgy: electrons per
    nanomaggy of the arc shot-noise test; psf_model and moffat_beta: the PSF that injected arcs are rendered
    with.
    """

    dataset: str
    source: str
    split: str
    stamp_size: int
    gain_e_per_nmgy: float = 100.0
    psf_model: str = "moffat"
    moffat_beta: float = 3.5
