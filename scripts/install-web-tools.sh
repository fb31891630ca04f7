#!/usr/bin/env bash
# Installs what building the web app needs, where missing: the wasm32-unknown-unknown target,
# trunk 0.21.14 and wasm-bindgen-cli 0.2.130 (the version of the wasm-bindgen crate, which also
# brings wasm-bindgen-test-runner for the browser tests). Both tools compile from source with
# `cargo install` into ~/.cargo/bin; trunk only drives cargo and copies files, so its debug
# build, much quicker to compile, is the one installed.
set -euo pipefail

rustup target list --installed | grep -qx wasm32-unknown-unknown ||
    rustup target add wasm32-unknown-unknown
trunk --version 2>/dev/null | grep -q "0.21.14" ||
    cargo install trunk --version 0.21.14 --locked --debug
wasm-bindgen --version 2>/dev/null | grep -q "0.2.130" ||
    cargo install wasm-bindgen-cli --version 0.2.130
