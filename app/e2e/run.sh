#!/usr/bin/env bash
# Builds the web app and runs its browser tests in headless Debian Chromium: first the
# components' wasm-bindgen tests (through ChromeDriver, sharing the release build trunk made),
# then the end-to-end tests of the whole page, which need the model (trunk's pre-build hook,
# scripts/app-assets.sh, trains it when it is missing) and the native scores the page must
# reproduce. Screenshots land in app/e2e/screenshots/. ACTPRM_BIN names the actprm binary to use
# (default: the release build).
#
# usage: app/e2e/run.sh [--build-only]
#   --build-only  compile what the tests run (the app's release wasm and its wasm-bindgen tests)
#                 and stop: no model, browser or node needed, so CI does it beside other builds
set -euo pipefail
cd "$(dirname "$0")/../.."

# The components' wasm-bindgen tests, with cargo's further arguments.
wasm_tests() {
    cargo test --release --target wasm32-unknown-unknown -p actprm-app --lib "$@"
}

if [ "${1:-}" = --build-only ]; then
    # The cargo command trunk runs for index.html's rust link, so that its build finds this done.
    cargo build --release --target wasm32-unknown-unknown -p actprm-app --bin actprm-app
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
trap 'rm -f "$scores"' EXIT
"$(actprm_binary)" --device cpu score \
    --checkpoint app/assets/model --seed "$seed" --count 48 --out "$scores"
(cd app/e2e && npm ci --no-audit --no-fund --silent)
ACTPRM_E2E_NATIVE_SCORES="$scores" ACTPRM_E2E_SEED="$seed" \
    node --test --test-concurrency=1 app/e2e/app.test.mjs
