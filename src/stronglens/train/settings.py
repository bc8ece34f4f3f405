"""The science settings of one training run, parsed once at the stage boundary.

`RunSettings` is a resolved run without its execution keys (those are
`stronglens.train.execution.ExecutionSettings`): what the run's results, and
its SHA-256, depend on. Epochs are 0-based. See docs/science.md section 6.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stronglens.config.settings import SettingsError
from stronglens.train.batches import HardNegativeSettings


@dataclass(frozen=True)
class ScheduleSettings:
    """Learning-rate schedule, set at every optimizer step (`stronglens.train.loop.lr_factor`).

    name: ``cosine``, ``step`` or ``constant``; warmup_epochs: linear warm-up
    length (epochs); step_epochs: epochs at which the lr is multiplied by
    step_gamma (unitless).
    """

    name: str = "cosine"
    warmup_epochs: int = 0
    step_epochs: tuple[int, ...] = ()
    step_gamma: float = 0.5


@dataclass(frozen=True)
class CoreDropStep:
    """One entry of the core-dropout schedule: mask r <= radius (pixels) with probability p until until_epoch."""

    radius: float
    p: float
    until_epoch: int | None = None


@dataclass(frozen=True)
class CoreDropoutSettings:
    """Central-pixel masking: fill ``zero`` or ``noise``; schedule entries in epoch order (empty = off)."""

    fill: str = "zero"
    schedule: tuple[CoreDropStep, ...] = ()


STOP_STRATA = ("all", "resolved")


@dataclass(frozen=True)
class StopCriteria:
    """When gates during training end a run (seed 002 §2.4 "Early Stopping Criteria"); None turns a criterion off.

    Epochs are the run's 0-based epoch counter; a criterion is checked only on
    gate rows (`TrainGateSettings.every`). core_lr_auc_above: stop when the
    training-time core LR AUC exceeds it (the seeds: 0.70); annulus_lr_auc_below:
    when the annulus LR AUC falls below it (0.65); hardneg_mean_p_above: when the
    mean p of the validation hard negatives exceeds it (0.15); these three only
    from gate rows with epoch >= after_epoch (the seeds' "after epoch 15":
    15, so from the row written after the 16th epoch). loss_gap_above: when
    val_loss - train_loss (per-sample BCE) exceeds it (0.3), at any gate row.
    stratum: the data-gate AUCs the criteria read, ``all`` or ``resolved``
    (positives with theta_E / psfsize_r >= `TrainGateSettings.resolved_x`, the
    seeds' x >= 1.0, against all negatives). patience: a criterion fires only
    when it holds on this many consecutive gate rows (1 = at once).
    """

    after_epoch: int = 15
    stratum: str = "all"
    core_lr_auc_above: float | None = None
    annulus_lr_auc_below: float | None = None
    hardneg_mean_p_above: float | None = None
    loss_gap_above: float | None = None
    patience: int = 1

    def __post_init__(self) -> None:
        if self.stratum not in STOP_STRATA:
            raise SettingsError(f"gates.stop.stratum: {self.stratum!r} is not one of {', '.join(STOP_STRATA)}")
        if self.patience < 1 or self.after_epoch < 0:
            raise SettingsError(f"gates.stop: patience must be >= 1 and after_epoch >= 0, got {self.patience}, "
                                f"{self.after_epoch}")

    def any_set(self) -> bool:
        """True when at least one criterion is on."""
        return any(v is not None for v in (self.core_lr_auc_above, self.annulus_lr_auc_below,
                                           self.hardneg_mean_p_above, self.loss_gap_above))


@dataclass(frozen=True)
class TrainGateSettings:
    """Gates during training (`stronglens.train.gate_history`, seed 004 §5.2-5.3), off by default.

    every: 0 = off; N = evaluate after every N-th epoch (0-based epoch e with
    (e + 1) % N == 0) and after the run's last epoch. max_samples: most images
    (whole hosts) of the training-time sample the data gates run on (the seeds'
    gate_n_samples 2000); max_val_samples: most validation images (whole hosts),
    and half as many validation hard negatives, the model gates score.
    core_px, annulus_px, folds: as ``data_gates`` (central square side in
    pixels; (inner, outer) annulus radius in pixels; host-grouped CV folds).
    resolved_x: theta_E (arcsec) / psfsize_r (r-band PSF FWHM, arcsec) at or
    above which a positive counts as resolved (the ``_resolved`` data-gate
    columns; the seeds' x).
    theta_e_bins (arcsec), min_positives_per_bin, core_radii (pixels),
    masked_radius (pixels, core_masked_drop), reliance_radius (pixels,
    core_reliance), hardneg_ring_px (pixels): as the ``gates`` block.
    stop: `StopCriteria`.
    """

    every: int = 0
    max_samples: int = 2000
    max_val_samples: int = 5000
    core_px: int = 10
    annulus_px: tuple[float, float] = (4, 16)
    folds: int = 5
    resolved_x: float = 1.0
    theta_e_bins: tuple[float, ...] = (0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0)
    min_positives_per_bin: int = 10
    core_radii: tuple[float, ...] = (0, 3, 5, 7, 10, 15)
    masked_radius: float = 5
    reliance_radius: float = 7
    hardneg_ring_px: float = 1.0
    stop: StopCriteria = field(default_factory=StopCriteria)

    def __post_init__(self) -> None:
        if self.every < 0:
            raise SettingsError(f"gates.every: must be >= 0, got {self.every}")
        if self.every == 0 and self.stop.any_set():
            raise SettingsError("gates.stop: a stop criterion is set but gates.every is 0, so no gate is ever "
                                "evaluated: set gates.every")

    def due(self, epoch: int, last: bool) -> bool:
        """Whether the gates run after 0-based `epoch` (`last`: it is the run's final epoch)."""
        return self.every > 0 and ((epoch + 1) % self.every == 0 or last)


@dataclass(frozen=True)
class TrainSettings:
    """Training settings of a run (science keys of the merged `training` + run `train` block).

    epochs: passes over the train split; batch_size: samples per optimizer
    step; micro_batch: samples per forward pass; lr: peak AdamW learning rate;
    weight_decay: AdamW decoupled decay; freeze_backbone_epochs: head-only
    epochs; amp: ``bf16``, ``fp16`` or ``off`` (CUDA only);
    early_stopping_patience: epochs without a val AUROC gain (None = off);
    augment: flips and quarter turns; checkpoint_every: epochs between kept
    checkpoints (0 = none); gates: gates during training (`TrainGateSettings`,
    off unless the block sets ``gates.every``).
    """

    epochs: int
    batch_size: int
    micro_batch: int
    lr: float
    weight_decay: float
    schedule: ScheduleSettings
    freeze_backbone_epochs: int
    amp: str
    early_stopping_patience: int | None
    augment: bool
    hard_negatives: HardNegativeSettings
    core_dropout: CoreDropoutSettings
    checkpoint_every: int
    gates: TrainGateSettings = field(default_factory=TrainGateSettings)


@dataclass(frozen=True)
class RunSettings:
    """One resolved run: dataset, pairing, preprocessing mode, network, seed, clip and training settings.

    width: base width of bottlenecked_resnet; pretrained: local weights file,
    ``run:<name>`` (fine-tune from that run's best.pt) or None; clip: the
    preprocessing clip (normalised units) or None; replicate_of / replicate:
    the replicated run and this one's 1-based index (`replicates: K`);
    ensemble: the ensemble block of a combined (untrained) run, else None.
    """

    dataset: str
    pairing: str
    preprocessing: str
    train: TrainSettings
    name: str | None = None
    model: str = "bottlenecked_resnet"
    width: int = 27
    pretrained: str | None = None
    seed: int = 0
    clip: float | None = None
    replicate_of: str | None = None
    replicate: int = 1
    ensemble: Mapping[str, Any] | None = None
