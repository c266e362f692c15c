#!/usr/bin/env bash
# One device session of about 8 minutes (#21 part 6), run on the GPU machine with the data packed by
# pack_data.sh carried along:  bash benchmarks/gpu/run.sh   (carry: .devdata; results under $OUT)
#   1. the CUDA tests (pytest -m gpu);
#   2. micro's pretraining throughput and peak memory, bf16 against fp32 and Hugging Face's twins, on
#      4 named cards (benchmarks/bench_gpu.py);
#   3. as many `micro` evaluations as fit in the time left, journaled to $OUT/micro (crash-safe shards:
#      whatever finished comes back even when the time runs out).
# Every step has its own time limit, so a slow one cannot eat the others'. Commit $OUT/micro as data shards.
# To check the script on a CPU: OUT=/tmp/o RECIPE=nano BUDGET_S=240 BENCH_ARGS="--device cpu --steps 1 --warmup 1
#   --batch 2 --seq-len 16 --cards bert-tiny" FLEXIBENCH_DATA=../shared/data bash benchmarks/gpu/run.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${OUT:?set OUT to the folder whose files come back}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 FLEXIBENCH_CACHE="${TMPDIR:-/tmp}/flexibench-cache"
python=${PYTHON:-python3}
started=$(date +%s)
left() { echo $(( ${BUDGET_S:-480} - ($(date +%s) - started) )); }
data="${FLEXIBENCH_DATA:-.devdata/data}"
if [ ! -d "$data/corpus" ]; then
  mkdir -p "$data" && xz -dc .devdata/data.tar.xz | tar -C "$data" -xf - || { echo "no data: run pack_data.sh and carry .devdata" >&2; exit 2; }
fi
{ nvidia-smi; $python -c "import torch; print(torch.__version__, torch.cuda.get_device_name())"; } > "$OUT/machine.txt" 2>&1
timeout 90 $python -m pytest -m gpu -n 0 -q -p no:cacheprovider tests 2>&1 | tee "$OUT/pytest_gpu.txt"
# shellcheck disable=SC2086  # BENCH_ARGS is a list of options
timeout 150 $python benchmarks/bench_gpu.py ${BENCH_ARGS:-} --out "$OUT/gpu_throughput.json" 2>&1 | tee "$OUT/gpu_throughput.txt"
budget=$(( $(left) - 15 ))
if [ "$budget" -gt 60 ]; then
  recipe=${RECIPE:-micro}
  FLEXIBENCH_LOG=info timeout "$budget" $python -m flexibench sweep --cards benchmarks/gpu/micro_cards.txt --recipe "$recipe" --seeds 0 \
    --workers 1 --data "$data" --out "$OUT/$recipe" --no-progress > "$OUT/$recipe.log" 2>&1
fi
echo "done after $(( $(date +%s) - started )) s" | tee -a "$OUT/machine.txt"
