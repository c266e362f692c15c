#!/usr/bin/env bash
# bf16 vs fp32 at nano: the 12 initial models and 4 heterogeneous anchors, seed 0, in bf16; their fp32 records are
# in data/shards/nano (same cards, seed, data and masks), so the two differ only in precision.
set -euo pipefail
cd "$(dirname "$0")/../../.."
flexibench sweep --cards data/sweeps/checks/bf16_cards.txt --recipe data/sweeps/checks/nano-bf16.yaml \
  --seeds 0 --workers "${WORKERS:-2}" --threads 1 --data "${FLEXIBENCH_DATA:-../shared/data}" \
  --out "${SHARDS:-data/shards}/checks/nano-bf16" --no-progress
