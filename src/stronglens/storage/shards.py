"""Reading images back from pair shards by (shard, row) pointers, one shard at a time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from stronglens.storage.blobs import decode_bands


def read_shard_metadata(path: str | Path) -> pd.DataFrame:
    """A shard's rows without its image blob columns (*_npz)."""
    names = [n for n in pq.read_schema(path).names if not n.endswith("_npz")]
    return pd.read_parquet(path, columns=names)


class ImageError(ValueError):
    """An image that fails the boundary checks; the message names file, row and field."""


def iter_shard_images(manifest: pd.DataFrame, expected_shape: tuple[int, int, int]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (manifest positions, (n, C, H, W) float32 images) shard by shard, in manifest order per shard.

    Every image is decoded and checked (shape, finite values) before it is
    yielded; a bad one raises ImageError naming shard, row and field.
    """
    for shard, group in manifest.groupby("shard", sort=True):
        columns = sorted(set(group["image_column"]))
        table = pq.read_table(shard, columns=columns)
        data = {c: table.column(c) for c in columns}
        images = np.empty((len(group),) + expected_shape, dtype=np.float32)
        for i, (row, col) in enumerate(zip(group["row"].to_numpy(), group["image_column"])):
            where = f"{shard} row {int(row)} field {col}"
            img = decode_bands(data[col][int(row)].as_py(), where=where)
            if img.shape != expected_shape:
                raise ImageError(f"{where}: shape {img.shape}, expected {expected_shape}")
            if not np.isfinite(img).all():
                raise ImageError(f"{where}: {int((~np.isfinite(img)).sum())} NaN/Inf pixels")
            images[i] = img
        yield group.index.to_numpy(), images
