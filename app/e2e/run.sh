#!/usr/bin/env bash
# Builds the web app and runs its end-to-end tests in headless Debian Chromium: the site with
# trunk (release), the model with scripts/app-model.sh when it is missing, and the native scores
# the page must reproduce. Screenshots land in app/e2e/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/../.."

seed=3
[ -f app/assets/model/model.safetensors ] || scripts/app-model.sh
trunk build --release
scores="$(mktemp)"
trap 'rm -f "$scores"' EXIT
cargo run --release --quiet -p actprm-native -- --device cpu score \
    --checkpoint app/assets/model --seed "$seed" --count 48 --out "$scores"
(cd app/e2e && npm ci --no-audit --no-fund --silent)
ACTPRM_E2E_NATIVE_SCORES="$scores" ACTPRM_E2E_SEED="$seed" \
    node --test --test-concurrency=1 app/e2e/app.test.mjs
