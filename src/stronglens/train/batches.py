"""Training batches from the memory-mapped preprocessed arrays.

An epoch is planned in the main process (`plan_epoch`): the order of the
split's samples, seeded by (seed, epoch), plus that epoch's hard negatives,
cut into micro-batches grouped into optimizer steps. `BatchSet` turns one
planned micro-batch into tensors; it is what the DataLoader's workers run, so
reading, hard-negative synthesis and augmentation happen off the training
thread. Every random choice inside a sample comes from its own generator,
seeded by `aug_seed(seed, index, epoch, n)`: the result does not depend on
the number of workers or on batch boundaries.

Sample indices: 0..n-1 are the split's own rows; n + k is the hard negative
made from hard-negative pair k (stamp and ctrl of one training host).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from stronglens.core.rng import generator
from stronglens.data.interventions import hard_negative
from stronglens.storage.split_store import SplitData
from stronglens.train.augment import CoreDropout, aug_seed, dihedral


@dataclass(frozen=True)
class HardNegativeSettings:
    """Hard negatives per positive (`ratio`) and their curriculum: none before `start_epoch`, then a linear ramp."""

    ratio: float = 0.0
    start_epoch: int = 0
    ramp_epochs: int = 0
    ring_px: float = 1.0
    weight: float = 1.0

    def ratio_at(self, epoch: int) -> float:
        if self.ratio <= 0 or epoch < self.start_epoch:
            return 0.0
        if self.ramp_epochs <= 0:
            return self.ratio
        return self.ratio * min(1.0, (epoch - self.start_epoch + 1) / self.ramp_epochs)


@dataclass(frozen=True)
class MicroBatch:
    """Sample indices of one micro-batch, and whether the optimizer steps after it (with how many samples)."""

    epoch: int
    indices: np.ndarray
    step: bool
    step_samples: int


def plan_epoch(n: int, n_pos: int, n_pairs: int, hn: HardNegativeSettings, epoch: int, seed: int,
               batch_size: int, micro_batch: int) -> list[MicroBatch]:
    """The epoch's micro-batches: shuffled base samples plus round(ratio x n_pos) hard negatives."""
    n_hard = int(round(hn.ratio_at(epoch) * n_pos)) if n_pairs else 0
    rng = generator(seed, "hardneg-pick", epoch)
    hard = n + rng.choice(n_pairs, size=n_hard, replace=n_hard > n_pairs) if n_hard else np.empty(0, np.int64)
    order = np.concatenate([np.arange(n), hard])
    order = order[generator(seed, "order", epoch).permutation(len(order))]
    plan = []
    for start in range(0, len(order), batch_size):
        step_idx = order[start : start + batch_size]
        chunks = [step_idx[i : i + micro_batch] for i in range(0, len(step_idx), micro_batch)]
        for j, chunk in enumerate(chunks):
            plan.append(MicroBatch(epoch, chunk, j == len(chunks) - 1, len(step_idx)))
    return plan


class BatchSet(torch.utils.data.Dataset):
    """Map-style dataset of one epoch's micro-batches: item k -> (x, y, weight, index) tensors."""

    def __init__(self, data: SplitData, plan: list[MicroBatch], seed: int, augment: bool,
                 core_dropout: CoreDropout, hard: SplitData | None = None, pairs: np.ndarray | None = None,
                 hn: HardNegativeSettings | None = None, clip: float | None = None) -> None:
        self.data, self.plan, self.seed, self.augment = data, plan, seed, augment
        self.core_dropout, self.hard, self.pairs, self.hn, self.clip = core_dropout, hard, pairs, hn, clip
        self.n = len(data.index)
        self.labels = data.index["label"].to_numpy(np.float32)
        self.weights = data.index["sample_weight"].to_numpy(np.float32)

    def __len__(self) -> int:
        return len(self.plan)

    def __getitem__(self, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        mb = self.plan[k]
        return make_batch(self, mb.indices, mb.epoch)


def epoch_batch_set(train: SplitData, settings, plan: list[MicroBatch], seed: int, epoch: int,
                    hard: SplitData | None, pairs: np.ndarray | None, clip: float | None) -> BatchSet:
    """The `BatchSet` training uses at `epoch`: the run's augmentation and the core dropout in force then.

    settings: the run's `stronglens.train.settings.TrainSettings` (augment,
    core_dropout, hard_negatives).
    """
    from stronglens.train.augment import core_dropout_at

    dropout = core_dropout_at(settings.core_dropout.schedule, epoch, settings.core_dropout.fill)
    return BatchSet(train, plan, seed, settings.augment, dropout, hard, pairs, settings.hard_negatives, clip)


def make_batch(ds: BatchSet, indices: np.ndarray, epoch: int):
    """Read, synthesise hard negatives, augment: (x, y, w, indices) for the given sample indices."""
    base = indices < ds.n
    x = np.empty((len(indices),) + ds.data.array.shape[1:], dtype=np.float32)
    if base.any():
        x[base] = ds.data.read(indices[base])
    y = np.zeros(len(indices), np.float32)
    w = np.full(len(indices), ds.hn.weight if ds.hn else 1.0, np.float32)
    y[base] = ds.labels[indices[base]]
    w[base] = ds.weights[indices[base]]
    rngs = [np.random.default_rng(aug_seed(ds.seed, int(i), epoch, ds.n)) for i in indices]
    hard_pos = np.flatnonzero(~base)
    if len(hard_pos):
        rows = ds.pairs[indices[hard_pos] - ds.n]
        stamps, ctrls = ds.hard.read(rows[:, 0]), ds.hard.read(rows[:, 1])
        for j, p in enumerate(hard_pos):
            x[p] = hard_negative(stamps[j], ctrls[j], rngs[p], ds.hn.ring_px, ds.clip)
    for j in range(len(indices)):
        img = dihedral(x[j], rngs[j]) if ds.augment else x[j]
        x[j] = ds.core_dropout(img, rngs[j])
    return torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(w), torch.from_numpy(indices.astype(np.int64))
