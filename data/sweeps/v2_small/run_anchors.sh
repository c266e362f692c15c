#!/usr/bin/env bash
# The long fidelity's anchor set (data/sweeps/v2_anchor_cards.txt, 48 cards; rule in docs/harness.md), recipe
# `small`, after the pilot (run_pilot.sh). Refuses to start unless the pilot's stage of that length (or the next
# longer one) shows the recipe's budget settled (pilot_report.py --require). In order:
#   1. the 12 pilot cards, seed 0: their pretraining is the pilot's kept state, so only fine-tuning runs;
#   2. the same 12 cards, seed 1 (the second seed the per-task signal needs: pretraining and fine-tuning);
#   3. the other 36 anchors, seed 0.
# Resumable like run_pilot.sh: rerun the same command; finished keys are skipped, evaluations stopped mid-run
# continue from their training state. Snapshots every 1,000 steps and kept final states, as in the pilot, so a
# longer budget later costs only the missing steps.
set -euo pipefail
cd "$(dirname "$0")/../../.."
here=data/sweeps/v2_small
budget=$(python -c "from flexibench.core.recipes import load_recipe; print(load_recipe('$here/small.yaml').pretrain.steps)")
states="${FLEXIBENCH_CACHE:-$HOME/.cache/flexibench}/training-state"
# the pilot stage whose curves judge the budget: the shortest one at least as long (any budget up to its length)
pilot_stage="${PILOT_STAGE:-$(python -c "from pathlib import Path; from flexibench.core.recipes import load_recipe
stages = sorted((load_recipe(p).pretrain.steps, p.stem) for p in Path('$here').glob('small-pilot*.yaml'))
print(next((name for steps, name in stages if steps >= $budget), ''))")}"
python "$here/pilot_report.py" --recipe "$here/$pilot_stage.yaml" --shards "${SHARDS:-data/shards}/$pilot_stage" \
  --require "$budget" --out "${TMPDIR:-/tmp}/pilot_report_check.md" > /dev/null \
  || { echo "the pilot does not (yet) show a budget of $budget steps settled: see ${TMPDIR:-/tmp}/pilot_report_check.md" >&2; exit 1; }
for stage in "pilot_cards.txt 0" "pilot_cards.txt 1" "../v2_anchor_cards.txt 0"; do
  read -r cards seed <<< "$stage"
  FLEXIBENCH_LOG=info flexibench sweep --cards "$here/$cards" --recipe "$here/small.yaml" --seeds "$seed" \
    --workers "${WORKERS:-2}" --threads 1 --data "${FLEXIBENCH_DATA:-../shared/data}" \
    --out "${SHARDS:-data/shards}/small" --no-progress --state-dir "$states" --snapshot-every 1000
done
