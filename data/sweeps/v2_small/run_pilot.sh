#!/usr/bin/env bash
# The pilot of the long fidelity: the 12 initial models (the first 12 anchor cards, reordered in pilot_cards.txt so
# that the BERT-Mini, FNet-Mini and ConvBERT-Mini calibration curves come first), seed 0. Resumable: rerun
# the same command: finished keys are skipped, and evaluations stopped mid-run continue from their last
# held-out checkpoint when their training state (outside the work tree) is still there. Workers log every
# held-out checkpoint to stderr. Every 1,000 steps the model is kept under the state folder's snapshots/, so the
# chosen budget's fine-tuning can start from it (the constant rate makes it that recipe's pretrained model).
set -euo pipefail
cd "$(dirname "$0")/../../.."
FLEXIBENCH_LOG=info flexibench sweep --cards data/sweeps/v2_small/pilot_cards.txt \
  --recipe data/sweeps/v2_small/small-pilot.yaml --seeds 0 --workers "${WORKERS:-2}" --threads 1 \
  --data "${FLEXIBENCH_DATA:-../shared/data}" --out "${SHARDS:-data/shards}/small-pilot" --no-progress \
  --state-dir "${FLEXIBENCH_CACHE:-$HOME/.cache/flexibench}/training-state" --snapshot-every 1000
