"""The training split as training sees it at one epoch: the sample the data gates run on during training.

`training_time_sample` draws a host-grouped sample of a run's TRAIN split
inputs exactly as `stronglens.train.batches` builds them at a given epoch:
the epoch's hard negatives (the same pairs `plan_epoch` picks, label 0, made
from the paired stamp and ctrl like `BatchSet` makes them), and every sample
through the same `make_batch` (flips and quarter turns when the run augments,
then the core dropout in force at that epoch), with the per-sample generator
seeded by ``aug_seed(seed, index, epoch, n)``. Each image is therefore
bit-identical to the one the training batch holds for that (seed, index,
epoch).

The flips are kept, not because the gates need them (the radial profile is
invariant under flips about the centre pixel; the annulus pixel set maps
onto itself and the even-sided core square onto itself but for one edge row
and column; and arcs lie at random azimuths, so a random flip leaves the
sample's distribution, hence the LR AUCs, as it was), but because the
per-sample generator draws them before the core dropout decision: leaving
them out would mask other cores than training did.

Used by `stronglens.gates.training_history` (gates during training) and by the
gates stage to run the model-free data gates (core / radial / annulus LR AUC,
`stronglens.gates.model_free`) on training-time inputs rather than on the
stored arrays, so a core-dropout run's core gate reads what its model saw.

Conventions: images (N, C, H, W) float32 in preprocessed units; epochs
0-based; sample indices 0..n-1 are the split's rows, n + k the hard negative
of hard-negative pair k (as in `stronglens.train.batches`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stronglens.gates.model_free import host_subsample
from stronglens.storage.split_store import SplitData, TrainingDataError, hard_negative_pairs
from stronglens.train.batches import epoch_batch_set, make_batch, plan_epoch
from stronglens.train.settings import TrainSettings

READ_CHUNK = 512  # images built per make_batch call (bounds the transient memory)
CARRIED_COLUMNS = ("sample_id", "host_id", "pair_id", "theta_e_arcsec", "psfsize_r")


def host_ids(index: pd.DataFrame) -> np.ndarray:
    """The host of every row: ``host_id``, else ``pair_id``, else ``sample_id`` (each row its own host)."""
    for col in ("host_id", "pair_id", "sample_id"):
        if col in index.columns:
            return index[col].astype(str).to_numpy()
    return np.arange(len(index)).astype(str)


def epoch_sample_indices(train: SplitData, settings: TrainSettings, seed: int, epoch: int,
                         n_pairs: int) -> np.ndarray:
    """Sorted sample indices training uses at `epoch`: every row once, plus that epoch's hard negatives n + k
    (repeated where `plan_epoch` draws a pair more than once)."""
    n = len(train.index)
    n_pos = int(train.index["label"].sum())
    plan = plan_epoch(n, n_pos, n_pairs, settings.hard_negatives, epoch, seed, settings.batch_size,
                      settings.micro_batch)
    return np.sort(np.concatenate([mb.indices for mb in plan])) if plan else np.arange(n)


def training_time_sample(train: SplitData, settings: TrainSettings, seed: int, epoch: int, *,
                         paired: SplitData | None = None, pairs: np.ndarray | None = None,
                         clip: float | None = None, max_samples: int | None = None) -> tuple[np.ndarray, pd.DataFrame]:
    """(x, index): a host-grouped sample of the train split's inputs as training sees them at `epoch`.

    train: the run's own train split; settings: the run's `TrainSettings`
    (hard_negatives, core_dropout, augment, batch sizes); seed: the run seed;
    epoch: 0-based; paired / pairs: the paired train split the hard negatives
    come from and its (K, 2) stamp/ctrl rows (`hard_negative_pairs(paired)`
    when not given; both needed only when hard_negatives.ratio > 0); clip: the
    preprocessing clip the hard negatives are re-clipped to (the run's clip);
    max_samples: about this many images at most, whole hosts only
    (`gates.model_free.host_subsample`, seeded by `seed` alone: epochs with
    as many hard negatives draw the same hosts; default
    ``settings.gates.max_samples``).

    A hard negative belongs to the host of its pair, so it shares a CV fold
    with that host's own images. x: (M, C, H, W) float32. index: one row per
    image with ``sample_index`` (training's index), ``kind`` (``train`` or
    ``hard_negative``), ``label`` (0 for hard negatives), ``sample_weight``
    (hard_negatives.weight for them), ``host_id`` and, where the split's
    index has them, ``sample_id``, ``pair_id``, ``theta_e_arcsec`` and
    ``psfsize_r`` (a hard negative carries its stamp's).
    """
    hn = settings.hard_negatives
    if hn.ratio > 0 and (paired is None or pairs is None):
        if paired is None:
            raise TrainingDataError("training_time_sample: hard_negatives.ratio > 0 needs the paired train split: "
                                    "field hard_negatives")
        pairs = hard_negative_pairs(paired) if pairs is None else pairs
    pairs = np.empty((0, 2), np.int64) if pairs is None or hn.ratio <= 0 else np.asarray(pairs, np.int64)
    n = len(train.index)
    indices = epoch_sample_indices(train, settings, seed, epoch, len(pairs))
    candidates = sample_table(train.index, paired.index if len(pairs) else None, pairs, indices, n)
    cap = settings.gates.max_samples if max_samples is None else max_samples
    rows = candidates.iloc[host_subsample(candidates["host_id"].to_numpy(), cap, seed)].reset_index(drop=True)
    chosen = rows["sample_index"].to_numpy(np.int64)
    ds = epoch_batch_set(train, settings, [], seed, epoch, paired if len(pairs) else None, pairs, clip)
    x = np.empty((len(chosen),) + train.array.shape[1:], np.float32)
    w = np.empty(len(chosen), np.float32)
    for start in range(0, len(chosen), READ_CHUNK):
        part = chosen[start : start + READ_CHUNK]
        xb, _, wb, _ = make_batch(ds, part, epoch)
        x[start : start + len(part)], w[start : start + len(part)] = xb.numpy(), wb.numpy()
    rows["sample_weight"] = w
    return x, rows


def sample_table(index: pd.DataFrame, paired_index: pd.DataFrame | None, pairs: np.ndarray, indices: np.ndarray,
                 n: int) -> pd.DataFrame:
    """One row per sample index of `indices` (sorted: the split's rows first, then hard negatives n + k):
    sample_index, kind, label, host_id and the `CARRIED_COLUMNS` the indexes have (a hard negative: its stamp's,
    sample_id prefixed ``hardneg:``)."""
    base = index.reset_index(drop=True)
    own = indices[indices < n]
    parts = [base.iloc[own][[c for c in CARRIED_COLUMNS if c in base.columns]].assign(
        sample_index=own, kind="train", label=base["label"].to_numpy()[own].astype(np.int64), host_id=host_ids(base)[own])]
    hard = indices[indices >= n]
    if len(hard):
        stamps = paired_index.reset_index(drop=True).iloc[pairs[hard - n, 0]]
        part = stamps[[c for c in CARRIED_COLUMNS if c in stamps.columns]].assign(
            sample_index=hard, kind="hard_negative", label=0, host_id=host_ids(stamps))
        if "sample_id" in part.columns:
            part["sample_id"] = "hardneg:" + part["sample_id"].astype(str)
        parts.append(part)
    table = pd.concat(parts, ignore_index=True)
    first = ["sample_index", "kind", "label", "host_id"]
    return table[first + [c for c in table.columns if c not in first]]
