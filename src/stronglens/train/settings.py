"""The science settings of one training run, parsed once at the stage boundary.

`RunSettings` is a resolved run without its execution keys (those are
`stronglens.train.execution.ExecutionSettings`): what the run's results, and
its SHA-256, depend on. Epochs are 0-based. See docs/science.md section 6.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class TrainSettings:
    """Training settings of a run (science keys of the merged `training` + run `train` block).

    epochs: passes over the train split; batch_size: samples per optimizer
    step; micro_batch: samples per forward pass; lr: peak AdamW learning rate;
    weight_decay: AdamW decoupled decay; freeze_backbone_epochs: head-only
    epochs; amp: ``bf16``, ``fp16`` or ``off`` (CUDA only);
    early_stopping_patience: epochs without a val AUROC gain (None = off);
    augment: flips and quarter turns; checkpoint_every: epochs between kept
    checkpoints (0 = none).
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


@dataclass(frozen=True)
class RunSettings:
    """One resolved run: dataset, pairing, preprocessing mode, network, seed, clip and training settings.

    width: base width of bottlenecked_resnet; pretrained: local weights file
    or None; clip: the preprocessing clip (normalised units) or None.
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
