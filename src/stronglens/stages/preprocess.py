"""Rule preprocess: one manifest -> per split a float32 .npy (N x C x H x W), its index parquet and the
ring-median profile before any subtraction (N x C x R, `<split>.profile.npy`, read by the radial data gate).

python -m stronglens.stages.preprocess --manifest M.parquet --config '<preprocessing JSON>' --stamp-size 64 \
    --out train=F/train.npy train_index=F/train.index.parquet train_profile=F/train.profile.npy val=... test=...
"""

from __future__ import annotations

import pandas as pd

from stronglens.config.settings import as_dict
from stronglens.config.stage_cli import read_outputs, read_settings, stage_parser, user_error
from stronglens.core.provenance import provenance
from stronglens.data.normalise import PreprocessError
from stronglens.data.preprocess_splits import PreprocessInputError, preprocess_manifest
from stronglens.data.settings import PreprocessSettings
from stronglens.storage.blobs import BlobError
from stronglens.storage.shards import ImageError
from stronglens.storage.split_store import SPLITS

OUTPUTS = tuple(name for split in SPLITS for name in (split, f"{split}_index", f"{split}_profile"))


def main(argv: list[str] | None = None) -> None:
    ap = stage_parser(__doc__, outputs=OUTPUTS)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--config", required=True, help="one preprocessing mode's settings (JSON text or file)")
    ap.add_argument("--stamp-size", type=int, required=True)
    args = ap.parse_args(argv)
    pp = read_settings(ap, PreprocessSettings, args.config, "--config")
    out = read_outputs(ap, args)
    outputs = {s: (out[s], out[f"{s}_index"], out[f"{s}_profile"]) for s in SPLITS}
    with user_error(ap, BlobError, ImageError, PreprocessError, PreprocessInputError):
        counts = preprocess_manifest(pd.read_parquet(args.manifest), pp, outputs, (3, args.stamp_size, args.stamp_size),
                                     provenance({"preprocessing": as_dict(pp)}, args.code_hash))
    print(f"preprocessed {counts}")


if __name__ == "__main__":
    main()
