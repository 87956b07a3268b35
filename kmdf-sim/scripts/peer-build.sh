#!/usr/bin/env bash
# Builds someone's windows-drivers-rs driver against kmdf-sim's stand-ins by
# the Cargo-level change alone, and reports how far it got: a copy of the
# driver's workspace gets patch.sh's [patch.crates-io] block in its root
# manifest and "rlib" in the driver's crate-type; nothing else changes.
#
#   kmdf-sim/scripts/peer-build.sh [--keep DIR] [--tree DIR | --wdr DIR] PACKAGE_DIR...
#
# PACKAGE_DIR is the directory of a driver's Cargo.toml inside a checkout
# (the workspace around it is found as Cargo finds it). The workspace's
# directory is copied; --tree DIR copies DIR instead (the checkout's root,
# for path dependencies outside the workspace). --wdr DIR is for drivers
# inside a windows-drivers-rs checkout that name its crates by path: each
# package alone is copied to the same place under a scratch tree whose
# crates/ holds the stand-ins of DIR's line (patch.sh --lay). Stages: resolve
# (cargo metadata), build (cargo build --lib). The summary names the first
# stage that failed, its first errors, and every name the stand-ins lack
# (unresolved imports, functions, types) with its count — the simulator's
# work list. The driver's own .cargo/config.toml build.rustflags are passed
# without `-C target-feature=+crt-static` (it stops proc-macro crates on
# Linux) in CARGO_ENCODED_RUSTFLAGS — your RUSTFLAGS, if set, wins; a
# rust-toolchain.toml is overridden by RUSTUP_TOOLCHAIN (the
# toolchain active outside the checkout unless you set it), so no toolchain
# is downloaded — a driver that needs nightly features then fails at build,
# saying so. Needs cargo, python3 >= 3.11, crates.io for the driver's other
# dependencies. Not run by CI.
set -euo pipefail

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit "${1:-2}"
}

scratch="" tree="" wdr=""
packages=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --keep) [[ $# -ge 2 ]] || usage; mkdir -p "$2"; scratch=$(cd "$2" && pwd); shift 2 ;;
        --tree) [[ $# -ge 2 ]] || usage; tree=$(cd "$2" 2>/dev/null && pwd) || { echo "peer-build: $2 is not a directory" >&2; exit 2; }; shift 2 ;;
        --wdr) [[ $# -ge 2 ]] || usage; wdr=$(cd "$2" 2>/dev/null && pwd) || { echo "peer-build: $2 is not a directory" >&2; exit 2; }; shift 2 ;;
        -h | --help) usage 0 ;;
        -*) usage ;;
        *) [[ -f "$1/Cargo.toml" ]] || { echo "peer-build: $1/Cargo.toml is missing" >&2; exit 2; }; packages+=("$(cd "$1" && pwd)"); shift ;;
    esac
done
[[ ${#packages[@]} -gt 0 ]] || usage

here=$(cd "$(dirname "$0")" && pwd)
compat="$(cd "$here/.." && pwd)/compat"
py() { python3 "$here/peer_workspace.py" "$@"; }
python3 -c 'import tomllib' 2>/dev/null || { echo "peer-build: needs python3 >= 3.11 (tomllib)" >&2; exit 2; }

if [[ -z "$scratch" ]]; then
    scratch=$(mktemp -d -t kmdf-sim-peer-build.XXXXXX)
    trap 'rm -rf "$scratch"' EXIT
fi
echo "peer-build: scratch $scratch"
mkdir -p "$scratch/logs"
"$compat/patch.sh" >"$scratch/patch.toml"
if [[ -z "${RUSTUP_TOOLCHAIN:-}" ]] && command -v rustup >/dev/null; then
    RUSTUP_TOOLCHAIN=$(cd "$scratch" && rustup show active-toolchain | cut -d' ' -f1)
    export RUSTUP_TOOLCHAIN
fi

summary=()
failed=0
# shellcheck source=peer-lib.sh
source "$here/peer-lib.sh"

if [[ -n "$wdr" ]]; then
    "$compat/patch.sh" --lay "$scratch/wdr/crates" "$wdr"
fi

for package in "${packages[@]}"; do
    if [[ -n "$wdr" ]]; then
        [[ "$package/" == "$wdr/"* ]] || { echo "peer-build: $package is not inside $wdr" >&2; exit 2; }
        rel=${package#"$wdr"}
        name=wdr${rel//\//-}
        ws="$scratch/wdr$rel"
        copy "$package" "$ws"
        pkg_dir=$ws
    else
        root=$(py root "$package")
        src=${tree:-$root}
        [[ "$package/" == "$src/"* ]] || { echo "peer-build: $package is not inside $src" >&2; exit 2; }
        rel=${package#"$src"}
        name=$(basename "$src")${rel//\//-}
        copy "$src" "$scratch/$name"
        ws="$scratch/$name${root#"$src"}"
        pkg_dir="$scratch/$name$rel"
    fi
    pkg=$(python3 -c 'import sys,tomllib; print(tomllib.load(open(sys.argv[1],"rb"))["package"]["name"])' "$pkg_dir/Cargo.toml")
    py patch "$ws/Cargo.toml" "$scratch/patch.toml"
    py rlib "$pkg_dir/Cargo.toml"
    cd "$pkg_dir"
    driver_rustflags "$pkg_dir"
    # The target directory inside the workspace, where wdk-build looks for
    # the top-level manifest from a dependency's build script (OUT_DIR).
    export CARGO_TARGET_DIR="$ws/target"
    if stage "$name" resolve resolve "$ws" &&
        stage "$name" build cargo build --lib -p "$pkg"; then
        summary+=("$name: builds as an rlib against the stand-ins")
    fi
    names=$(missing "$name")
    [[ -z "$names" ]] || summary+=("$name: names the stand-ins lack (count, what):"$'\n'"$(sed 's/^/      /' <<<"$names")")
    cd "$scratch"
done

echo
echo "peer-build: summary"
for line in "${summary[@]}"; do
    echo "  $line"
done
exit $failed
