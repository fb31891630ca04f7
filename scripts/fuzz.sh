#!/usr/bin/env bash
# A fuzzing campaign: runs each property test of the readers (core/tests/fuzz_readers.rs and
# the web app's URL-hash parser) for SECONDS, in batches of BATCH cases (each batch with a fresh
# random seed), JOBS properties at a time, and prints the cases each ran. Stops at the first
# failure, whose shrunk input proptest prints.
#
# usage: scripts/fuzz.sh [SECONDS] [JOBS]   (default 600 seconds per property, 2 at a time)
# environment: BATCH (cases per batch, default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-600}"
jobs="${2:-2}"
export BATCH="${BATCH:-1000000}"
cargo test --release -p actprm-core --test fuzz_readers --no-run
cargo test --release -p actprm-app --lib --no-run

# package | test target | test name
properties=(
    "actprm-core|--test fuzz_readers|processbench_never_panics"
    "actprm-core|--test fuzz_readers|training_rows_never_panic"
    "actprm-core|--test fuzz_readers|unlabelled_rows_never_panic"
    "actprm-core|--test fuzz_readers|stepwise_rows_never_panic"
    "actprm-core|--test fuzz_readers|prm800k_rows_never_panic"
    "actprm-core|--test fuzz_readers|prmbench_rows_never_panic"
    "actprm-core|--test fuzz_readers|checkpoint_config_never_panics"
    "actprm-core|--test fuzz_readers|tokenizer_loader_never_panics"
    "actprm-app|--lib|scene::tests::fuzz::the_hash_parser_never_panics_and_keeps_thresholds_in_range"
)

campaign() {
    local package target name
    IFS='|' read -r package target name <<<"$1"
    local seconds="$2" started=$SECONDS cases=0 log
    log="$(mktemp)"
    while (( SECONDS - started < seconds )); do
        # shellcheck disable=SC2086
        if ! ACTPRM_FUZZ_CASES="$BATCH" cargo test -q --release -p "$package" $target -- \
            --exact "$name" >"$log" 2>&1; then
            echo "$name: FAILED after $cases cases; its output is in $log" >&2
            return 1
        fi
        cases=$((cases + BATCH))
    done
    rm -f "$log"
    echo "$name: $cases cases in $((SECONDS - started)) s, no failure"
}
export -f campaign

printf '%s\n' "${properties[@]}" | xargs -P "$jobs" -I{} bash -c 'campaign "$1" "$2"' _ {} "$seconds"
