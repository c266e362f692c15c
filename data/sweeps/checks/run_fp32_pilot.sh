#!/usr/bin/env bash
# fp32 vs bf16 at the pilot's recipe (small-pilot-8k-fp32.yaml): BERT-Tiny and ConvBERT-Tiny, seed 0, one thread
# each; compare with `python benchmarks/check_precision_long.py`. Resumes from its shards and --state-dir.
set -euo pipefail
cd "$(dirname "$0")/../../.."
flexibench sweep --cards data/sweeps/checks/fp32_pilot_cards.txt --recipe data/sweeps/checks/small-pilot-8k-fp32.yaml \
  --seeds 0 --workers "${WORKERS:-2}" --threads 1 --data "${FLEXIBENCH_DATA:-../shared/data}" \
  --state-dir "${STATES:-$HOME/.cache/flexibench/training-state}" \
  --out "${SHARDS:-data/shards}/checks/small-pilot-8k-fp32" --no-progress
