#!/usr/bin/env bash
# Learning-rate calibration of the long CPU fidelity (resumable): BERT-Mini and FNet-Mini at lr 2e-3. Their lr 1e-3
# curves are the first 2,500 steps of the pilot's (data/sweeps/v2_small: the same recipe but for its length), so
# the pair of sweeps compares the two rates on the same blocks, masks and seed.
set -euo pipefail
cd "$(dirname "$0")/../../.."
FLEXIBENCH_LOG=info flexibench sweep --cards data/sweeps/calibration/cards.txt --limit 2 \
  --recipe data/sweeps/calibration/cal-lr2e-3.yaml \
  --seeds 0 --workers 2 --threads 1 --data "${FLEXIBENCH_DATA:-../shared/data}" \
  --out "${SHARDS:-data/shards}/calibration/cal-lr2e-3" --no-progress \
  --state-dir "${FLEXIBENCH_CACHE:-$HOME/.cache/flexibench}/training-state"
