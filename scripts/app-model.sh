#!/usr/bin/env bash
# Trains the small ensemble PRM the web app loads: the default active-learning run on the
# synthetic task (1m 32s on 2 cores at 12c24e1), with its checkpoint copied to
# app/assets/model/ (config.json, model.safetensors, tokenizer.json), which trunk serves beside
# the page as model/. The weights are a build product, never committed.
#
# The label budget was chosen at 35b5fdf, with the training defaults of then, to end the pass
# just before the model grows confident about everything, so that the page's first pool mixes
# selected and trusted problems; docs/app.md says what it gives with today's defaults.
#
# usage: scripts/app-model.sh [SEED [MAX_LABELS]]   (defaults: 0 and 5790)
# ACTPRM_BIN: the actprm binary (default: the release build)
set -euo pipefail
cd "$(dirname "$0")/.."

seed="${1:-0}"
max_labels="${2:-5790}"
model_dir="app/assets/model"
run_dir="$(mktemp -d)"
trap 'rm -rf "$run_dir"' EXIT

source scripts/lib/actprm-binary.sh
"$(actprm_binary)" --device cpu run --seed "$seed" \
    --max-labels "$max_labels" --out "$run_dir/run"
mkdir -p "$model_dir"
cp "$run_dir/run/checkpoint/config.json" "$run_dir/run/checkpoint/model.safetensors" \
    "$run_dir/run/checkpoint/tokenizer.json" "$model_dir/"
echo "the app's model is in $model_dir ($(du -sh "$model_dir" | cut -f1))"
