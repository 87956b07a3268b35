# Shared by peer-samples.sh and peer-build.sh (sourced, not run): copying a
# driver's tree and running one stage of a peer run with a summary line.
# Expects $scratch (with logs/), and appends to the arrays summary and
# failed set by the caller.

# copy SRC DEST: the tree without build output or git metadata.
copy() {
    rm -rf "$2"
    mkdir -p "$2"
    (cd "$1" && tar --exclude=./target --exclude=./.git -cf - .) | (cd "$2" && tar -xf -)
}

# stage DRIVER NAME COMMAND...: runs one stage, its output in
# $scratch/logs/DRIVER.NAME.log; on failure records DRIVER's summary line
# with the first errors, sets failed=1 and returns 1.
stage() {
    local driver=$1 name=$2
    shift 2
    local log="$scratch/logs/$driver.$name.log"
    echo "peer: $driver: $name: $*"
    if "$@" >"$log" 2>&1; then
        return 0
    fi
    local why
    # rustc's and Cargo's errors, a panic and the line after it, and what a
    # build script's `fn main() -> Result` printed (`Error: ...`).
    why=$(grep -E -A1 '^error|panicked at|^ +Error: ' "$log" |
        grep -v -E '^--$|aborting due to|could not compile|^warning: build failed|^note: To improve backtraces' |
        head -n 8 | sed 's/^ */      /')
    summary+=("$driver: $name FAILED (log $log)"$'\n'"$why")
    failed=1
    return 1
}

# resolve ROOT_DIR: the patched workspace's resolution. A Cargo.lock the
# driver ships pins the real crates' exact versions, which a patch of another
# version does not replace: `cargo update -p` moves each to its stand-in
# first (the lock is the only file it changes).
resolve() {
    local specs=() spec
    while read -r spec; do specs+=(-p "$spec"); done < <(python3 "$here/peer_workspace.py" locked "$1")
    if [[ ${#specs[@]} -gt 0 ]]; then
        echo "peer: unpinning the real crates in $1/Cargo.lock: ${specs[*]}"
        cargo update --manifest-path "$1/Cargo.toml" "${specs[@]}"
    fi
    cargo metadata --format-version 1 --manifest-path "$1/Cargo.toml" >/dev/null
}

# missing DRIVER: the names DRIVER's failed build could not find in the
# stand-ins (wdk_sys::ntddk::DbgPrint, IRP, ...), with how many errors named
# each, from its build logs: the 40 most named, and how many more there are.
# (awk reads the whole list: a reader that stopped early would fail the
# pipeline under pipefail.)
missing() {
    local logs=("$scratch/logs/$1".*.log)
    [[ -e "${logs[0]}" ]] || return 0
    python3 "$here/peer_workspace.py" missing "${logs[@]}" |
        awk 'NR <= 40 { print } END { if (NR > 40) printf "     … and %d more names (the build log has them)\n", NR - 40 }'
}

peer_user_rustflags=${RUSTFLAGS+set}${CARGO_ENCODED_RUSTFLAGS+set}

# driver_rustflags DIR: exports CARGO_ENCODED_RUSTFLAGS for a build run in
# DIR: the driver's own build.rustflags without +crt-static (with which
# proc-macro crates cannot build on Linux), unless RUSTFLAGS or
# CARGO_ENCODED_RUSTFLAGS is set, which then wins as Cargo's precedence says.
driver_rustflags() {
    if [[ -n "$peer_user_rustflags" ]]; then
        return 0
    fi
    CARGO_ENCODED_RUSTFLAGS=$(python3 "$here/peer_workspace.py" rustflags "$1")
    export CARGO_ENCODED_RUSTFLAGS
}
