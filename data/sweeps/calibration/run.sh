#!/usr/bin/env bash
# Learning-rate calibration of the long CPU fidelity (resumable): 4 reference cards at lr 1e-3, then the two
# whose plateau is in question (BERT-Mini, FNet-Mini) at lr 2e-3.
set -euo pipefail
cd "$(dirname "$0")/../../.."
for lr in 1e-3 2e-3; do
  limit=$([ "$lr" = 2e-3 ] && echo 2 || echo 4)
  flexibench sweep --cards data/sweeps/calibration/cards.txt --limit "$limit" \
    --recipe data/sweeps/calibration/cal-lr$lr.yaml \
    --seeds 0 --workers 2 --threads 1 --data "${FLEXIBENCH_DATA:-../shared/data}" \
    --out "${SHARDS:-data/shards}/calibration/cal-lr$lr" --no-progress
done
