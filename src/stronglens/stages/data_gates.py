"""Rule data_gates: model-free core / radial / annulus LR AUCs for paired and unpaired inputs.

python -m stronglens.stages.data_gates --config '<gate settings JSON>' --thresholds '<gates.thresholds JSON>' \
    --clip 10 --seed S --out G.json \
    --input paired results/data/D/paired/MODE --input unpaired results/data/D/unpaired/MODE --splits train val test
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from stronglens.config.settings import SettingsError, as_dict
from stronglens.config.stage_cli import read_settings, stage_parser
from stronglens.core.provenance import provenance
from stronglens.gates.model_free import data_gates, host_subsample
from stronglens.gates.settings import DataGateSettings, parse_thresholds
from stronglens.gates.verdict import DATA_GATES
from stronglens.storage.artifacts import read_parquet_columns, write_json
from stronglens.storage.split_store import open_for_sparse_reads


def load(folder: Path, splits: list[str], max_samples: int,
         seed: int) -> tuple[np.ndarray, pd.DataFrame, np.ndarray | None]:
    """The gate sample (whole hosts, at most ~max_samples rows) of one preprocessed folder: images, index rows
    and their ring-median profiles before subtraction (None when the folder has no profile files).

    The sample is chosen from the index first; only its rows are read from
    the memory-mapped split arrays.
    """
    index = pd.concat([read_gate_columns(folder / f"{s}.index.parquet").assign(_split=s, _pos=lambda d: np.arange(len(d)))
                       for s in splits], ignore_index=True)
    keep = host_subsample(index["host_id"].to_numpy(), max_samples, seed)
    index = index.iloc[keep].reset_index(drop=True)
    arrays = {s: open_for_sparse_reads(folder / f"{s}.npy") for s in splits}
    x = np.stack([arrays[s][p] for s, p in zip(index["_split"], index["_pos"])]) if len(index) else np.empty((0,))
    profile_files = {s: folder / f"{s}.profile.npy" for s in splits}
    profile = None
    if all(f.is_file() for f in profile_files.values()):
        rings = {s: open_for_sparse_reads(f) for s, f in profile_files.items()}
        profile = np.stack([rings[s][p] for s, p in zip(index["_split"], index["_pos"])]) if len(index) else None
    return x, index.drop(columns=["_split", "_pos"]), profile


# The index columns the gates read (stronglens.gates.model_free.data_gates).
GATE_COLUMNS = ("host_id", "label", "theta_e_arcsec")


def read_gate_columns(path: Path) -> pd.DataFrame:
    """A split index's GATE_COLUMNS (those it has)."""
    return read_parquet_columns(path, GATE_COLUMNS)


def main(argv: list[str] | None = None) -> None:
    ap = stage_parser(__doc__)
    ap.add_argument("--config", required=True, help="data_gates settings (JSON text or file)")
    ap.add_argument("--thresholds", required=True, help="gates.thresholds (JSON): the same ones a run's gates use")
    ap.add_argument("--clip", default="null", help="the preprocessing clip (JSON number or null)")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--input", nargs=2, action="append", metavar=("PAIRING", "FOLDER"), required=True)
    ap.add_argument("--splits", nargs="+", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    cfg = read_settings(ap, DataGateSettings, args.config, "--config")
    try:
        thresholds = parse_thresholds(json.loads(args.thresholds), "--thresholds", DATA_GATES)
    except (SettingsError, json.JSONDecodeError) as err:
        ap.error(str(err))
    clip = json.loads(args.clip)
    record = {"data_gates": as_dict(cfg), "thresholds": as_dict(thresholds), "clip": clip}
    report = {"pairings": {}, "provenance": provenance(record, args.code_hash)}
    for pairing, folder in args.input:
        x, index, profile = load(Path(folder), args.splits, cfg.max_samples, args.seed)
        report["pairings"][pairing] = data_gates(x, index, cfg, thresholds, clip, args.seed, profile)
    write_json(report, args.out)


if __name__ == "__main__":
    main()
