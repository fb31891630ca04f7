#!/usr/bin/env bash
# Builds the web app and runs its browser tests in headless Debian Chromium: first the
# components' wasm-bindgen tests (through ChromeDriver, sharing the build trunk made),
# then the end-to-end tests of the whole page, which need the model (trunk's pre-build hook,
# scripts/app-assets.sh, trains it when it is missing) and the native scores the page must
# reproduce. Screenshots land in app/e2e/screenshots/. ACTPRM_BIN names the actprm binary to use
# (default: the release build).
#
# usage: app/e2e/run.sh [--build-only]
#   --build-only  compile what the tests run (the app's wasm and its wasm-bindgen tests)
#                 and stop: no model, browser or node needed, so CI does it beside other builds
set -euo pipefail
cd "$(dirname "$0")/../.."

# The components' wasm-bindgen tests, with cargo's further arguments. They test the page's
# views, so they build as the page does: without the compute worker.
wasm_tests() {
    cargo test --profile web --target wasm32-unknown-unknown -p actprm-app --no-default-features \
        --lib "$@"
}

if [ "${1:-}" = --build-only ]; then
    # The cargo commands trunk runs for index.html's rust links, so that its build finds them done.
    cargo build --profile web --target wasm32-unknown-unknown -p actprm-app --no-default-features \
        --bin actprm-app
    cargo build --profile web --target wasm32-unknown-unknown -p actprm-app --bin actprm-worker
    wasm_tests --no-run
    exit
fi

source scripts/lib/actprm-binary.sh
seed=3
# Trunk's pre-build hook trains the model when it is missing.
trunk build --release
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}" wasm_tests
scores="$(mktemp)"
real_scores="$(mktemp)"
trap 'rm -f "$scores" "$real_scores"' EXIT
"$(actprm_binary)" --device cpu score \
    --checkpoint app/assets/model --seed "$seed" --count 48 --out "$scores"
# The real-text model on the first ProcessBench gsm8k items, read with the encoder the page is
# served, under the page's opening δ_pred and δ_std (the synthetic model's) and the τ the
# real-text model chose on validation, as the page reads it.
read -r -a thresholds < <(python3 -c '
import json
rule = json.load(open("app/assets/model/config.json"))["selection"]
tau = json.load(open("app/assets/realtext/config.json"))["threshold"]["tau"]
print("--delta-pred", rule["delta_pred"], "--delta-std", rule["delta_std"], "--tau", tau)')
ACTPRM_BACKBONE=app/assets/minilm "$(actprm_binary)" --device cpu score \
    --checkpoint app/assets/realtext --data app/assets/processbench/gsm8k.json --limit 10 \
    "${thresholds[@]}" --out "$real_scores"
(cd app/e2e && npm ci --no-audit --no-fund --silent)
ACTPRM_E2E_NATIVE_SCORES="$scores" ACTPRM_E2E_REAL_SCORES="$real_scores" ACTPRM_E2E_SEED="$seed" \
    node --test --test-concurrency=1 app/e2e/app.test.mjs
