"""Where pairs come from: the embedded synthetic DR10-like survey (`survey.synthetic`), the sky grids (bricks,
HEALPix), and ingest of a user's real data (paired parquet shards, cutout catalogs) into the same shard schema.
Its `settings` module holds the survey slice a synthetic dataset is simulated from."""
