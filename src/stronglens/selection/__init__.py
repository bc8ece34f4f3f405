"""Injection-recovery selection function: grid cells and prior draws, arcs rendered into synthetic or dataset
hosts, scoring with failure accounting, and the completeness tables and intervals gathered from the shards. Its
`settings` module holds the shard, gather and figure slices and the PSF model."""
