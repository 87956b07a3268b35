#!/usr/bin/env bash
# Runs Microsoft's Rust drivers on kmdf-sim with their own manifests: the
# version requirements stay as written; the workspace root's manifest gets
# patch.sh's [patch.crates-io] block and each driver's crate-type gets
# "rlib" — the only manifest edits. A test file added to each driver's tests/
# runs a test of kmdf-sim/compat/peer-tests/ against it (load, devices, I/O,
# PnP restarts, unload), and the script reports how far each driver got.
#
#   kmdf-sim/scripts/peer-samples.sh [--samples DIR] [--wdr DIR] [--keep DIR]
#
#   --samples DIR  a microsoft/Windows-rust-driver-samples checkout: DriverSync
#                  (echo) and fail_driver_pool_leak, in a copy of the samples'
#                  own workspace
#   --wdr DIR      a microsoft/windows-drivers-rs checkout: examples/
#                  sample-kmdf-driver and sample-wdm-driver, which name the
#                  crates by path (../../crates/wdk); the stand-ins of the line
#                  DIR's crates carry are laid there (patch.sh --lay)
#   --keep DIR     build in DIR and keep it (default: a temporary directory)
#
# Each driver goes through three stages — resolve (cargo metadata), build
# (cargo test --no-run), run (cargo test) — and the summary names the first
# that failed with its first errors; logs are in <scratch>/logs. Exit status
# 0 only if every driver ran and passed. The drivers' .cargo/config.toml adds
# `-C target-feature=+crt-static`, with which proc-macro crates cannot build
# on Linux: the script passes their build.rustflags without it in
# CARGO_ENCODED_RUSTFLAGS (your RUSTFLAGS, if set, wins). Needs cargo,
# python3 >= 3.11, and crates.io for the samples' own dependencies (anyhow,
# paste) unless cached. Not run by CI (CI never reaches GitHub);
# kmdf-sim/compat/README.md has the results.
set -euo pipefail

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit "${1:-2}"
}

samples="" wdr="" scratch=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --samples) [[ $# -ge 2 ]] || usage; samples=$(cd "$2" 2>/dev/null && pwd) || { echo "peer-samples: $2 is not a directory" >&2; exit 2; }; shift 2 ;;
        --wdr) [[ $# -ge 2 ]] || usage; wdr=$(cd "$2" 2>/dev/null && pwd) || { echo "peer-samples: $2 is not a directory" >&2; exit 2; }; shift 2 ;;
        --keep) [[ $# -ge 2 ]] || usage; mkdir -p "$2"; scratch=$(cd "$2" && pwd); shift 2 ;;
        -h | --help) usage 0 ;;
        *) usage ;;
    esac
done
[[ -n "$samples" || -n "$wdr" ]] || { echo "peer-samples: pass --samples DIR, --wdr DIR or both" >&2; usage; }

here=$(cd "$(dirname "$0")" && pwd)
sim=$(cd "$here/.." && pwd)
compat="$sim/compat"
tests="$compat/peer-tests"
py() { python3 "$here/peer_workspace.py" "$@"; }
python3 -c 'import tomllib' 2>/dev/null || { echo "peer-samples: needs python3 >= 3.11 (tomllib)" >&2; exit 2; }

echo_drv=general/echo/kmdf/driver/DriverSync
leak_drv=tools/dv/kmdf/fail_driver_pool_leak
if [[ -n "$samples" ]]; then
    for d in "$echo_drv" "$leak_drv"; do
        [[ -f "$samples/$d/Cargo.toml" ]] || { echo "peer-samples: $samples/$d/Cargo.toml is missing; pass the root of a Windows-rust-driver-samples checkout" >&2; exit 2; }
    done
fi
if [[ -n "$wdr" ]]; then
    for d in examples/sample-kmdf-driver examples/sample-wdm-driver crates/wdk-sys; do
        [[ -f "$wdr/$d/Cargo.toml" ]] || { echo "peer-samples: $wdr/$d/Cargo.toml is missing; pass the root of a windows-drivers-rs checkout" >&2; exit 2; }
    done
fi

if [[ -z "$scratch" ]]; then
    scratch=$(mktemp -d -t kmdf-sim-peers.XXXXXX)
    trap 'rm -rf "$scratch"' EXIT
fi
echo "peer-samples: scratch $scratch"
mkdir -p "$scratch/logs"
"$compat/patch.sh" >"$scratch/patch.toml"

summary=()
failed=0
# shellcheck source=peer-lib.sh
source "$here/peer-lib.sh"

# drive DIR DRIVER PACKAGE TEST: resolve, build and run one test target of
# the test workspace DIR, from DIR (where cargo reads the driver's config).
drive() {
    local dir=$1 driver=$2 package=$3 test=$4 manifest="$1/Cargo.toml"
    cd "$dir"
    driver_rustflags "$dir"
    stage "$driver" resolve resolve "$dir" || return 0
    if ! stage "$driver" build cargo test --no-run --manifest-path "$manifest" -p "$package" --test "$test"; then
        local names
        names=$(missing "$driver")
        [[ -z "$names" ]] || summary+=("$driver: names the stand-ins lack (count, what):"$'\n'"$(sed 's/^/      /' <<<"$names")")
        return 0
    fi
    stage "$driver" run cargo test --manifest-path "$manifest" -p "$package" --test "$test" -- --nocapture --test-threads 1 || return 0
    summary+=("$driver: ran, tests passed ($(grep -h '^test result' "$scratch/logs/$driver.run.log" | head -n 1))")
}
drive_all() { # drive from the scratch root, whatever a failed stage left as cwd
    drive "$@" || true
    cd "$scratch"
}

# add_test DRIVER_DIR NAME FILE: the driver's integration test NAME runs
# FILE (kmdf-sim/compat/peer-tests/) against it — a new file in its tests/,
# which Cargo's test discovery finds: no manifest edit. The stand-in wdk-sys
# re-exports kmdf-sim, whose name FILE uses.
add_test() {
    local dir=$1 name=$2 file=$3
    python3 - "$dir/Cargo.toml" <<'PY' || exit 2
import sys, tomllib
package = tomllib.load(open(sys.argv[1], "rb")).get("package", {})
if package.get("autotests") is False:
    sys.exit(f"peer-samples: {sys.argv[1]} sets autotests = false: a test file would not be found")
PY
    mkdir -p "$dir/tests"
    cat >"$dir/tests/$name.rs" <<RS
//! Written by kmdf-sim/scripts/peer-samples.sh: $file, run against this
//! driver. The stand-in wdk-sys re-exports kmdf-sim, whose name it uses.
extern crate wdk_sys as kmdf_sim;

#[path = "$file"]
mod peer;
RS
}

# package_name MANIFEST
package_name() {
    python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["package"]["name"])' "$1"
}

if [[ -n "$samples" ]]; then
    ws="$scratch/samples"
    copy "$samples" "$ws"
    py patch "$ws/Cargo.toml" "$scratch/patch.toml"
    py rlib "$ws/$echo_drv/Cargo.toml"
    py rlib "$ws/$leak_drv/Cargo.toml"
    add_test "$ws/$echo_drv" kmdf_sim_peer_echo "$tests/echo.rs"
    add_test "$ws/$leak_drv" kmdf_sim_peer_pool_leak "$tests/pool_leak.rs"
    # Inside the workspace, where wdk-build looks for the top-level manifest
    # from a dependency's build script (OUT_DIR).
    export CARGO_TARGET_DIR="$ws/target"
    drive_all "$ws" DriverSync "$(package_name "$ws/$echo_drv/Cargo.toml")" kmdf_sim_peer_echo
    drive_all "$ws" fail_driver_pool_leak "$(package_name "$ws/$leak_drv/Cargo.toml")" kmdf_sim_peer_pool_leak
fi

if [[ -n "$wdr" ]]; then
    root="$scratch/windows-drivers-rs"
    "$compat/patch.sh" --lay "$root/crates" "$wdr"
    for ex in kmdf wdm; do
        copy "$wdr/examples/sample-$ex-driver" "$root/examples/sample-$ex-driver"
        py rlib "$root/examples/sample-$ex-driver/Cargo.toml"
        add_test "$root/examples/sample-$ex-driver" "kmdf_sim_peer_$ex" "$tests/wdr_sample_$ex.rs"
    done
    export CARGO_TARGET_DIR="$root/target"
    drive_all "$root/examples/sample-kmdf-driver" sample-kmdf-driver sample-kmdf-driver kmdf_sim_peer_kmdf
    drive_all "$root/examples/sample-wdm-driver" sample-wdm-driver sample-wdm-driver kmdf_sim_peer_wdm
fi

echo
echo "peer-samples: summary"
for line in "${summary[@]}"; do
    echo "  $line"
done
exit $failed
