"""Rule train: one run of config.runs -> results/runs/<run>/{best.pt, history.csv, run_info.json}.

python -m stronglens.stages.train --run '<resolved run JSON>' --data results/data/D/PAIRING/MODE \
    [--paired results/data/D/paired/MODE] --outdir results/runs/R \
    [--threads N --device auto --workers N --pin-memory 1 --eval-batch N --channels-last 1]

The run JSON is its science config (what the results depend on). The
execution flags come from the rule's `{threads}` and `resources` and are left
out of the run's SHA-256, so changing them neither retrains nor blocks a resume.

Resumable state (last.pt, checkpoints/) lives in --outdir beside the declared
outputs; a rerun of the same run config resumes from last.pt.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from stronglens.train.execution import ExecutionSettings
from stronglens.train.loop import RunData, train_run


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="the resolved run config (JSON)")
    ap.add_argument("--data", required=True, help="folder of the run's preprocessed split arrays")
    ap.add_argument("--paired", default=None, help="folder of the paired arrays (hard negatives)")
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--code-hash", default=None)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (the job's {threads})")
    ap.add_argument("--device", default=None, help="auto, cpu or cuda[:N]")
    ap.add_argument("--workers", type=int, default=None, help="DataLoader worker processes")
    ap.add_argument("--pin-memory", type=int, choices=(0, 1), default=None)
    ap.add_argument("--eval-batch", type=int, default=None, help="images per forward pass when scoring val")
    ap.add_argument("--channels-last", type=int, choices=(0, 1), default=None)
    args = ap.parse_args(argv)
    run = json.loads(args.run)
    given = {"threads": args.threads, "device": args.device, "num_workers": args.workers,
             "pin_memory": None if args.pin_memory is None else bool(args.pin_memory), "eval_batch": args.eval_batch,
             "channels_last": None if args.channels_last is None else bool(args.channels_last)}
    execution = replace(ExecutionSettings.from_train(run["train"]), **{k: v for k, v in given.items() if v is not None})
    data = RunData(Path(args.data), Path(args.paired) if args.paired else None)
    info = train_run(run, data, args.outdir, args.code_hash, command=[sys.executable, "-m", __spec__.name, *sys.argv[1:]],
                     execution=execution)
    print(f"best val AUROC {info['best_val_auroc']:.4f} at epoch {info['best_epoch']}")


if __name__ == "__main__":
    main()
