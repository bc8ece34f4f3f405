"""Settings of the decision trees (`decisions` block), parsed once at the stage boundary (docs/decisions.md).

Defaults are the seeds' numbers: the experiment-matrix tree of seed 004 §10
(core LR AUC < 0.60 and core_reliance < 0.03 for SUCCESS; core LR AUC
0.60-0.65 with core_reliance < 0.05 for ACCEPTABLE) and the sequential tree
of seed 003 §20.2 (AUROC gain >= 0.002, counted only beyond 2 standard
errors as seed 003 §20.1 asks; tier A recall >= 65% at p > 0.5; any
completeness cell > 20%; five literature comparisons). Run names are the
roles' names in the project's config. Standard library only (the Snakefile
imports it). Units: AUROCs, core_reliance (an AUROC difference), recalls
and completeness are fractions in [0, 1]; p thresholds are probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stronglens.config.settings import SettingsError


def _check_fraction(value: float, key: str) -> None:
    if not 0.0 <= value <= 1.0:
        raise SettingsError(f"decisions: {key} = {value!r} must lie in [0, 1]")


@dataclass(frozen=True)
class MatrixTreeSettings:
    """The experiment-matrix tree (seed 004 §10).

    baseline_run: the deployment baseline (the seeds' B1); diagnostic_run: the paired diagnostic baseline
    (A1) that must have completed with B1, or null to not require it; scheduled_run: the scheduled-masking
    variant tried first (B3); alternative_runs: the other masking variants (B2, B4), compared by theta_E
    spread;
    core_auc_success / core_reliance_success: B1 is SUCCESS with core LR AUC < the first and core_reliance <
    the second (0.60 / 0.03); core_auc_acceptable / core_reliance_acceptable: ACCEPTABLE with core LR AUC <=
    the first and core_reliance < the second (0.65 / 0.05), which are also the "core criteria" a masking
    variant must meet;
    prefer_training_inputs_core_auc: for a masking variant, use the core LR AUC measured on its training-time
    inputs (core dropout applied; the report's ``training_inputs.gates.core_lr_auc``) when the report has it,
    else the evaluation-input gate ``gates.core_lr_auc`` (which core dropout does not change).
    """

    baseline_run: str = "B1"
    diagnostic_run: str | None = "A1"
    scheduled_run: str = "B3"
    alternative_runs: tuple[str, ...] = ("B2", "B4")
    core_auc_success: float = 0.60
    core_auc_acceptable: float = 0.65
    core_reliance_success: float = 0.03
    core_reliance_acceptable: float = 0.05
    prefer_training_inputs_core_auc: bool = True

    def __post_init__(self) -> None:
        for key in ("core_auc_success", "core_auc_acceptable", "core_reliance_success", "core_reliance_acceptable"):
            _check_fraction(getattr(self, key), f"matrix.{key}")
        if self.core_auc_success > self.core_auc_acceptable:
            raise SettingsError(f"decisions: matrix.core_auc_success ({self.core_auc_success}) must not exceed "
                                f"matrix.core_auc_acceptable ({self.core_auc_acceptable})")
        if self.core_reliance_success > self.core_reliance_acceptable:
            raise SettingsError(f"decisions: matrix.core_reliance_success ({self.core_reliance_success}) must not exceed "
                                f"matrix.core_reliance_acceptable ({self.core_reliance_acceptable})")
        variants = (self.scheduled_run, *self.alternative_runs)
        if self.baseline_run in variants or len(set(variants)) != len(variants):
            raise SettingsError(f"decisions: matrix run roles must be distinct runs (baseline_run {self.baseline_run!r}, "
                                f"scheduled_run {self.scheduled_run!r}, alternative_runs {list(self.alternative_runs)})")


LITERATURE = ("Jacobs+19", "Huang+20", "He+20", "Rojas+22", "Herle+24")


@dataclass(frozen=True)
class SequentialTreeSettings:
    """The sequential tree (seed 003 §20.2).

    Step 1: auc_baseline_run -> auc_candidate_run must raise the evaluation AUROC by at least
    auc_min_improvement (0.002) and, unless auc_significance_se is null, by at least that many standard
    errors of the difference (2, seed 003 §20.1);
    step 2: the realism audit of recall_run: recall of its tier `recall_tier` lenses at p > recall_threshold
    (0.5) must be >= recall_min (0.65);
    step 3: the selection function of completeness_run: some cell (theta_E, PSF, depth) of variant
    completeness_variant and subset completeness_subset, at completeness_threshold (a threshold name of the
    completeness table, ``p>0.3`` by default), with at least completeness_min_injections ok injections, must
    exceed completeness_cell_min (0.20);
    step 4: literature: the comparisons the literature table must include (reported, never computed).
    """

    auc_baseline_run: str = "B1"
    auc_candidate_run: str = "B2_hn"
    auc_min_improvement: float = 0.002
    auc_significance_se: float | None = 2.0
    recall_run: str = "P4"
    recall_tier: str = "A"
    recall_threshold: float = 0.5
    recall_min: float = 0.65
    completeness_run: str = "P4"
    completeness_threshold: str = "p>0.3"
    completeness_variant: str = "baseline"
    completeness_subset: str = "all"
    completeness_cell_min: float = 0.20
    completeness_min_injections: int = 1
    literature: tuple[str, ...] = LITERATURE

    def __post_init__(self) -> None:
        for key in ("recall_threshold", "recall_min", "completeness_cell_min"):
            _check_fraction(getattr(self, key), f"sequential.{key}")
        if self.auc_significance_se is not None and self.auc_significance_se < 0:
            raise SettingsError(f"decisions: sequential.auc_significance_se = {self.auc_significance_se} must be >= 0 or null")
        if self.completeness_min_injections < 1:
            raise SettingsError(f"decisions: sequential.completeness_min_injections = {self.completeness_min_injections} "
                                "must be >= 1")
        if self.auc_baseline_run == self.auc_candidate_run:
            raise SettingsError(f"decisions: sequential.auc_baseline_run and auc_candidate_run are both "
                                f"{self.auc_baseline_run!r}: step 1 compares two runs")


@dataclass(frozen=True)
class DecisionTreeSettings:
    """The `decisions` block: `matrix` (seed 004 §10) and `sequential` (seed 003 §20.2)."""

    matrix: MatrixTreeSettings = field(default_factory=MatrixTreeSettings)
    sequential: SequentialTreeSettings = field(default_factory=SequentialTreeSettings)
