# Sourced by the scripts that run the `actprm` binary. `actprm_binary` prints its path:
# $ACTPRM_BIN when set (CI points it at the binary its tests built, so nothing is built twice),
# else the release binary, built first (quietly) when it is out of date.
actprm_binary() {
    if [ -n "${ACTPRM_BIN:-}" ]; then
        [ -x "$ACTPRM_BIN" ] || { echo "error: ACTPRM_BIN=$ACTPRM_BIN is not an executable" >&2; return 1; }
        echo "$ACTPRM_BIN"
        return
    fi
    local root
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    (cd "$root" && cargo build --release --quiet -p actprm-native) >&2
    local target
    target="$(cd "$root" && cargo metadata --no-deps --format-version 1 |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
    echo "$target/release/actprm"
}
