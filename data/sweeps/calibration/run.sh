#!/usr/bin/env bash
# Learning-rate calibration of the long CPU fidelity: 4 reference cards x 2 peak rates (resumable).
set -euo pipefail
cd "$(dirname "$0")/../../.."
for lr in 1e-3 2e-3; do
  flexibench sweep --cards data/sweeps/calibration/cards.txt --recipe data/sweeps/calibration/cal-lr$lr.yaml \
    --seeds 0 --workers 2 --threads 1 --data "${FLEXIBENCH_DATA:-../shared/data}" \
    --out data/shards/calibration/cal-lr$lr --no-progress
done
