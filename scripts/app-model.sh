#!/usr/bin/env bash
# Trains the small ensemble PRM the web app loads: an active-learning run on the synthetic task
# (about 1 minute on 2 cores), with its checkpoint copied to app/assets/model/ (config.json,
# model.safetensors, tokenizer.json), which trunk serves beside the page as model/. The weights
# are a build product, never committed.
#
# The model is trained under δ_pred 0.99 and stopped by a label budget; the page opens with the
# thresholds it was trained under. Under the paper's δ_pred 0.95 the pass stops selecting once
# its means pass 0.95 and ends at a held-out F1 of 0.877, blind to one error in five; under 0.99
# it keeps buying labels and learns them. The budget, 6,400 labels of the 6,465 the whole pass
# buys (F1 0.959 there, 1.000 at the end), stops it while its means on correct steps still
# straddle 0.99, so that the page's first pool mixes selected and trusted problems. How many
# labels the pass buys moves with the last bits of its products, so the budget is measured anew
# when they change; docs/app.md gives the measurements.
#
# usage: scripts/app-model.sh [SEED [MAX_LABELS]]   (defaults: 0 and 6400)
# ACTPRM_BIN: the actprm binary (default: the release build)
set -euo pipefail
cd "$(dirname "$0")/.."

seed="${1:-0}"
max_labels="${2:-6400}"
model_dir="app/assets/model"
run_dir="$(mktemp -d)"
trap 'rm -rf "$run_dir"' EXIT

source scripts/lib/actprm-binary.sh
"$(actprm_binary)" --device cpu run --seed "$seed" \
    --delta-pred 0.99 --max-labels "$max_labels" --out "$run_dir/run"
mkdir -p "$model_dir"
cp "$run_dir/run/checkpoint/config.json" "$run_dir/run/checkpoint/model.safetensors" \
    "$run_dir/run/checkpoint/tokenizer.json" "$model_dir/"
echo "the app's model is in $model_dir ($(du -sh "$model_dir" | cut -f1))"
