#!/usr/bin/env bash
# Rebuilds the web app's real-text model, app/assets/realtext/: heads on frozen all-MiniLM-L6-v2
# trained on all 48,672 labelled PRM800K phase-1 rows (full data, prefix reading, seed 0: the
# "full data" row of docs/results.md §14), kept as heads alone (`actprm export-heads`), with
# manifest.json: the commands, the SHA-256 of the data files read, and the model's ProcessBench
# first-error F1 on every split at the τ chosen on validation.
#
# Features come from the feature cache (~/.cache/actprm/features) when an earlier run computed
# them; otherwise reading PRM800K and ProcessBench takes about an hour on 2 cores. The training
# run is kept in RUN_DIR; a finished one there (with its summary.json) is used as it is.
#
# usage: scripts/realtext-heads.sh [RUN_DIR]   (default: runs/realtext-heads)
# ACTPRM_BIN: the actprm binary (default: the release build); ACTPRM_DATA: the data sets
# (scripts/fetch-data.sh prm800k processbench); ACTPRM_BACKBONE: all-MiniLM-L6-v2's directory.
set -euo pipefail
cd "$(dirname "$0")/.."

data="${ACTPRM_DATA:-$HOME/.cache/actprm/data}"
encoder="${ACTPRM_BACKBONE:-$HOME/.cache/actprm/all-minilm-l6-v2}"
out="app/assets/realtext"
run="${1:-runs/realtext-heads}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

source scripts/lib/actprm-binary.sh
actprm="$(actprm_binary)"
train=(train --task prm800k --data-dir "$data" --backbone minilm --backbone-dir "$encoder"
    --freeze-backbone --step-reading prefix --pool-size 48672 --eval-size 300
    --learning-rate 1e-2 --seed 0)
[ -f "$run/summary.json" ] || "$actprm" --device cpu "${train[@]}" --out "$run"
"$actprm" --device cpu export-heads --checkpoint "$run/checkpoint" \
    --backbone-dir "$encoder" --out "$out"
ACTPRM_BACKBONE="$encoder" "$actprm" --device cpu eval processbench \
    --data "$data/processbench" --checkpoint "$out" --out "$work/processbench.json"

python3 - "$out/manifest.json" "$work/processbench.json" "$data" "${train[*]}" <<'PY'
import hashlib, json, subprocess, sys

manifest, evaluation, data, train = sys.argv[1:]

def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

files = ["prm800k_stepwise/phase1_train_plus.stepwise-critic.jsonl.gz",
         "prm800k_stepwise/phase1_test.stepwise-critic.jsonl.gz"]
files += [f"processbench/{split}.json" for split in ("gsm8k", "math", "olympiadbench", "omnimath")]
record = {
    "model": "32 heads on frozen all-MiniLM-L6-v2, full data, prefix reading, seed 0",
    "commands": [
        f"actprm {train}",
        "actprm export-heads --checkpoint RUN/checkpoint --out app/assets/realtext",
        "actprm eval processbench --data DATA/processbench --checkpoint app/assets/realtext",
    ],
    "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True).stdout.strip(),
    "data_sha256": {name: sha256(f"{data}/{name}") for name in files},
    "processbench": json.load(open(evaluation)),
}
with open(manifest, "w") as file:
    json.dump(record, file, indent=2, ensure_ascii=False)
    file.write("\n")
PY
echo "the real-text heads are in $out ($(du -sh "$out" | cut -f1))"
