"""Where bytes live and how they are read back: NPZ blobs, pair shards, atomic parquet/JSON writes, and the
preprocessed-split store (the memory-mapped per-split arrays with their row-aligned indexes: writer and reader)."""
