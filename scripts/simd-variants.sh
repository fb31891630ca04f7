#!/usr/bin/env bash
# The compute paths' reference tests again on CPUs narrower than this one, emulated by qemu-user:
# Nehalem (SSE4.2, no AVX) and Haswell (AVX2 and FMA). On each, the matrix products (the gemm
# crate) and our host kernels choose their code at run time from the CPU they find, so each CPU
# model runs other code than the host's widest (AVX-512 where it has it):
#
# - core/tests/finetune_gradients.rs: a fine-tuning step's gradients against PyTorch autograd;
# - core/tests/minilm.rs: MiniLM's hidden states and step scores against NumPy, on plain flex
#   (host kernels) and under autodiff (burn's fused attention); needs scripts/fetch-backbone.sh;
# - the host kernels' own tests (GELU, masked softmax, the rotary embedding, the exponential,
#   the matrix products).
#
# The test binaries are the ones `cargo test --workspace` builds (built here when missing). Takes
# about a minute on 2 cores. Needs qemu-x86_64 (Debian: apt-get install qemu-user) on x86-64.
#
# Usage: scripts/simd-variants.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(uname -m)" != x86_64 ]; then
    echo "error: the CPU models emulated are x86-64 ones; this machine is $(uname -m)" >&2
    exit 1
fi
command -v qemu-x86_64 >/dev/null ||
    { echo "error: qemu-x86_64 not found (Debian: apt-get install qemu-user)" >&2; exit 1; }

# name → executable of the workspace's test binaries.
declare -A binary
while read -r name executable; do
    binary[$name]=$executable
done < <(cargo test --workspace --no-run --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message.get("executable"):
        print(message["target"]["name"], message["executable"])
')
for name in actprm_core finetune_gradients minilm; do
    [ -n "${binary[$name]:-}" ] || { echo "error: no test binary $name was built" >&2; exit 1; }
done

# Runs a test binary on CPU model $cpu, printing its measured differences and totals, or all of
# its output when it fails.
on_cpu() {
    local log
    log="$(mktemp)"
    if ! qemu-x86_64 -cpu "$cpu" "$@" --nocapture >"$log" 2>&1; then
        cat "$log" >&2
        echo "error: $(basename "$1") failed on $cpu" >&2
        exit 1
    fi
    grep -E "SIMD variants|gradients match|max \\||test result" "$log"
    rm -f "$log"
}

# The tests read their files relative to the crate, as cargo runs them.
cd core
for cpu in Nehalem Haswell; do
    echo "== $cpu"
    on_cpu "${binary[finetune_gradients]}"
    on_cpu "${binary[minilm]}" --include-ignored minilm_hidden_states_match minilm_step_scores
    on_cpu "${binary[actprm_core]}" model::host model::gelu model::masked_softmax model::rope
done
