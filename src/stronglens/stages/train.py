"""Rule train: one run of config.runs -> results/runs/<run>/{best.pt, history.csv, run_info.json}.

python -m stronglens.stages.train --run '<resolved run JSON>' --data results/data/D/PAIRING/MODE \
    [--paired results/data/D/paired/MODE] --outdir results/runs/R

Resumable state (last.pt, checkpoints/) lives in --outdir beside the declared
outputs; a rerun of the same run config resumes from last.pt.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from stronglens.train.loop import RunData, train_run


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="the resolved run config (JSON)")
    ap.add_argument("--data", required=True, help="folder of the run's preprocessed split arrays")
    ap.add_argument("--paired", default=None, help="folder of the paired arrays (hard negatives)")
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--code-hash", default=None)
    args = ap.parse_args(argv)
    run = json.loads(args.run)
    data = RunData(Path(args.data), Path(args.paired) if args.paired else None)
    info = train_run(run, data, args.outdir, args.code_hash, command=[sys.executable, "-m", __spec__.name, *sys.argv[1:]])
    print(f"best val AUROC {info['best_val_auroc']:.4f} at epoch {info['best_epoch']}")


if __name__ == "__main__":
    main()
