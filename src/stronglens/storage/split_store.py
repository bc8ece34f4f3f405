"""The preprocessed-split store: one memory-mappable float32 array per split and its row-aligned index.

Layout of a preprocessed folder: ``<split>.npy`` (N x C x H x W, float32) and
``<split>.index.parquet`` (the manifest rows of that split, row i <-> image i).
The writer (`atomic_split_arrays`) fills temporary memmaps that are renamed
onto their paths only when the whole block succeeded, so a failure never
leaves a partial array; the reader (`load_split`) opens the array lazily as a
memmap and checks shape, labels and weights at the boundary.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

SPLITS = ("train", "val", "test")  # every preprocessed folder holds these three splits


class TrainingDataError(ValueError):
    """Arrays or indexes that cannot be trained on; the message names the file and field."""


@dataclass
class SplitData:
    """One split of a preprocessed folder: `array` (N, C, H, W) float32 opened lazily as a memmap, and its index."""

    npy: Path
    index: pd.DataFrame
    _array: np.ndarray | None = field(default=None, repr=False)

    @property
    def array(self) -> np.ndarray:
        if self._array is None:
            self._array = np.load(self.npy, mmap_mode="r")
        return self._array

    def __getstate__(self) -> dict:  # workers reopen the memmap instead of copying it
        return {"npy": self.npy, "index": self.index, "_array": None}

    def read(self, rows: np.ndarray) -> np.ndarray:
        """Rows of the array in the given order (one sorted read of the memmap)."""
        uniq, inverse = np.unique(rows, return_inverse=True)
        return np.asarray(self.array[uniq], dtype=np.float32)[inverse]

    @property
    def profile_npy(self) -> Path:
        """`<split>.profile.npy` beside the array: ring medians before any profile subtraction (N, C, R)."""
        return self.npy.with_name(self.npy.name.removesuffix(".npy") + ".profile.npy")

    def read_profile(self, rows: np.ndarray) -> np.ndarray | None:
        """Rows of the profile file in the given order, or None when the folder has none; a profile file whose
        row count disagrees with the index is an error."""
        if not self.profile_npy.is_file():
            return None
        prof = np.load(self.profile_npy, mmap_mode="r")
        if len(prof) != len(self.index):
            raise TrainingDataError(f"{self.profile_npy}: {len(prof)} rows but the index has {len(self.index)}")
        uniq, inverse = np.unique(rows, return_inverse=True)
        return np.asarray(prof[uniq], dtype=np.float32)[inverse]


def load_split(folder: str | Path, split: str) -> SplitData:
    """Open `<folder>/<split>.npy` and its index; shape, labels and weights are checked here."""
    folder = Path(folder)
    npy, idx_path = folder / f"{split}.npy", folder / f"{split}.index.parquet"
    for path in (npy, idx_path):
        if not path.is_file():
            raise TrainingDataError(f"{path}: missing (run the preprocess rule first)")
    index = pd.read_parquet(idx_path)
    data = SplitData(npy, index)
    arr = data.array
    if arr.ndim != 4 or arr.dtype != np.float32:
        raise TrainingDataError(f"{npy}: expected a float32 (N, C, H, W) array, got {arr.dtype} {arr.shape}")
    if len(arr) != len(index):
        raise TrainingDataError(f"{npy}: {len(arr)} images but {idx_path} has {len(index)} rows")
    for col in ("label", "sample_weight", "sample_id"):
        if col not in index.columns:
            raise TrainingDataError(f"{idx_path}: field {col} missing")
    bad = ~index["label"].isin([0, 1])
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise TrainingDataError(f"{idx_path} row {row}: field label must be 0 or 1, got {index['label'].iloc[row]!r}")
    w = index["sample_weight"].to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(w) & (w >= 0)):
        row = int(np.flatnonzero(~(np.isfinite(w) & (w >= 0)))[0])
        raise TrainingDataError(f"{idx_path} row {row}: field sample_weight must be finite and >= 0, got {w[row]!r}")
    return data


def require_both_classes(data: SplitData, split: str) -> None:
    """An empty or one-class split cannot train or be scored (AUROC is undefined)."""
    counts = data.index["label"].value_counts().to_dict()
    if not counts.get(0) or not counts.get(1):
        raise TrainingDataError(f"{data.npy}: the {split} split has {counts.get(1, 0)} positives and "
                                f"{counts.get(0, 0)} negatives; training needs both: field label")


def hard_negative_pairs(paired: SplitData) -> np.ndarray:
    """(K, 2) rows (stamp, ctrl) of the hosts of a paired split that have both images."""
    idx = paired.index.reset_index(drop=True)
    if "pair_id" not in idx.columns:
        raise TrainingDataError(f"{paired.npy}: hard negatives need a paired index with field pair_id")
    pos = idx.index[idx["label"] == 1].to_series(index=idx.loc[idx["label"] == 1, "pair_id"].to_numpy())
    neg = idx.index[idx["label"] == 0].to_series(index=idx.loc[idx["label"] == 0, "pair_id"].to_numpy())
    both = pos.index.intersection(neg.index)
    if len(both) == 0:
        raise TrainingDataError(f"{paired.npy}: no host has both a stamp and a ctrl, so no hard negative can be made")
    return np.stack([pos.loc[both].to_numpy(), neg.loc[both].to_numpy()], axis=1).astype(np.int64)


def release_pages(arrays: dict[str, np.ndarray]) -> None:
    """Write the memmaps' dirty pages to their files and drop them from this process's resident memory
    (msync, then madvise DONTNEED): the pages a writer has filled would otherwise count in its RSS until the
    end, so its peak memory grew with the dataset rather than with one shard."""
    import mmap

    for arr in arrays.values():
        arr.flush()
        handle = getattr(arr, "_mmap", None)
        if handle is not None and hasattr(mmap, "MADV_DONTNEED"):
            handle.madvise(mmap.MADV_DONTNEED)


def open_for_sparse_reads(path: Path | str) -> np.ndarray:
    """A split array memory-mapped for reading scattered rows (a gate sample): the kernel is told not to read
    ahead (madvise RANDOM), so each row read brings that row's pages in, not the next 128 kB of the file.
    Read ahead, a sparse sample's resident pages grew with the array it is drawn from, not with the sample."""
    import mmap

    arr = np.load(path, mmap_mode="r")
    handle = getattr(arr, "_mmap", None)
    if handle is not None and hasattr(mmap, "MADV_RANDOM"):
        handle.madvise(mmap.MADV_RANDOM)
    return arr


@contextmanager
def atomic_split_arrays(outputs: dict[str, tuple], counts: dict, shape: tuple[int, ...]):
    """Temporary float32 .npy memmaps (counts[split],) + shape per split (`outputs[split][0]`), renamed onto
    their paths only if the block succeeds."""
    tmps = {split: Path(paths[0]).with_name(f".{Path(paths[0]).name}.tmp") for split, paths in outputs.items()}
    try:
        arrays = {}
        for split, tmp in tmps.items():
            tmp.parent.mkdir(parents=True, exist_ok=True)
            arrays[split] = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(counts[split],) + shape)
        yield arrays
        for arr in arrays.values():
            arr.flush()
        del arrays
        for split, tmp in tmps.items():
            os.replace(tmp, outputs[split][0])
    finally:
        for tmp in tmps.values():
            tmp.unlink(missing_ok=True)
