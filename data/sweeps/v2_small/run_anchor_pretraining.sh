#!/usr/bin/env bash
# The anchor set's pretraining while the budget is still open (small-anchors-12k.yaml says why none of it is wasted):
#   1. the 12 pilot cards again with seed 1 (about 2 sessions): the second seeds the per-task signal needs, and
#      first because their curves give the criterion's noise floor, the Kendall tau between two seeds of the same
#      cards at each checkpoint, which the budget decision needs (a tau_half of 0.9 is only reachable where two
#      seeds agree better than that);
#   2. every anchor card (data/sweeps/v2_anchor_cards.txt, 48), seed 0: the 12 pilot cards continue the pilot's kept
#      12,000-step runs without training a step where those states exist, the other 36 run from scratch.
# Paused since 2026-12-02 (docs/harness.md, "Where it stands"): kept states do not outlive a machine (the pilot's
# were lost with one), so every run starts from scratch, and its longest run does not fit one session; the
# recipe is bf16, which `flexibench sweep` refuses on a CPU without native bf16.
# Run after the pilot's stage 12k (run_pilot.sh). Resumable like the pilot: rerun the same command; finished keys are
# skipped, runs stopped mid-way continue from their training state. Snapshots every 1,000 steps and kept final
# states, so the chosen budget's fine-tuning (run_anchors.sh) and any longer budget cost only what is missing.
set -euo pipefail
cd "$(dirname "$0")/../../.."
here=data/sweeps/v2_small
states="${FLEXIBENCH_CACHE:-$HOME/.cache/flexibench}/training-state"
for stage in "pilot_cards.txt 1" "../v2_anchor_cards.txt 0"; do
  read -r cards seed <<< "$stage"
  FLEXIBENCH_LOG=info flexibench sweep --cards "$here/$cards" --recipe "$here/small-anchors-12k.yaml" \
    --seeds "$seed" --workers "${WORKERS:-2}" --threads 1 --data "${FLEXIBENCH_DATA:-../shared/data}" \
    --out "${SHARDS:-data/shards}/small-anchors-12k" --no-progress --state-dir "$states" --snapshot-every 1000
done
