"""Preprocess a manifest shard by shard into one memory-mappable float32 array per split.

Outputs per split: ``<split>.npy`` (N x C x H x W, float32),
``<split>.index.parquet`` (the manifest rows of that split, row i <-> image i)
and, when asked for, ``<split>.profile.npy`` (N x C x R, float32: the
azimuthal median of the normalised image at integer radii 0..H // 2, before
any profile subtraction; the radial data gate reads it).
Memory stays bounded by one shard: each shard is read once, its images
normalised in batches and written into the split arrays in place, whose
pages are written out and released after every shard (`release_pages`). Arrays are
written to temporary files and renamed only when every image has passed, so a
failure never leaves a partial array behind.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from stronglens.data.normalise import preprocess_and_rings
from stronglens.data.settings import PreprocessSettings
from stronglens.storage.artifacts import write_parquet
from stronglens.storage.shards import iter_shard_images, row_labels
from stronglens.storage.split_store import atomic_split_arrays, release_pages

BATCH = 512


class PreprocessInputError(ValueError):
    """A manifest that cannot be preprocessed as asked (e.g. a split the outputs need is empty)."""


def preprocess_manifest(manifest: pd.DataFrame, pp: PreprocessSettings, outputs: dict[str, tuple[Path, ...]],
                        expected_shape: tuple[int, int, int], provenance: dict) -> dict[str, int]:
    """Write `outputs[split] = (npy, index)` or `(npy, index, profile)` for every split; returns rows per split."""
    manifest = manifest.reset_index(drop=True)
    split_pos = manifest.groupby("split").cumcount().to_numpy()
    counts = manifest["split"].value_counts().to_dict()
    missing = [s for s in outputs if counts.get(s, 0) == 0]
    if missing:
        raise PreprocessInputError(f"split(s) {missing} are empty in the manifest: field split")
    profiles = {s: (paths[2], None) for s, paths in outputs.items() if len(paths) > 2}
    ring_shape = (expected_shape[0], expected_shape[-1] // 2 + 1)
    names = row_labels(manifest)
    with atomic_split_arrays(outputs, counts, expected_shape) as arrays, \
            atomic_split_arrays(profiles, counts, ring_shape) as rings:
        for positions, images in iter_shard_images(manifest, expected_shape):
            for start in range(0, len(positions), BATCH):
                pos = positions[start : start + BATCH]
                labels = [f"{names[p]} field {manifest.at[p, 'image_column']}" for p in pos]
                y, prof = preprocess_and_rings(torch.from_numpy(images[start : start + BATCH]), pp, labels)
                y, prof = y.numpy(), prof.numpy()
                for split in np.unique(manifest.loc[pos, "split"]):
                    sel = (manifest.loc[pos, "split"] == split).to_numpy()
                    arrays[split][split_pos[pos[sel]]] = y[sel]
                    if split in rings:
                        rings[split][split_pos[pos[sel]]] = prof[sel]
            release_pages(arrays)  # memory bounded by one shard, not by the dataset
            release_pages(rings)
    for split, (_, index_path, *_) in outputs.items():
        write_parquet(manifest[manifest["split"] == split].reset_index(drop=True), index_path, provenance)
    return {s: int(counts[s]) for s in outputs}
