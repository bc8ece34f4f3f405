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


def row_labels(frame: pd.DataFrame) -> list[str]:
    """Every row of a manifest or pairs table in the user's terms: ``<source_file> row <source_row>`` where the
    row records its origin (ingested data), else ``<shard> row <row>`` (the workflow's own shards are the source)."""
    own = [f"{shard} row {int(row)}" for shard, row in zip(frame["shard"], frame["row"])]
    if "source_file" not in frame:
        return own
    return [f"{src} row {int(srow)}" if isinstance(src, str) and src and pd.notna(srow) else label
            for src, srow, label in zip(frame["source_file"], frame["source_row"], own)]


def row_where(record: pd.Series | dict) -> str:
    """One row's `row_labels` label, from a dict or Series with shard, row (and source_file, source_row)."""
    return row_labels(pd.DataFrame([dict(record)]))[0]


class ImageError(ValueError):
    """An image that fails the boundary checks; the message names file, row and field."""


def iter_shard_images(manifest: pd.DataFrame, expected_shape: tuple[int, int, int]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (manifest positions, (n, C, H, W) float32 images) shard by shard, in manifest order per shard.

    Every image is decoded and checked (shape, finite values) before it is
    yielded; a bad one raises ImageError naming the user's file and row (`row_labels`) and the field.
    """
    for shard, group in manifest.groupby("shard", sort=True):
        columns = sorted(set(group["image_column"]))
        table = pq.read_table(shard, columns=columns)
        data = {c: table.column(c) for c in columns}
        images = np.empty((len(group),) + expected_shape, dtype=np.float32)
        labels = row_labels(group)
        for i, (row, col) in enumerate(zip(group["row"].to_numpy(), group["image_column"])):
            row, where = int(row), f"{labels[i]} field {col}"
            img = decode_bands(data[col][row].as_py(), where=where)
            if img.shape != expected_shape:
                raise ImageError(f"{where}: shape {img.shape}, expected {expected_shape}")
            if not np.isfinite(img).all():
                raise ImageError(f"{where}: {int((~np.isfinite(img)).sum())} NaN/Inf pixels")
            images[i] = img
        yield group.index.to_numpy(), images
