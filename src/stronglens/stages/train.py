"""Rule train: one run of config.runs -> results/runs/<run>/{best.pt, history.csv, run_info.json}.

python -m stronglens.stages.train --run results/settings/runs/R.json --data results/data/D/PAIRING/MODE \
    [--paired results/data/D/paired/MODE] [--pretrained-checkpoint results/runs/PARENT/best.pt] \
    --out best=results/runs/R/best.pt history=results/runs/R/history.csv run_info=results/runs/R/run_info.json \
    [--threads N --device auto --workers N --pin-memory 1 --eval-batch N --channels-last 1]

--run is the run's science settings (RunSettings: JSON text or the file the
run_settings rule writes). The execution flags come from the rule's
`{threads}` and `resources` and are left out of the run's SHA-256, so changing
them neither retrains nor blocks a resume.

Resumable state (last.pt, checkpoints/) lives in the folder of the best.pt
output; a rerun of the same run settings resumes from last.pt.
"""

from __future__ import annotations

import sys
from pathlib import Path

from stronglens.config.stage_cli import read_outputs, read_settings, stage_parser, user_error
from stronglens.gates.training_history import GateMonitor
from stronglens.storage.split_store import TrainingDataError
from stronglens.train.execution import ExecutionSettings
from stronglens.train.loop import RUN_OUTPUTS, RunData, train_run
from stronglens.train.settings import RunSettings


def execution_from(args) -> ExecutionSettings:
    """The execution flags given (schema defaults for the others)."""
    given = {"threads": args.threads, "device": args.device, "num_workers": args.workers,
             "pin_memory": None if args.pin_memory is None else bool(args.pin_memory), "eval_batch": args.eval_batch,
             "channels_last": None if args.channels_last is None else bool(args.channels_last)}
    return ExecutionSettings(**{k: v for k, v in given.items() if v is not None})


def main(argv: list[str] | None = None) -> None:
    ap = stage_parser(__doc__, outputs=tuple(RUN_OUTPUTS))
    ap.add_argument("--run", required=True, help="the run's science settings (JSON text or file)")
    ap.add_argument("--data", required=True, help="folder of the run's preprocessed split arrays")
    ap.add_argument("--paired", default=None, help="folder of the paired arrays (hard negatives)")
    ap.add_argument("--pretrained-checkpoint", default=None, help="a fine-tune's parent best.pt (pretrained: run:<name>)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (the job's {threads})")
    ap.add_argument("--device", default=None, help="auto, cpu or cuda[:N]")
    ap.add_argument("--workers", type=int, default=None, help="DataLoader worker processes")
    ap.add_argument("--pin-memory", type=int, choices=(0, 1), default=None)
    ap.add_argument("--eval-batch", type=int, default=None, help="images per forward pass when scoring val")
    ap.add_argument("--channels-last", type=int, choices=(0, 1), default=None)
    args = ap.parse_args(argv)
    run = read_settings(ap, RunSettings, args.run, "--run")
    out = read_outputs(ap, args)
    data = RunData(Path(args.data), Path(args.paired) if args.paired else None,
                   Path(args.pretrained_checkpoint) if args.pretrained_checkpoint else None)
    with user_error(ap, TrainingDataError):
        info = train_run(run, data, out["best"].parent, args.code_hash,
                         command=[sys.executable, "-m", __spec__.name, *sys.argv[1:]],
                         execution=execution_from(args), outputs=out, monitor=GateMonitor())
    print(f"best val AUROC {info['best_val_auroc']:.4f} at epoch {info['best_epoch']}")


if __name__ == "__main__":
    main()
