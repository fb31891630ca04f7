#!/usr/bin/env bash
# The web app in one command: installs the web tool chain where missing
# (scripts/install-web-tools.sh), then builds the page and serves it at http://127.0.0.1:8080
# with `trunk serve --release`, rebuilding when the sources change. Trunk's pre-build hook
# (scripts/app-assets.sh) trains the page's model where app/assets/model/ is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-web-tools.sh
exec trunk serve --release
