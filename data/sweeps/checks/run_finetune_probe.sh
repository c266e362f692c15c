#!/usr/bin/env bash
# GLUE fine-tuning at the long fidelity before the anchor set spends it: small.yaml (GLUE plan and fine-tuning
# settings) on BERT-Mini and ConvBERT-Mini, seed 0, at small.yaml's steps (8,000 when this was run), fine-tuned
# from the pilot's kept 8,000-step runs without training a step. The kept states are copied into a state folder
# of its own so that the pilot's are never touched; the records go to checks/, never packed into the table.
# Other fine-tuning arms on the same runs: RECIPE=data/sweeps/checks/small-ft-lr3e-4.yaml OUT=finetune-8k-lr3e-4
# (a recipe whose pretraining equals small.yaml's; CARDS= a card list file).
set -euo pipefail
cd "$(dirname "$0")/../../.."
states="${FLEXIBENCH_CACHE:-$HOME/.cache/flexibench}/training-state"
probe="${PROBE_STATES:-${TMPDIR:-/tmp}/finetune-probe-states}"
recipe="${RECIPE:-data/sweeps/v2_small/small.yaml}"
cards="${CARDS:-data/sweeps/checks/finetune_probe_cards.txt}"
mkdir -p "$probe/kept"
for card in $(grep -v '^#' "$cards"); do
  kept=$(python -c "from flexibench.core import ModelCard; from flexibench.core.recipes import load_recipe
from flexibench.train.evaluate import training_state
print(training_state('$states', ModelCard.named('$card'), load_recipe('$recipe'), 0, None).kept)")
  cp -rn "$kept" "$probe/kept/"
done
FLEXIBENCH_LOG=info flexibench sweep --cards "$cards" \
  --recipe "$recipe" --seeds 0 --workers 1 --threads 1 \
  --data "${FLEXIBENCH_DATA:-../shared/data}" --out "${SHARDS:-data/shards}/checks/${OUT:-finetune-8k}" --no-progress \
  --state-dir "$probe"
