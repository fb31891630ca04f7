#!/usr/bin/env bash
# Puts the public data sets actprm trains and evaluates on into one directory (docs/data.md gives
# its layout), from their public homes at pinned commits or from a local mirror. Every file is
# checked against the SHA-256 in the manifest below; a file already in place with the right hash
# is skipped, anything else is (re)fetched, checked in a temporary file and only then moved to
# its final name. For *.jsonl.gz the hash is that of the
# decompressed JSONL, so gzip header timestamps do not matter.
#
# usage: scripts/fetch-data.sh [--from DIR] [SET ...]
#   --from DIR  copy from DIR (a directory with the mirror's layout) instead of downloading
#   SET         processbench | prm800k | gsm8k | prmbench | prmbench-sample   (default: all of them)
# environment: ACTPRM_DATA  destination directory (default ~/.cache/actprm/data)
#
# sets (source: public GitHub repository at a pinned commit; licence):
#   processbench     ljxzs-jjlzs/ProcessBench code/dataset/*.json (vendors HF Qwen/ProcessBench); Apache-2.0
#   prm800k          xhghhh/Enhancing-PRM800K *.stepwise-critic.parquet, converted to JSONL; MIT (OpenAI PRM800K)
#   gsm8k            openai/grade-school-math grade_school_math/data/{train,test}.jsonl; MIT
#   prmbench         ssmisya/PRMBench mr_eval/tasks/prmtest_classified/data (into prmbench/classified/)
#                    and .../prmtest_classified_subset400/data/target_data.jsonl (prmbench/subset400_target_data.jsonl);
#                    Apache-2.0
#   prmbench-sample  the first 2 records of each of PRMBench's 25 classified files; Apache-2.0
set -euo pipefail

data="${ACTPRM_DATA:-$HOME/.cache/actprm/data}"
all_sets=(processbench prm800k gsm8k prmbench prmbench-sample)
raw=https://raw.githubusercontent.com
PB=$raw/ljxzs-jjlzs/ProcessBench/e607025b8d00e46838d5b84170c96529ba19c53d/code/dataset
EP=$raw/xhghhh/Enhancing-PRM800K/5e806449f204352f888b1ccdc7eb3ccda479ad8c
GS=$raw/openai/grade-school-math/3101c7d5072418e28b9008a6636bde82a006892c/grade_school_math/data
MR=$raw/ssmisya/PRMBench/a1ae4eab803e14c4c6316bf89d1679b0486faa8c/mr_eval/tasks
CL=$MR/prmtest_classified/data

# set | file under $ACTPRM_DATA | sha256 | source (URL, or "derive") | sha256 of a .parquet source
manifest="$(cat <<EOF
processbench processbench/gsm8k.json fb1c59dfd1e83e1c5a48dbe598db27e4bc0b8bc524a09445f2d4b69178f61349 $PB/gsm8k.json
processbench processbench/math.json 60cb0d7a69cbec98d43cf50855b9b7e7294599c3c9a24bdd031abd18c3b6b136 $PB/math.json
processbench processbench/olympiadbench.json e9d801c9f3c03f949adbfa08e90cb21ad85c0b9224bc5e98326f8215c218aa55 $PB/olympiadbench.json
processbench processbench/omnimath.json e8d7cf4512c82168dae2fe48b1718069a3002e7910af1d180a27ee0d9948ba47 $PB/omnimath.json
prm800k prm800k_stepwise/phase1_test.stepwise-critic.jsonl.gz c5ab76f194dd735252a675e62f8ac876ec89ae5aa5860173c654739960605c2f $EP/phase1_test.stepwise-critic.parquet 293f05ebfba3322b537dbfdfbbcf49a50d2bc3bae5243a3045d3aa056b06d2c1
prm800k prm800k_stepwise/phase1_train_plus.stepwise-critic.jsonl.gz 0a304e1ce2b7d4121a7569ea88f07431adb3f4a7b31765dfcda43c87fb86a4e9 $EP/phase1_train_plus.stepwise-critic.parquet dc9bcd2e6b3589055bdb2a7c90b8e09e2adb93612dc323e6b97852dc576c0444
gsm8k gsm8k/train.jsonl 17f347dc51477c50d4efb83959dbb7c56297aba886e5544ee2aaed3024813465 $GS/train.jsonl
gsm8k gsm8k/test.jsonl 3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14 $GS/test.jsonl
prmbench prmbench/classified/prm800k_test_p1_4o_circular.jsonl 7205855b6b7e9a161b9b7c1e163274bea5b9ecd4ba0a435100e8e545fea42a4a $CL/prm800k_test_p1_4o_circular.jsonl
prmbench prmbench/classified/prm800k_test_p1_4o_confidence.jsonl 17ec2af85dfb6cc230c9d4c6f3b6b9b7668d5bcb7db0e8ae9e2b6b74e6b5a509 $CL/prm800k_test_p1_4o_confidence.jsonl
prmbench prmbench/classified/prm800k_test_p1_4o_counterfactual.jsonl 18774eff6acc1a1ff8d8be5168d451511a1bb42d1b6a000f50db008cfb0a0d54 $CL/prm800k_test_p1_4o_counterfactual.jsonl
prmbench prmbench/classified/prm800k_test_p1_4o_deception.jsonl 5a68973f459b49be56e6e2d375bf69668dcf8476c79096c1541e293bb02df44f $CL/prm800k_test_p1_4o_deception.jsonl
prmbench prmbench/classified/prm800k_test_p1_4o_domain_inconsistency.jsonl 551818a44f7ccebda16743711f6f60198cd6617296c559243b3866fd7f562f0d $CL/prm800k_test_p1_4o_domain_inconsistency.jsonl
prmbench prmbench/classified/prm800k_test_p1_4o_missing_condition.jsonl 216f8ea75d585becbb915070faa39b46ac07f618e7ece33bb3931ff0247b371c $CL/prm800k_test_p1_4o_missing_condition.jsonl
prmbench prmbench/classified/prm800k_test_p1_4o_redundency.jsonl 0c23552bf0abb801acc11ee18954c4595101f334761362afa809af76238eb2c9 $CL/prm800k_test_p1_4o_redundency.jsonl
prmbench prmbench/classified/prm800k_test_p1_4o_step_contradiction.jsonl 7d291f5596715f8b21db2aae2ebcc5b7347b099f0cc66a7a2788ee56601c4aa8 $CL/prm800k_test_p1_4o_step_contradiction.jsonl
prmbench prmbench/classified/prm800k_test_p2_4o_circular.jsonl 531060d9a79fb9561b046361258c993bfe06a6e8df18e0f8f30bb28df0a200c4 $CL/prm800k_test_p2_4o_circular.jsonl
prmbench prmbench/classified/prm800k_test_p2_4o_confidence.jsonl 53ba01695ab145a8393f20cac6f96b9b836e39f169fc4ff18d7ed48cac9c1a0d $CL/prm800k_test_p2_4o_confidence.jsonl
prmbench prmbench/classified/prm800k_test_p2_4o_counterfactual.jsonl 8910343b84696dc2b36cc7b1833e934897e55c66bbe4b93d5040736443a2f03d $CL/prm800k_test_p2_4o_counterfactual.jsonl
prmbench prmbench/classified/prm800k_test_p2_4o_deception.jsonl b98ba8ef38abbcb04ce8766e1bcb80e6aafb19661da675e3c2334e44ace3acdd $CL/prm800k_test_p2_4o_deception.jsonl
prmbench prmbench/classified/prm800k_test_p2_4o_domain_inconsistency.jsonl 66bc63f3080fcbe8b372f0fe460b4f26f9ffd1cedef9a85e4cd354c9547ca479 $CL/prm800k_test_p2_4o_domain_inconsistency.jsonl
prmbench prmbench/classified/prm800k_test_p2_4o_missing_condition.jsonl 93b52efc514eeaed3156c1fccf3c9e4e7b633f0eb131c1a50a3b9a1d45b6c18c $CL/prm800k_test_p2_4o_missing_condition.jsonl
prmbench prmbench/classified/prm800k_test_p2_4o_redundency.jsonl e729812baf0c3456dc7eafb856a8380f9c21579ea225f307d0edd947cd5e2746 $CL/prm800k_test_p2_4o_redundency.jsonl
prmbench prmbench/classified/prm800k_test_p2_4o_step_contradiction.jsonl 7c77a62dfb9165db3d5033732eaef161b6d8dee09d548db6cb08d1a5ed4e74ac $CL/prm800k_test_p2_4o_step_contradiction.jsonl
prmbench prmbench/classified/prm800k_train_p1_first400_4o_circular.jsonl a4eae35fba1f169dc3a05f5e90ef7087c4be21c8dfbf9268ffbc750588221b89 $CL/prm800k_train_p1_first400_4o_circular.jsonl
prmbench prmbench/classified/prm800k_train_p1_first400_4o_confidence.jsonl 3ed32dd0b67c59df3c854bacb72cc6d298aebc53e817eb61e504ff5de890711b $CL/prm800k_train_p1_first400_4o_confidence.jsonl
prmbench prmbench/classified/prm800k_train_p1_first400_4o_counterfactual.jsonl da97d496e32476912b4fcbc3254488f430f294ef6346698d5ce39af67ae24b00 $CL/prm800k_train_p1_first400_4o_counterfactual.jsonl
prmbench prmbench/classified/prm800k_train_p1_first400_4o_deception.jsonl 1125095799e9792d72156417f06acec7017447fdbe24d03129af5ca6e355a9cd $CL/prm800k_train_p1_first400_4o_deception.jsonl
prmbench prmbench/classified/prm800k_train_p1_first400_4o_domain_inconsistency.jsonl 2d68581c14f0d9dd9fa106f2060afb462561c2dd67246c0dea8ed393c90fe375 $CL/prm800k_train_p1_first400_4o_domain_inconsistency.jsonl
prmbench prmbench/classified/prm800k_train_p1_first400_4o_missing_condition.jsonl 0d5f020b02bf4c631f0feb37063d0e7f2d6049c27d75dbc859ba81120e8a7070 $CL/prm800k_train_p1_first400_4o_missing_condition.jsonl
prmbench prmbench/classified/prm800k_train_p1_first400_4o_redundency.jsonl 03723fc0a28d896351969632c6e98e3d09c73cef41c4a5899ffdcc1ade28be47 $CL/prm800k_train_p1_first400_4o_redundency.jsonl
prmbench prmbench/classified/prm800k_train_p1_first400_4o_step_contradiction.jsonl 35accaa8eb3dc3e95eacfc51135b18949a1c68729e33803eb5edb3079dd8acdb $CL/prm800k_train_p1_first400_4o_step_contradiction.jsonl
prmbench prmbench/classified/prm_test_p12_multi_solutions.jsonl 4cda3e5946f02d0c3e79bd9e2513af8cde2efe83868c63e469ca10388a98a99d $CL/prm_test_p12_multi_solutions.jsonl
prmbench prmbench/subset400_target_data.jsonl ea9714d4bff7ad7f02b68a349974ddd2924536aa4acdb0989af135a3e5781981 $MR/prmtest_classified_subset400/data/target_data.jsonl
prmbench-sample prmbench_sample/sample.jsonl 12a90efd878b94c375268510d91de00ccfc13a3ee39d4fb46ab9b3e5c3dd3fc1 derive
EOF
)"

usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; }
die() { echo "error: $*" >&2; exit 1; }
usage_error() { echo "error: $*" >&2; echo "run '$0 --help' for usage" >&2; exit 2; }
declare -A tally_of
tally() { tally_of["$1|$2"]=$(( ${tally_of["$1|$2"]:-0} + 1 )); }

# sha256 of a file's content, of its decompressed content for *.gz (a corrupt .gz just mismatches)
sha_of() {
    if [[ $1 == *.gz ]]; then { gzip -dc -- "$1" 2>/dev/null || true; } | sha256sum; else sha256sum <"$1"; fi | cut -d' ' -f1
}

# check FILE SHA256 NAME: fails naming NAME, the expected and the actual hash
check() {
    local actual; actual="$(sha_of "$1")"
    [ "$actual" = "$2" ] || die "$3: sha256 mismatch: expected $2, actual $actual"
}

# download URL OUT
download() {
    echo "  downloading $1"
    if command -v curl >/dev/null; then
        curl -fL --retry 3 --silent --show-error -o "$2" "$1" || die "could not download $1"
    else
        python3 -c 'import shutil, sys, urllib.request
with urllib.request.urlopen(sys.argv[1]) as r, open(sys.argv[2], "wb") as f: shutil.copyfileobj(r, f)' "$1" "$2" ||
            die "could not download $1"
    fi
}

# copy REL from the --from directory to OUT, or fail naming the file and its set
copy_from() {
    [ -f "$from/$2" ] || die "set $1: $from/$2 is missing (does $from hold the '$1' set?)"
    cp -- "$from/$2" "$3"
}

# parquet_to_jsonl PARQUET OUT: one JSON object per row, serialised as the mirror's *.jsonl.gz are
parquet_to_jsonl() {
    local py=python3
    if ! python3 -c 'import pyarrow' 2>/dev/null; then
        py="$scratch/venv/bin/python"
        if [ ! -x "$py" ]; then
            echo "  installing pyarrow into a throwaway venv"
            python3 -m venv "$scratch/venv"; "$py" -m pip install --quiet pyarrow
        fi
    fi
    "$py" - "$1" "$2" <<'PY'
import json, math, sys
import pyarrow.parquet as pq
with open(sys.argv[2], "w", encoding="utf-8", newline="\n") as out:
    for batch in pq.ParquetFile(sys.argv[1]).iter_batches():
        for row in batch.to_pylist():
            r = row.get("rating")  # float64 in phase1_train_plus: written as int (NaN as null)
            if isinstance(r, float):
                row["rating"] = None if math.isnan(r) else int(r)
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
PY
}

# derive_sample OUT: the first 2 records of each classified PRMBench file, files in C-locale name order
derive_sample() {
    local set rel sha src file
    mkdir -p "$scratch/classified"
    : >"$1"
    while read -r set rel sha src <&4; do
        file="$data/$rel"
        if [ ! -f "$file" ] || [ "$(sha_of "$file")" != "$sha" ]; then
            file="$scratch/classified/${rel##*/}"
            download "$src" "$file"; check "$file" "$sha" "$rel"
        fi
        head -n 2 -- "$file" >>"$1"
    done 4< <(grep '^prmbench prmbench/classified/' <<<"$manifest" | LC_ALL=C sort -k2,2)
}

# fetch_one SET REL SHA256 SOURCE [PARQUET_SHA256]: puts $data/REL in place, checked
fetch_one() {
    local set=$1 rel=$2 sha=$3 src=$4 src_sha=${5:-} dest="$data/$2" tmp="$scratch/${2//\//_}" action
    if [ -f "$dest" ]; then
        if [ "$(sha_of "$dest")" = "$sha" ]; then echo "$rel: already there"; tally "$set" "already there"; return; fi
        echo "$rel: wrong sha256, replacing it"
    fi
    if [ -n "$from" ]; then
        copy_from "$set" "$rel" "$tmp"; action=copied
    elif [ "$src" = derive ]; then
        derive_sample "$tmp"; action=derived
    elif [[ $src == *.parquet ]]; then
        download "$src" "$tmp.parquet"; check "$tmp.parquet" "$src_sha" "${src##*/}"
        parquet_to_jsonl "$tmp.parquet" "$tmp.jsonl"; check "$tmp.jsonl" "$sha" "$rel (decompressed)"
        gzip -n -c -- "$tmp.jsonl" >"$tmp"; action="downloaded and converted"
    else
        download "$src" "$tmp"; action=downloaded
    fi
    check "$tmp" "$sha" "$rel${from:+ (from $from)}"
    mkdir -p "$(dirname "$dest")"; mv -f -- "$tmp" "$dest"
    echo "$rel: $action"; tally "$set" "$action"
}

from="" sets=()
while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        --from) [ $# -ge 2 ] || usage_error "--from needs a directory"; from=$2; shift ;;
        --from=*) from=${1#--from=} ;;
        -*) usage_error "unknown option: $1" ;;
        *) [[ " ${all_sets[*]} " == *" $1 "* ]] || usage_error "unknown set: $1 (known: ${all_sets[*]})"
           [[ " ${sets[*]-} " == *" $1 "* ]] || sets+=("$1") ;;
    esac
    shift
done
[ ${#sets[@]} -gt 0 ] || sets=("${all_sets[@]}")
[ -z "$from" ] || [ -d "$from" ] || usage_error "--from: no such directory: $from"

mkdir -p "$data"
scratch="$(mktemp -d "$data/.fetch-data.XXXXXX")"  # same file system: the final mv is atomic
trap 'rm -rf "$scratch"' EXIT
for set in "${sets[@]}"; do
    echo "== $set"
    while read -r s rel sha src src_sha <&3; do
        [ "$s" = "$set" ] || continue
        fetch_one "$s" "$rel" "$sha" "$src" "$src_sha"
    done 3<<<"$manifest"
done
rm -rf "$scratch"

echo "== done: $data"
for set in "${sets[@]}"; do
    line=""
    for action in downloaded "downloaded and converted" derived copied "already there"; do
        n=${tally_of["$set|$action"]:-0}
        [ "$n" -eq 0 ] || line+="$n $action, "
    done
    printf '  %-16s %s\n' "$set:" "${line%, }"
done
echo "  total on disk: $(du -sh "$data" | cut -f1)"
