"""Atomic writes of artefacts: every output goes to a temporary file, then is renamed."""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path next to `path`; rename it onto `path` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; results are shared like any other file
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(obj, path: str | Path) -> None:
    """Write indented, key-sorted JSON atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_parquet(df: pd.DataFrame, path: str | Path, metadata: dict | None = None) -> None:
    """Write a DataFrame as parquet atomically; `metadata` goes into the schema as JSON under b'stronglens'."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    if metadata is not None:
        merged = dict(table.schema.metadata or {})
        merged[b"stronglens"] = json.dumps(metadata, sort_keys=True).encode()
        table = table.replace_schema_metadata(merged)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def read_parquet_metadata(path: str | Path) -> dict:
    """The b'stronglens' provenance record of a parquet file written by `write_parquet`."""
    meta = pq.read_schema(path).metadata or {}
    return json.loads(meta.get(b"stronglens", b"{}"))


def read_parquet_columns(path: str | Path, wanted: tuple[str, ...]) -> pd.DataFrame:
    """The `wanted` columns a parquet file has (in that order; absent ones skipped): a stage that checks a few
    columns holds memory in proportion to its rows, not to every column the table carries."""
    have = set(pq.read_schema(path).names)
    return pd.read_parquet(path, columns=[c for c in wanted if c in have])
