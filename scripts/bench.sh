#!/usr/bin/env bash
# Runs `actprm bench` and scripts/bench_torch.py back to back on the machine it runs on, with
# the same thread count, then writes that machine's table of docs/performance.md (both columns and their
# ratio) and appends the raw JSON lines to docs/performance/results.jsonl.
#
# usage: scripts/bench.sh NAME [cpu|gpu]
#   NAME       the table's title, e.g. "2-core AMD EPYC, CPU"
#   cpu|gpu    actprm on flex and PyTorch on the CPU (default), or actprm on wgpu and PyTorch on
#              CUDA
# environment:
#   ACTPRM_BIN     the actprm binary [default: the release binary, built when out of date]
#   BEFORE_ACTPRM  an earlier build of actprm, measured first in the same run for a before/after
#                  table; BEFORE_COMMIT names its commit
#   TORCH_PYTHON   a Python with torch, transformers, safetensors and tokenizers, outside the
#                  repository [default: python3]
#   PROCESSBENCH   the ProcessBench directory for the end-to-end case
#                  [default: $ACTPRM_DATA/processbench, ~/.cache/actprm/data/processbench]
#   THREADS        CPU threads for both [default: nproc]
#   BENCH_ARGS     more arguments for both (e.g. "--repeats 3")
set -euo pipefail
cd "$(dirname "$0")/.."

name="${1:?usage: scripts/bench.sh NAME [cpu|gpu]}"
kind="${2:-cpu}"
case "$kind" in
    cpu) actprm_device=cpu; torch_device=cpu ;;
    gpu) actprm_device=gpu; torch_device=cuda ;;
    *) echo "error: the second argument is cpu or gpu, not $kind" >&2; exit 2 ;;
esac
threads="${THREADS:-$(nproc)}"
processbench="${PROCESSBENCH:-${ACTPRM_DATA:-$HOME/.cache/actprm/data}/processbench}"
torch_python="${TORCH_PYTHON:-python3}"
source scripts/lib/actprm-binary.sh
actprm="$(actprm_binary)"
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

before=()
if [ -n "${BEFORE_ACTPRM:-}" ]; then
    # shellcheck disable=SC2086
    "$BEFORE_ACTPRM" --device "$actprm_device" bench --threads "$threads" --processbench "$processbench" \
        --commit "${BEFORE_COMMIT:-before}" --out "$scratch/before.jsonl" ${BENCH_ARGS:-}
    before=(--before "$scratch/before.jsonl")
fi
# shellcheck disable=SC2086
"$actprm" --device "$actprm_device" bench --threads "$threads" --processbench "$processbench" \
    --commit "$commit" --out "$scratch/actprm.jsonl" ${BENCH_ARGS:-}
# shellcheck disable=SC2086
"$torch_python" scripts/bench_torch.py --device "$torch_device" --threads "$threads" \
    --processbench "$processbench" --commit "$commit" --out "$scratch/pytorch.jsonl" ${BENCH_ARGS:-}

cat "$scratch"/*.jsonl >>docs/performance/results.jsonl
python3 scripts/bench_report.py --actprm "$scratch/actprm.jsonl" --pytorch "$scratch/pytorch.jsonl" "${before[@]}" \
    --name "$name" --command "scripts/bench.sh \"$name\" $kind" --doc docs/performance.md
