"""How every stage grows with the data: the real Snakemake jobs at three sizes and two stamp sizes.

For each stamp size (64 and 101 pixels) the workflow simulates one synthetic
survey of the smallest size, then builds user-format paired parquet datasets of
every size from copies of its shards (each copy moved to its own patch of sky,
so hosts, bricks and cells stay distinct) and runs, as real Snakemake jobs in
a scratch copy of the workflow: ingest, survey summary, manifest, both checks,
preprocessing (paired and unpaired), the data gates, one training epoch
(bottlenecked ResNet, unpaired) and one selection shard on the dataset's own
hosts. Each job's wall time, peak RSS and bytes read / written come from its
Snakemake ``benchmark:`` file (psutil); the bytes a stage leaves on disk are
summed from its outputs. Simulation is timed on the smallest survey only
(every shard is an independent job of a fixed size, so its cost is per shard).

Prints, per stamp size, the stage table at every size, the growth fit per
stage (exponent b of time ~ n^b over the sizes; linear means b ~ 1; memory
ratio between the two largest sizes), and the cost extrapolated to the
seeds' sizes (451,681 cutouts, 1.38M pairs) on this machine, on one node and
over SLURM shards. Everything is also written as JSON (--out).

    python benchmarks/bench_scale.py [--sizes 2000 8000 32000] [--stamps 64 101] [--shard-size 2000]
        [--workdir DIR] [--out scale.json] [--cores 2]
    python benchmarks/bench_scale.py --collect --workdir DIR   # the figures of an earlier or interrupted run

Needs 20-30 GB of disk at the default sizes (101x101 pairs are ~245 kB each, and
are held three times: shards, paired and unpaired arrays); --sizes 200 400 800
--shard-size 200 runs in a few minutes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
SEED_SCHEMA = ["stamp_npz", "ctrl_stamp_npz", "ra", "dec", "theta_e_arcsec", "arc_snr", "psfsize_r", "psfdepth_r",
               "tier", "pool"]
ANNULUS = {64: [20, 32], 101: [32, 50]}
SEEDS_SIZES = {"cutouts (Paper IV-like, unpaired)": 451_681, "pairs (injection-trained)": 1_380_000}
SEEDS_GRID = 61_600  # injections of the full selection grid (x 9 variants)
# Which rule's jobs make each stage (the rule name of its benchmark files), and what it reads per job.
STAGES = {
    "ingest": "ingest_parquet",
    "summary": "survey_summary",
    "manifest": "build_manifest",
    "check_splits": "check_splits",
    "check_pairs": "check_pairs",
    "preprocess": "preprocess",
    "data_gates": "data_gates",
    "train_epoch": "train",
    "selection_shard": "selection_shard",
}
DATA_STAGES = ("ingest", "summary", "manifest", "check_splits", "check_pairs", "preprocess", "data_gates")


def scratch_workflow(wd: Path) -> Path:
    """A copy of the workflow files in `wd`, the library linked (as the end-to-end tests make one)."""
    wd.mkdir(parents=True, exist_ok=True)
    for item in ("Snakefile", "workflow", "config", "profiles"):
        src = REPO / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, wd / item)
    (wd / "src").symlink_to(REPO / "src")
    return wd


def snakemake(wd: Path, config: Path, cores: int, *targets: str) -> float:
    """Run Snakemake on `targets`; wall seconds. A failure stops the benchmark with the log's tail."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "snakemake", "--configfile", str(config), "--cores", str(cores),
                           *targets], cwd=wd, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"snakemake {' '.join(targets)} failed:\n{done.stderr[-4000:]}")
    return time.perf_counter() - t0


def base_config(stamp: int, n0: int, sizes: list[int], shard_size: int, user: Path) -> dict:
    """One simulated survey of the smallest size, one parquet dataset and one run per size (`sizes` empty: the
    survey alone, for the simulation step, before the parquet files exist)."""
    datasets = {"base": {"source": "synthetic", "stamp_size": stamp, "n_pairs": n0, "shard_size": shard_size,
                         "splits": {"train": 0.7, "val": 0.15, "test": 0.15},
                         "footprint": {"n_fields": max(12, n0 // 100), "field_radius_deg": 0.3},
                         "source_prior": {"mag_r": [21.5, 24.0], "min_arc_snr": 5.0}}}
    runs = {}
    for n in sizes:
        datasets[f"n{n}"] = {"source": "parquet", "path": str(user / f"n{n}" / "*.parquet"), "stamp_size": stamp,
                             "splits": {"train": 0.7, "val": 0.15, "test": 0.15}}
        runs[f"r{n}"] = {"dataset": f"n{n}", "pairing": "unpaired", "preprocessing": "raw_robust", "seed": 1}
    return {
        "seed": 11, "datasets": datasets,
        "preprocessing": {"raw_robust": {"mode": "raw_robust", "annulus": ANNULUS[stamp]}},
        "training": {"epochs": 1, "threads": 2}, "runs": runs,
        "selection": {"runs": [f"r{n}" for n in sizes], "hosts": "dataset", "preset": "small", "n_shards": 10},
        "realism": {"runs": []},
    }


def replicate(base_shards: list[Path], n: int, out: Path) -> None:
    """`n` pairs in the seeds' schema, one file per base shard copy; copy k is moved by 2k deg in ra (its own
    hosts, bricks and cells)."""
    out.mkdir(parents=True, exist_ok=True)
    left, part, copy = n, 0, 0
    while left > 0:
        for shard in base_shards:
            if left <= 0:
                break
            df = pd.read_parquet(shard, columns=SEED_SCHEMA).iloc[:left]
            df["ra"] = np.mod(df["ra"] + 2.0 * copy, 360.0)
            df.to_parquet(out / f"part-{part:04d}.parquet", index=False)
            left, part = left - len(df), part + 1
        copy += 1


def read_benchmarks(results: Path, rule: str, name: str) -> pd.DataFrame:
    """Every benchmark TSV of `rule` (results/benchmarks/<rule>/<job>.tsv, jobs may hold folders) whose job
    name starts with the dataset or run `name` as a whole token; one row per job."""
    folder = results / "benchmarks" / rule
    files = sorted(folder.rglob("*.tsv")) if folder.is_dir() else []
    jobs = [str(f.relative_to(folder).with_suffix("")) for f in files]
    picked = [(f, j) for f, j in zip(files, jobs) if re.match(rf"{re.escape(name)}(?:[-/]|$)", j)]
    if not picked:
        return pd.DataFrame()
    return pd.concat([pd.read_csv(f, sep="\t").assign(job=j) for f, j in picked], ignore_index=True)


def stage_rows(results: Path, n: int, stamp: int) -> list[dict]:
    """Per stage at size n: jobs, summed job seconds, peak RSS of one job (MB), MB read and written."""
    rows = []
    for stage, rule in STAGES.items():
        bench = read_benchmarks(results, rule, f"r{n}" if stage in ("train_epoch", "selection_shard") else f"n{n}")
        if not len(bench):
            continue
        rows.append({"stamp": stamp, "n_pairs": n, "stage": stage, "jobs": int(len(bench)),
                     "job_seconds": float(bench["s"].sum()), "max_job_seconds": float(bench["s"].max()),
                     "peak_rss_mb": float(bench["max_rss"].max()), "read_mb": float(bench["io_in"].sum()),
                     "written_mb": float(bench["io_out"].sum())})
    return rows


def growth(table: pd.DataFrame) -> pd.DataFrame:
    """Per (stamp, stage): job seconds fitted as t = a + c n (a: start-up, c: seconds per pair), the exponent b
    of t ~ n^b between the two largest sizes (1 = linear, 0 = constant; start-up pulls it below 1), and the
    peak-RSS ratio of the two largest sizes (1 = memory bounded by a shard, not by n)."""
    out = []
    for (stamp, stage), g in table.groupby(["stamp", "stage"], sort=False):
        g = g.sort_values("n_pairs")
        if len(g) < 2:
            continue
        c, a = np.polyfit(g["n_pairs"].to_numpy(float), g["job_seconds"].to_numpy(float), 1)
        big, prev = g.iloc[-1], g.iloc[-2]
        b = float(np.log(big["job_seconds"] / prev["job_seconds"]) / np.log(big["n_pairs"] / prev["n_pairs"]))
        kind = "constant" if b < 0.25 else "sub-linear" if b < 0.85 else "linear" if b < 1.15 else "worse than linear"
        out.append({"stamp": stamp, "stage": stage, "startup_s": float(a), "seconds_per_1k_pairs": float(c) * 1000,
                    "exponent_last_two": b, "growth": kind, "rss_ratio_last_two": float(big["peak_rss_mb"] / prev["peak_rss_mb"]),
                    "peak_rss_mb": float(big["peak_rss_mb"]), "mb_written_per_1k_pairs": float(big["written_mb"] / big["n_pairs"]) * 1000,
                    "jobs_largest": int(big["jobs"]), "job_seconds_largest": float(big["job_seconds"]),
                    "n_largest": int(big["n_pairs"]),
                    "rss_mb_per_1k_pairs": float((big["peak_rss_mb"] - prev["peak_rss_mb"]) / (big["n_pairs"] - prev["n_pairs"]) * 1000)})
    return pd.DataFrame(out)


ROW_BOUND = 1.2  # the tolerance: peak memory independent of n within 20%
SHARDED = ("ingest",)  # one job per input file; every other data stage runs as many jobs at any n (preprocess: one per pairing)


def extrapolate(fits: pd.DataFrame, stamp: int, shard_size: int, node_cores: int) -> pd.DataFrame:
    """The data stages at the seeds' sizes from the fitted t = a + c n: hours on 2 cores (jobs in parallel
    where the stage has several), on one node of `node_cores` cores, the SLURM jobs and memory per job (1.5x the
    peak RSS, itself extended linearly in n for a stage whose memory grows with the rows)."""
    rows = []
    for label, n in SEEDS_SIZES.items():
        for _, f in fits[(fits["stamp"] == stamp) & fits["stage"].isin(DATA_STAGES)].iterrows():
            # A stage that does not grow (data gates: a capped sample) costs what it cost at the largest size.
            seconds = max(f["startup_s"] + f["seconds_per_1k_pairs"] * n / 1000, f["job_seconds_largest"])
            jobs = math.ceil(n / shard_size) if f["stage"] in SHARDED else f["jobs_largest"]
            # Peak RSS that grew by more than ROW_BOUND between the two largest sizes holds something per row
            # (metadata tables): extend it linearly; otherwise it is bounded by a shard and stays as measured.
            row_bound = f["rss_ratio_last_two"] > ROW_BOUND
            mem_mb = f["peak_rss_mb"] + (max(f["rss_mb_per_1k_pairs"], 0.0) * (n - f["n_largest"]) / 1000 if row_bound else 0.0)
            rows.append({"dataset": label, "n": n, "stage": f["stage"], "job_hours": seconds / 3600,
                         "hours_2_cores": seconds / min(2, jobs) / 3600,
                         f"hours_{node_cores}_cores": seconds / min(node_cores, jobs) / 3600,
                         "slurm_jobs": jobs, "memory": "rows" if row_bound else "shard",
                         "mem_per_job_gb": round(mem_mb * 1.5 / 1024, 2),
                         "disk_gb": f["mb_written_per_1k_pairs"] * n / 1000 / 1024})
    return pd.DataFrame(rows)


def run_stamp(stamp: int, sizes: list[int], shard_size: int, work: Path, cores: int) -> tuple[list[dict], dict]:
    """All sizes at one stamp size; (stage rows, simulation record)."""
    wd = scratch_workflow(work / f"stamp{stamp}")
    user = work / f"user{stamp}"
    n0 = min(sizes)
    sim_config = wd / "simulate.yaml"  # the parquet datasets' files must exist when the workflow starts
    cfg = base_config(stamp, n0, [], shard_size, user)
    sim_config.write_text(yaml.safe_dump({**cfg, "runs": {}, "selection": {"runs": []}}))
    wall = snakemake(wd, sim_config, cores, "results/data/base/summary.json")
    simulation = simulation_record(wd, stamp, n0, wall)
    base = sorted((wd / "results" / "data" / "base" / "pairs").glob("part-*.parquet"))
    for n in sizes:
        replicate(base, n, user / f"n{n}")
    config = wd / "scale.yaml"
    config.write_text(yaml.safe_dump(base_config(stamp, n0, sizes, shard_size, user)))
    rows = []
    for n in sizes:
        targets = [f"results/data/n{n}/summary.json", f"results/gates/data/n{n}-raw_robust.json",
                   f"results/runs/r{n}/best.pt", f"results/selection/r{n}/shard-1-of-10.parquet"]
        wall = snakemake(wd, config, cores, *targets)
        stage = stage_rows(wd / "results", n, stamp)
        for r in stage:
            r["stage_wall_all_s"] = wall
        rows += stage
        print(f"stamp {stamp}, {n} pairs: {wall:.0f} s of jobs", flush=True)
    return rows, simulation


def simulation_record(wd: Path, stamp: int, n0: int, wall: float | None) -> dict:
    """The simulate_survey jobs of the base survey: jobs, job seconds, pairs per job second, peak RSS."""
    sim = read_benchmarks(wd / "results", "simulate_survey", "base")
    if not len(sim):
        return {}
    return {"stamp": stamp, "n_pairs": n0, "jobs": int(len(sim)), "job_seconds": float(sim["s"].sum()),
            "pairs_per_job_second": n0 / float(sim["s"].sum()), "peak_rss_mb": float(sim["max_rss"].max()),
            "wall_s": wall}


def collect_stamp(stamp: int, sizes: list[int], work: Path) -> tuple[list[dict], dict]:
    """`--collect`: the figures of an earlier (possibly interrupted) run in `work`, from its benchmark files,
    for the sizes whose every stage finished."""
    wd = work / f"stamp{stamp}"
    rows = []
    for n in sizes:
        stage = stage_rows(wd / "results", n, stamp)
        if {r["stage"] for r in stage} == set(STAGES):
            rows += [{**r, "stage_wall_all_s": float("nan")} for r in stage]
    return rows, simulation_record(wd, stamp, min(sizes), None)


def markdown(df: pd.DataFrame, floats: str = "{:.3g}") -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        lines.append("| " + " | ".join(floats.format(v) if isinstance(v, float) else str(v) for v in r) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 8000, 32000])
    ap.add_argument("--stamps", type=int, nargs="+", default=[64, 101], choices=sorted(ANNULUS))
    ap.add_argument("--shard-size", type=int, default=2000, help="pairs per simulated shard and per user file")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--node-cores", type=int, default=72, help="CPU cores of one node for the extrapolation (GH200: 72)")
    ap.add_argument("--workdir", default=None, help="keep the scratch folders here (default: a temporary folder, removed)")
    ap.add_argument("--out", default=None, help="write every figure as JSON here")
    ap.add_argument("--collect", action="store_true",
                    help="run nothing: print the figures of an earlier run kept in --workdir (the sizes it finished)")
    args = ap.parse_args()
    if args.collect and not args.workdir:
        ap.error("--collect reads an earlier run: give its --workdir")
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="bench_scale_"))
    sizes = sorted(args.sizes)
    rows, sims = [], []
    try:
        for stamp in args.stamps:
            r, s = (collect_stamp(stamp, sizes, work) if args.collect
                    else run_stamp(stamp, sizes, args.shard_size, work, args.cores))
            rows += r
            sims += [s] if s else []
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    table = pd.DataFrame(rows)
    fits = growth(table)
    print(f"\nmachine: {os.cpu_count()} CPU cores; sizes {sizes}; shard size {args.shard_size}\n")
    print("simulation (smallest size only; one job per shard):\n" + markdown(pd.DataFrame(sims)) + "\n")
    print("per stage and size (job_seconds: summed over the stage's jobs):\n"
          + markdown(table.drop(columns=["stage_wall_all_s"])) + "\n")
    print("growth (time ~ n^b over the sizes; RSS ratio of the two largest sizes):\n" + markdown(fits) + "\n")
    measured = sorted(set(fits["stamp"])) if len(fits) else []
    extra = {stamp: extrapolate(fits, stamp, args.shard_size, args.node_cores) for stamp in measured}
    for stamp, df in extra.items():
        print(f"extrapolated to the seeds' sizes at {stamp}x{stamp} (linear per-pair cost of the largest size):\n"
              + markdown(df) + "\n")
    if args.out:
        Path(args.out).write_text(json.dumps({"simulation": sims, "stages": rows, "growth": fits.to_dict("records"),
                                              "extrapolation": {str(k): v.to_dict("records") for k, v in extra.items()}},
                                             indent=2))


if __name__ == "__main__":
    main()
