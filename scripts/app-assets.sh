#!/usr/bin/env bash
# Trunk's pre-build hook (Trunk.toml): makes what the page needs and a fresh clone lacks, so
# that `trunk serve` (or `trunk build`) alone works. Once the page's model exists it does
# nothing, so that rebuilds stay fast. Before that: the wasm32 target where rustup lacks it,
# every crate of every target (trunk builds offline), and the model (scripts/app-model.sh,
# which builds the release `actprm` binary first: several minutes the first time).
set -euo pipefail
cd "$(dirname "$0")/.."

[ -f app/assets/model/model.safetensors ] && exit 0

if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    rustup target add wasm32-unknown-unknown
fi
cargo fetch --locked
scripts/app-model.sh
