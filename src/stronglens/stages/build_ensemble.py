"""Rule ensemble: member runs' best.pt -> results/runs/<ensemble>/{best.pt, history.csv, run_info.json, ...}.

python -m stronglens.stages.build_ensemble --run results/settings/runs/E.json --members A/best.pt B/best.pt \
    --data results/data/D/PAIRING/MODE --out best=... history=... run_info=... gate_history=... timing=... \
    [--device auto --batch 256]

--run is the ensemble run's resolved settings (its `ensemble` block names the
members and the combiner). The combiner is fitted on the validation split of
--data; the histories are written empty (an ensemble is not trained), so
every run folder has the same files.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from stronglens.config.settings import parse_settings
from stronglens.config.stage_cli import read_outputs, stage_parser, user_error
from stronglens.core.provenance import config_sha256
from stronglens.storage.artifacts import atomic_path, write_json
from stronglens.storage.split_store import load_split, require_both_classes
from stronglens.train.checkpoints import save_checkpoint
from stronglens.train.ensemble import (
    EnsembleError,
    EnsembleSettings,
    ensemble_checkpoint,
    fit_combiner,
    load_members,
    member_models,
)
from stronglens.train.loop import HISTORY_COLUMNS, RUN_OUTPUTS, TIMING_COLUMNS
from stronglens.train.scoring import pick_device, predict_logits


def main(argv: list[str] | None = None) -> None:
    ap = stage_parser(__doc__, outputs=tuple(RUN_OUTPUTS))
    ap.add_argument("--run", required=True, help="the ensemble run's resolved settings (JSON file)")
    ap.add_argument("--members", nargs="+", required=True, help="the members' best.pt, in the ensemble's order")
    ap.add_argument("--data", required=True, help="the ensemble's preprocessed folder (its val split fits the combiner)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--batch", type=int, default=256)
    args = ap.parse_args(argv)
    out = read_outputs(ap, args)
    run = json.loads(Path(args.run).read_text())
    with user_error(ap, EnsembleError, ValueError):
        settings = parse_settings(EnsembleSettings, run.get("ensemble"), "ensemble")
        members = load_members([Path(p) for p in args.members])
        names = [m["name"] for m in members]
        if names != list(settings.members):
            raise EnsembleError(f"--members are runs {names}, the ensemble names {list(settings.members)}")
        val = load_split(args.data, "val")
        require_both_classes(val, "val")
    device = pick_device(args.device)
    logits = np.stack([predict_logits(m, val.array, device, args.batch) for m in member_models(members, device)], axis=1)
    labels = val.index["label"].to_numpy().astype(int)
    combiner = fit_combiner(logits, labels, settings.combine, int(run.get("seed", 0)))
    save_checkpoint(ensemble_checkpoint(run, members, combiner), out["best"])
    from stronglens.train.ensemble import combine_probabilities

    p_val = combine_probabilities(logits, combiner)
    for name in ("history", *(k for k in RUN_OUTPUTS if k not in ("best", "history", "run_info"))):
        with atomic_path(out[name]) as tmp:
            header = {"history": HISTORY_COLUMNS, "timing": TIMING_COLUMNS}.get(name, ("epoch",))
            Path(tmp).write_text(",".join(header) + "\n")
    member_auroc = {n: float(roc_auc_score(labels, logits[:, k])) for k, n in enumerate(names)}
    info = {"run": run["name"], "run_config": run, "config_sha256": config_sha256(run), "code_hash": args.code_hash,
            "ensemble": {"combine": combiner["combine"], "weights": [float(w) for w in combiner["weights"]],
                         "intercept": combiner["intercept"], "members": {m["name"]: m["sha256"] for m in members},
                         "member_val_auroc": member_auroc},
            "epochs_run": 0, "best_epoch": -1, "best_val_auroc": float(roc_auc_score(labels, p_val)),
            "n_val": int(len(labels)), "n_train": 0, "n_hard_negative_pairs": 0}
    write_json(info, out["run_info"])
    print(f"{run['name']}: {combiner['combine']} of {', '.join(names)}: val AUROC {info['best_val_auroc']:.4f} "
          f"(members {', '.join(f'{v:.4f}' for v in member_auroc.values())})")


if __name__ == "__main__":
    main()
