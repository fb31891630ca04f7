#!/usr/bin/env bash
# Trains the small ensemble PRM the web app loads: the default active-learning run on the
# synthetic task (about a minute and a half on 2 cores), with its checkpoint copied to
# app/assets/model/ (config.json, model.safetensors, tokenizer.json), which trunk serves beside
# the page as model/. The weights are a build product, never committed.
#
# usage: scripts/app-model.sh [SEED]   (SEED defaults to 0)
set -euo pipefail
cd "$(dirname "$0")/.."

seed="${1:-0}"
model_dir="app/assets/model"
run_dir="$(mktemp -d)"
trap 'rm -rf "$run_dir"' EXIT

cargo run --release --quiet -p actprm-native -- --device cpu run --seed "$seed" --out "$run_dir/run"
mkdir -p "$model_dir"
cp "$run_dir/run/checkpoint/config.json" "$run_dir/run/checkpoint/model.safetensors" \
    "$run_dir/run/checkpoint/tokenizer.json" "$model_dir/"
echo "the app's model is in $model_dir ($(du -sh "$model_dir" | cut -f1))"
