"""Training throughput: the real loader against batches already in memory, side by side.

For each model, builds a preprocessed-like folder of (N, 3, S, S) float32
arrays (memory-mapped .npy + index, the layout the preprocess rule writes),
then times one epoch of the real training step (forward, backward, AdamW
step) three ways and prints images per second:

* loader only: the DataLoader building batches (read memmap, hard negatives,
  flips, core dropout), no model;
* real loader: `Trainer.train_epoch`, batches from the DataLoader;
* in memory: `Trainer.train_batches` on the same batches prepared beforehand
  (already on the device): the ceiling the loader can reach.

The ratio real / in-memory is the goal figure (>= 0.9: the loader is never the
bottleneck). Each epoch is timed after a warm-up epoch; the best of --repeat.

    python benchmarks/bench_train.py                      # CPU, bottlenecked ResNet, 64x64
    python benchmarks/bench_train.py --device cuda --size 101 --amp bf16 --channels-last 1 --workers 8 \
        --micro-batch 512 --models bottlenecked_resnet efficientnet_v2_s --n 16384

--workers is --num-workers; --model is --models; --channels-last 1 (the default, as in training)
runs the convolutions channels-last, 0 in torch's default layout. --result adds one
machine-readable line per model and figure, `RESULT train_<model>_<figure> <value> <unit>`.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from snakemake.utils import validate
from timing import timed

from stronglens.train.loop import RunData, Trainer

SCHEMA = Path(__file__).resolve().parents[1] / "workflow" / "schemas" / "training.schema.yaml"


def write_folder(folder: Path, n: int, size: int, seed: int = 0) -> None:
    """Random 'preprocessed' pairs (stamp, ctrl) for train and a small val split."""
    rng = np.random.default_rng(seed)
    for split, count in (("train", n), ("val", max(64, n // 16))):
        pairs = count // 2
        arr = np.lib.format.open_memmap(folder / f"{split}.npy", mode="w+", dtype=np.float32, shape=(2 * pairs, 3, size, size))
        for start in range(0, 2 * pairs, 1024):
            stop = min(2 * pairs, start + 1024)
            arr[start:stop] = rng.standard_normal((stop - start, 3, size, size), dtype=np.float32)
        arr.flush()
        rows = [{"pair_id": f"p{i // 2}", "label": 1 - i % 2, "sample_weight": 1.0, "sample_id": f"{split}{i}"}
                for i in range(2 * pairs)]
        pd.DataFrame(rows).to_parquet(folder / f"{split}.index.parquet")



def bench(model: str, folder: Path, args: argparse.Namespace) -> dict:
    """Images per second of one model: loader only, real loader, in memory (best of args.repeat epochs)."""
    settings = {"epochs": 10, "batch_size": args.micro_batch, "micro_batch": args.micro_batch, "device": args.device,
                "amp": args.amp, "threads": args.threads, "num_workers": args.num_workers,
                "channels_last": bool(args.channels_last),
                "hard_negatives": {"ratio": args.hard_negatives}, "core_dropout": {"schedule": [{"radius": 5, "p": 0.5}]}}
    validate(settings, str(SCHEMA))
    run = {"name": "bench", "dataset": "bench", "pairing": "paired", "preprocessing": "bench", "model": model, "width": 27,
           "pretrained": None, "seed": 0, "clip": 10.0, "train": settings}
    trainer = Trainer(run, RunData(folder, folder), folder / "out", log=lambda *a: None)
    loader, plan = trainer.loader(1)
    n_img = sum(len(mb.indices) for mb in plan)

    def loader_only():
        for _ in trainer.loader(1)[0]:
            pass

    def epoch_real():
        trainer.train_epoch(1)
        if trainer.device.type == "cuda":
            torch.cuda.synchronize()

    cached = [tuple(t.to(trainer.device) for t in batch) for batch in loader]

    def epoch_memory():
        trainer.train_batches(1, cached, plan)
        if trainer.device.type == "cuda":
            torch.cuda.synchronize()

    epoch_memory()  # warm-up (cudnn autotune, allocator)
    t_loader = timed(loader_only, args.repeat)
    t_mem, t_real = [], []
    for _ in range(args.repeat):  # interleaved, so drifts hit both alike
        t_real.append(timed(epoch_real, 1))
        t_mem.append(timed(epoch_memory, 1))
    return {"model": model, "images": n_img, "loader_only": n_img / t_loader, "real_loader": n_img / min(t_real),
            "in_memory": n_img / min(t_mem), "device": str(trainer.device),
            "amp": str(trainer.amp).replace("torch.", "") if trainer.amp else "off"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", "--model", nargs="+", default=["bottlenecked_resnet"])
    ap.add_argument("--n", type=int, default=2048, help="training images per epoch")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--micro-batch", type=int, default=64)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--amp", default="bf16", choices=["bf16", "fp16", "off"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--num-workers", "--workers", type=int, default=0, help="DataLoader worker processes")
    ap.add_argument("--channels-last", type=int, choices=(0, 1), default=1, help="channels-last convolutions (1, as in training)")
    ap.add_argument("--hard-negatives", type=float, default=0.3, help="hard negatives per positive")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--result", action="store_true", help="also print `RESULT name value unit` lines")
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_folder(folder, args.n, args.size)
        print(f"{args.n} training images of 3x{args.size}x{args.size}, micro-batch {args.micro_batch}, "
              f"{args.num_workers} loader workers, {args.threads} threads, hard negatives {args.hard_negatives}/positive, "
              f"core dropout r5 p0.5, flips, channels-last {'on' if args.channels_last else 'off'}")
        print(f"{'model':22s} {'device':8s} {'amp':5s} {'loader only':>12s} {'real loader':>12s} {'in memory':>12s} {'ratio':>6s}")
        for model in args.models:
            r = bench(model, folder, args)
            results.append(r)
            print(f"{r['model']:22s} {r['device']:8s} {r['amp']:5s} {r['loader_only']:12,.0f} {r['real_loader']:12,.0f} "
                  f"{r['in_memory']:12,.0f} {r['real_loader'] / r['in_memory']:6.3f}")
        print("images per second; ratio = real loader / in memory (goal >= 0.9)")
    if args.result:
        for r in results:
            for key in ("loader_only", "real_loader", "in_memory"):
                print(f"RESULT train_{r['model']}_{key} {r[key]:.6g} img/s")
            print(f"RESULT train_{r['model']}_ratio {r['real_loader'] / r['in_memory']:.6g} x")


if __name__ == "__main__":
    main()
