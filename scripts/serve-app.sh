#!/usr/bin/env bash
# The web app in one command: installs the web tool chain where missing
# (scripts/install-web-tools.sh), trains the page's model where app/assets/model/ is missing
# (scripts/app-model.sh), then builds the page and serves it at http://127.0.0.1:8080 with
# `trunk serve --release`, rebuilding when the sources change.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-web-tools.sh
# trunk builds offline (Trunk.toml): every crate for every target must be downloaded first.
cargo fetch --locked
[ -f app/assets/model/model.safetensors ] || scripts/app-model.sh
exec trunk serve --release
