#!/usr/bin/env bash
# The pilot of the long fidelity: the 12 initial models (the first 12 anchor cards), seed 0, in stages of one
# constant-rate trajectory. Stage 1, small-pilot (6,000 steps), lists the cards so that the BERT-Mini, FNet-Mini and
# ConvBERT-Mini calibration curves come first; stage 2, small-pilot-8k, extends the budget to 8,000 steps (longest
# cards first): runs of stage 1 that kept their final state continue from it, the others (finished before states
# were kept) run afresh. The order was still moving at 8,000 steps, so the later stages extend every card by 2,000
# steps at a time (small-pilot-10k ... -14k, each continuing the previous stage's kept runs): after each, the
# criteria are read at that budget (pilot_report.py --require) and the pilot stops at the first budget that meets
# them. Past 14k the projection (budget_projection.md) puts the criterion past 40,000 steps, so the stages stop
# there for the anchor set's pretraining (run_anchor_pretraining.sh) until the budget is decided; small-pilot-16k
# and longer stages are added to the list then. Resumable: rerun the same command: finished keys are skipped,
# and evaluations stopped mid-run continue from their last held-out checkpoint when their training state
# (outside the work tree) is still there. Workers log every held-out checkpoint to stderr. Every 1,000 steps
# the model is kept under the state folder's snapshots/, so the chosen budget's fine-tuning can start from it
# (the constant rate makes it that recipe's pretrained model), and each finished run's state under kept/, so a
# longer budget continues it.
set -euo pipefail
cd "$(dirname "$0")/../../.."
here=data/sweeps/v2_small
shards="${SHARDS:-data/shards}"
states="${FLEXIBENCH_CACHE:-$HOME/.cache/flexibench}/training-state"
steps_of() { python -c "from flexibench.core.recipes import load_recipe; print(load_recipe('$1').pretrain.steps)"; }
# recipe, card list, and whether the criteria are checked at the recipe's budget after the stage
for stage in "small-pilot pilot_cards.txt no" "small-pilot-8k pilot_cards_8k.txt no" \
  "small-pilot-10k pilot_cards_long.txt yes" "small-pilot-12k pilot_cards_long.txt yes" \
  "small-pilot-14k pilot_cards_long.txt yes"; do
  read -r recipe cards check <<< "$stage"
  FLEXIBENCH_LOG=info flexibench sweep --cards "$here/$cards" \
    --recipe "$here/$recipe.yaml" --seeds 0 --workers "${WORKERS:-2}" --threads 1 \
    --data "${FLEXIBENCH_DATA:-../shared/data}" --out "$shards/$recipe" --no-progress \
    --state-dir "$states" --snapshot-every 1000
  [ "$check" = yes ] || continue
  budget=$(steps_of "$here/$recipe.yaml")
  if python "$here/pilot_report.py" --recipe "$here/$recipe.yaml" --shards "$shards/$recipe" \
    --require "$budget" --out "${TMPDIR:-/tmp}/pilot_report_$recipe.md" > /dev/null; then
    echo "the pilot meets the criteria at $budget steps (${TMPDIR:-/tmp}/pilot_report_$recipe.md): set small.yaml's budget" >&2
    break
  fi
done
