#!/usr/bin/env bash
# One GPU check, ready to run (issue 19, point 5): every GPU figure the docs leave open, in one go,
# within 8 minutes on one GPU, ending with one summary table.
#
#   bash benchmarks/gpu_check.sh                  # on the GPU machine (default --device cuda)
#   bash benchmarks/gpu_check.sh --device cpu --tiny   # the same steps, tiny sizes, on a CPU (~2 min)
#
# Steps (each under its own time limit; a step that fails leaves nan in its rows, the others still run):
#   1. engine    benchmarks/bench_injection.py at batch 1024, eager and compiled (this engine only)
#   2. train     benchmarks/bench_train.py at 101x101, bf16 AMP, channels-last, loader workers, for the
#                bottlenecked ResNet and EfficientNetV2-S (real loader vs batches in memory)
#   3. selection benchmarks/bench_selection.py: one full-grid shard (shard 0 of 32, 200 injections per
#                cell) timed and extrapolated to the 61,600 injections of the full grid
#   4. workflow  one `snakemake --profile lambda` training job (results/runs/tiny_paired/best.pt on
#                config/test.yaml, with the jobs it needs) in a scratch copy of the workflow
#
# Goals (docs/training.md, docs/selection.md): >= 10,000 train images/s for the bottlenecked ResNet at
# 101x101 with the real loader at >= 0.9x in memory; the full 61,600-injection grid in < 2 minutes.
# Rows without a goal say "info".
#
# --device cpu runs every step on the CPU: the benchmarks get --device cpu, and the workflow job keeps
# the lambda profile but overrides its GPU-node settings for this machine (train:torch_device=cpu,
# train:loader_workers=0, train threads = the CPU count, at most 8). --tiny shrinks every size (the
# figures then only prove the steps run; goals are still checked and will fail on a CPU).
# Environment: PYTHON (default: python) is the interpreter of the project's environment; this
# checkout's src/ goes first on PYTHONPATH. Exit status: 0 when every step produced its figures
# (whatever the goals say), 1 when a step failed or timed out, 2 on a usage error.
set -uo pipefail

DEVICE=cuda
TINY=0
KEEP=0
usage() { sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; echo "usage: bash benchmarks/gpu_check.sh [--device cpu|cuda] [--tiny] [--keep]"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE="${2:-}"; shift 2 ;;
    --device=*) DEVICE="${1#*=}"; shift ;;
    --tiny) TINY=1; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "gpu_check.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
case "$DEVICE" in cpu|cuda) ;; *) echo "gpu_check.sh: --device must be cpu or cuda, got '$DEVICE'" >&2; exit 2 ;; esac

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python}"
PYBIN="$(command -v "$PYTHON")" || { echo "gpu_check.sh: no interpreter '$PYTHON' (set PYTHON)" >&2; exit 2; }
export PATH="$(dirname "$PYBIN"):$PATH"  # workflow jobs call `python`
export PYTHONPATH="$REPO/src${PYTHONPATH:+:$PYTHONPATH}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")"
[ "$KEEP" = 1 ] || trap 'rm -rf "$WORK"' EXIT
RESULTS="$WORK/results.txt"
: > "$RESULTS"
NCPU="$(nproc 2>/dev/null || echo 2)"
THREADS=$(( NCPU < 8 ? NCPU : 8 ))
FAILED=()
T_START=$SECONDS

# run_step NAME LIMIT_S CMD...: runs CMD with a time limit, shows and logs its output, keeps its RESULT lines.
run_step() {
  local name="$1" limit="$2"; shift 2
  local t0=$SECONDS rc
  echo "=== $name (limit ${limit} s): $*"
  timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$WORK/$name.log"
  rc=${PIPESTATUS[0]}
  grep '^RESULT ' "$WORK/$name.log" >> "$RESULTS"
  echo "=== $name: exit $rc after $(( SECONDS - t0 )) s"
  [ "$rc" = 0 ] || FAILED+=("$name (exit $rc)")
}

if [ "$TINY" = 1 ]; then
  ENGINE=(--batch 16 --n-speed 32 --n-compare 2)
  TRAIN=(--size 32 --n 16 --micro-batch 8 --repeat 1 --workers 1)
  SELECTION=(--n 4 --grid-shard 154)
else
  ENGINE=(--batch 1024 --n-speed 8192 --n-compare 8)
  TRAIN=(--size 101 --n 16384 --micro-batch 512 --repeat 2 --workers 8)
  SELECTION=(--n 200 --grid-shard 32)
fi
cd "$REPO" || exit 1

# 1. The engine at batch 1024 (--tiny: 16), eager and compiled; no peers, no image sources.
run_step engine 120 "$PYTHON" benchmarks/bench_injection.py --device "$DEVICE" "${ENGINE[@]}" \
  --peers --no-image-source --result

# 2. Training throughput, both models, bf16 AMP (CUDA only; a CPU trains in float32), channels-last.
run_step train 150 "$PYTHON" benchmarks/bench_train.py --device "$DEVICE" "${TRAIN[@]}" --amp bf16 \
  --channels-last 1 --threads "$THREADS" --models bottlenecked_resnet efficientnet_v2_s --result

# 3. One full-grid selection shard, extrapolated to 61,600 injections.
run_step selection 90 "$PYTHON" benchmarks/bench_selection.py --device "$DEVICE" --stamp 64 \
  --threads "$THREADS" "${SELECTION[@]}" --result

# 4. One training job through the lambda profile, in a scratch copy of the workflow.
WF="$WORK/workflow"
mkdir -p "$WF"
cp -r "$REPO/Snakefile" "$REPO/workflow" "$REPO/config" "$REPO/profiles" "$WF/"
ln -s "$REPO/src" "$WF/src"
TARGET=results/runs/tiny_paired/best.pt
SMK=("$PYTHON" -m snakemake "$TARGET" --profile profiles/lambda --configfile config/test.yaml)
if [ "$DEVICE" = cpu ]; then
  SMK+=(--cores "$NCPU" --set-threads "train=$THREADS" --set-resources train:torch_device=cpu train:loader_workers=0)
fi
cd "$WF" || exit 1
run_step workflow 120 "${SMK[@]}"
cd "$REPO" || exit 1
TRAIN_S=nan
WF_OK=0
if [ -f "$WF/$TARGET" ] && [ -f "$WF/results/benchmarks/train/tiny_paired.tsv" ]; then
  TRAIN_S="$(awk 'NR == 2 {print $1}' "$WF/results/benchmarks/train/tiny_paired.tsv")"
  RUN_DEVICE="$("$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["device"]["type"])' \
    "$WF/results/runs/tiny_paired/run_info.json" 2>/dev/null || echo none)"
  [ "$RUN_DEVICE" = "$DEVICE" ] && WF_OK=1
  echo "RESULT workflow_train_job $TRAIN_S s" >> "$RESULTS"
  echo "workflow: $TARGET written, trained on $RUN_DEVICE in $TRAIN_S s (results/benchmarks/train/tiny_paired.tsv)"
fi

# The summary: one line per check. value NAME -> the figure (nan when the step did not produce it).
value() { awk -v k="$1" '$1 == "RESULT" && $2 == k {v = $3} END {print (v == "" ? "nan" : v)}' "$RESULTS"; }
# status VALUE OP GOAL -> PASS / FAIL / nan; OP is >= or <.
status() {
  awk -v v="$1" -v op="$2" -v g="$3" 'BEGIN {
    if (v == "nan" || v == "") { print "nan"; exit }
    ok = (op == ">=") ? (v + 0 >= g + 0) : (v + 0 < g + 0); print (ok ? "PASS" : "FAIL") }'
}
row() { printf '%-40s %14s  %-6s  %-22s %s\n' "$@"; }
ROWS=()
add() { ROWS+=("$(row "$@")"); }
E1=$(value engine_eager_rate); E2=$(value engine_compiled_rate)
add "engine eager, batch ${ENGINE[1]}" "$E1" "inj/s" "-" "info"
add "engine compiled, batch ${ENGINE[1]}" "$E2" "inj/s" "-" "info"
R1=$(value train_bottlenecked_resnet_real_loader); Q1=$(value train_bottlenecked_resnet_ratio)
add "train ResNet (bottlenecked), real loader" "$R1" "img/s" ">= 10,000" "$(status "$R1" ">=" 10000)"
add "train ResNet, real / in memory" "$Q1" "x" ">= 0.9" "$(status "$Q1" ">=" 0.9)"
R2=$(value train_efficientnet_v2_s_real_loader); Q2=$(value train_efficientnet_v2_s_ratio)
add "train EfficientNetV2-S, real loader" "$R2" "img/s" "-" "info"
add "train EfficientNetV2-S, real / in memory" "$Q2" "x" "-" "info"
S1=$(value selection_full_grid)
add "selection, full grid from one shard" "$S1" "min" "< 2" "$(status "$S1" "<" 2)"
add "workflow: lambda-profile train job" "$TRAIN_S" "s" "runs on $DEVICE" "$([ "$WF_OK" = 1 ] && echo PASS || echo FAIL)"

echo
echo "GPU check summary: device $DEVICE$([ "$TINY" = 1 ] && echo ", tiny sizes"), $(( SECONDS - T_START )) s in all"
row "check" "figure" "unit" "goal" "status"
printf '%s\n' "${ROWS[@]}"
[ "$KEEP" = 1 ] && echo "logs and the workflow copy kept in $WORK"
if [ ${#FAILED[@]} -gt 0 ]; then
  echo "failed steps: ${FAILED[*]}"
  exit 1
fi
exit 0
