#!/usr/bin/env bash
# The pilot of the long fidelity: the 12 initial models (the first 12 anchor cards), seed 0, in two stages of one
# constant-rate trajectory. Stage 1, small-pilot (6,000 steps), lists the cards so that the BERT-Mini, FNet-Mini and
# ConvBERT-Mini calibration curves come first; stage 2, small-pilot-8k, extends the budget to 8,000 steps (longest
# cards first): runs of stage 1 that kept their final state continue from it, the others (finished before states
# were kept) run afresh; stage 3, small-pilot-16k, extends every card to 16,000 steps from its kept 8,000-step run
# (the order was still moving at 8,000), so the criterion can be read at every budget up to 16,000. Resumable: rerun the same command: finished keys are skipped, and evaluations stopped
# mid-run continue from their last held-out checkpoint when their training state (outside the work tree) is still
# there. Workers log every held-out checkpoint to stderr. Every 1,000 steps the model is kept under the state
# folder's snapshots/, so the chosen budget's fine-tuning can start from it (the constant rate makes it that
# recipe's pretrained model), and each finished run's state under kept/, so a longer budget continues it.
set -euo pipefail
cd "$(dirname "$0")/../../.."
here=data/sweeps/v2_small
for stage in "small-pilot pilot_cards.txt" "small-pilot-8k pilot_cards_8k.txt" "small-pilot-16k pilot_cards_16k.txt"; do
  read -r recipe cards <<< "$stage"
  FLEXIBENCH_LOG=info flexibench sweep --cards "$here/$cards" \
    --recipe "$here/$recipe.yaml" --seeds 0 --workers "${WORKERS:-2}" --threads 1 \
    --data "${FLEXIBENCH_DATA:-../shared/data}" --out "${SHARDS:-data/shards}/$recipe" --no-progress \
    --state-dir "${FLEXIBENCH_CACHE:-$HOME/.cache/flexibench}/training-state" --snapshot-every 1000
done
