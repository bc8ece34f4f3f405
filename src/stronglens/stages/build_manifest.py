"""Rule build_manifest: pair shards -> manifest-paired.parquet and manifest-unpaired.parquet.

python -m stronglens.stages.build_manifest --config '<manifest settings JSON>' --seed S \
    --paired P.parquet --unpaired U.parquet part-0.parquet part-1.parquet ...
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from stronglens.config.settings import as_dict
from stronglens.config.stage_cli import read_settings, stage_parser, user_error
from stronglens.core.provenance import provenance
from stronglens.data.manifest import ManifestError, build_manifests
from stronglens.data.settings import ManifestSettings
from stronglens.storage.artifacts import write_parquet
from stronglens.storage.shards import read_shard_metadata

REQUIRED = ("pair_id", "host_id", "ra", "dec", "brickname", "healpix_128", "theta_e_arcsec", "psfsize_r", "psfdepth_r", "tier")
REQUIRED_PAIRED = REQUIRED + ("stamp_npz", "ctrl_stamp_npz")
REQUIRED_SINGLE = REQUIRED + ("image_npz", "label", "galaxy_id")


def read_shard(path: str) -> pd.DataFrame:
    """Metadata of a pair shard (no blobs); a missing file or column is named."""
    if not Path(path).is_file():
        raise ManifestError(f"{path}: no such file")
    names = pq.read_schema(path).names
    required = REQUIRED_SINGLE if "image_npz" in names else REQUIRED_PAIRED
    missing = [c for c in required if c not in names]
    if missing:
        raise ManifestError(f"{path}: missing column(s) {missing}: field {missing[0]}")
    return read_shard_metadata(path)


def main(argv: list[str] | None = None) -> None:
    ap = stage_parser(__doc__)
    ap.add_argument("--config", required=True, help="the dataset's manifest settings (JSON text or file)")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--paired", required=True)
    ap.add_argument("--unpaired", required=True)
    ap.add_argument("shards", nargs="+")
    args = ap.parse_args(argv)
    cfg = read_settings(ap, ManifestSettings, args.config, "--config")
    with user_error(ap, ManifestError):
        paired, unpaired = build_manifests([(p, read_shard(p)) for p in args.shards], cfg, args.seed)
    meta = provenance({"manifest": as_dict(cfg), "seed": args.seed}, args.code_hash)
    write_parquet(paired, args.paired, meta)
    write_parquet(unpaired, args.unpaired, meta)
    print(f"paired: {len(paired)} rows, unpaired: {len(unpaired)} rows")


if __name__ == "__main__":
    main()
