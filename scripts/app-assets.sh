#!/usr/bin/env bash
# Trunk's pre-build hook (Trunk.toml): makes what the page serves and a fresh clone lacks, so
# that `trunk serve` (or `trunk build`) alone works. Each part is made only when missing, so
# that rebuilds stay fast:
#   app/assets/model/         the synthetic model (scripts/app-model.sh, which builds the release
#                             `actprm` binary first: several minutes the first time), after the
#                             wasm32 target where rustup lacks it and every crate of every
#                             target (trunk builds offline);
#   app/assets/minilm/        all-MiniLM-L6-v2's files for the real-text model, from
#                             $ACTPRM_BACKBONE (scripts/fetch-backbone.sh's directory, fetched
#                             there when missing), its weights halved to f16 by `actprm
#                             halve-backbone` (half the download), refused unless they have the
#                             SHA-256 the committed heads (app/assets/realtext/) record for the
#                             halved encoder they were trained on;
#   app/assets/processbench/  the first SLICE_ITEMS items of every ProcessBench split, from
#                             $ACTPRM_DATA (scripts/fetch-data.sh, fetched there when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

readonly SLICE_ITEMS=30
assets=app/assets

if [ ! -f "$assets/model/model.safetensors" ]; then
    if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
        rustup target add wasm32-unknown-unknown
    fi
    cargo fetch --locked
    scripts/app-model.sh
fi

# Writes directory $1 whole: the function $2 fills a staging directory, renamed into place.
make_whole() {
    local dir="$1" fill="$2"
    rm -rf "$dir.partial"
    mkdir -p "$dir.partial"
    "$fill" "$dir.partial"
    rm -rf "$dir"
    mv "$dir.partial" "$dir"
}

encoder_source="${ACTPRM_BACKBONE:-$HOME/.cache/actprm/all-minilm-l6-v2}"
encoder_digest="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["pretrained_backbone"]["f16_sha256"])' \
    "$assets/realtext/config.json")"
halve_encoder() {
    local actual
    source scripts/lib/actprm-binary.sh
    actual="$("$(actprm_binary)" halve-backbone --backbone-dir "$encoder_source" --out "$1")"
    if [ "$encoder_digest" != "$actual" ]; then
        echo "error: $encoder_source/model.safetensors halved has SHA-256 $actual; the real-text heads were trained on the encoder whose halved weights have $encoder_digest" >&2
        return 1
    fi
    echo "$actual" >"$1/SHA256"
}
if [ "$(cat "$assets/minilm/SHA256" 2>/dev/null)" != "$encoder_digest" ]; then
    [ -f "$encoder_source/model.safetensors" ] || scripts/fetch-backbone.sh "$encoder_source"
    make_whole "$assets/minilm" halve_encoder
fi

data="${ACTPRM_DATA:-$HOME/.cache/actprm/data}"
cut_slices() {
    python3 - "$data/processbench" "$1" "$SLICE_ITEMS" <<'PY'
import json, sys
source, destination, items = sys.argv[1], sys.argv[2], int(sys.argv[3])
for split in ("gsm8k", "math", "olympiadbench", "omnimath"):
    with open(f"{source}/{split}.json") as file:
        records = json.load(file)
    with open(f"{destination}/{split}.json", "w") as file:
        json.dump(records[:items], file, ensure_ascii=False)
PY
}
if [ ! -f "$assets/processbench/omnimath.json" ]; then
    [ -f "$data/processbench/omnimath.json" ] || ACTPRM_DATA="$data" scripts/fetch-data.sh processbench
    make_whole "$assets/processbench" cut_slices
fi
