#!/usr/bin/env bash
# Runs Microsoft's Rust drivers on kmdf-sim with their own manifests: the
# version requirements stay as written; the test workspace gets patch.sh's
# [patch.crates-io] block and its test package as a member, and each driver's
# crate-type gets "rlib" — the only manifest edits. Then the tests of
# kmdf-sim/compat/peer-tests/ drive each driver (load, devices, I/O, PnP
# restarts, unload) and the script reports how far each got.
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
        names=$(missing "$driver" | head -n 40)
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

if [[ -n "$samples" ]]; then
    ws="$scratch/samples"
    copy "$samples" "$ws"
    py patch "$ws/Cargo.toml" "$scratch/patch.toml"
    py rlib "$ws/$echo_drv/Cargo.toml"
    py rlib "$ws/$leak_drv/Cargo.toml"
    py tests "$ws/kmdf-sim-peer-tests" kmdf-sim-peer-tests \
        "$(py lib-name "$ws/$echo_drv/Cargo.toml" | tr _ -)=../$echo_drv" \
        "fail_driver_pool_leak=../$leak_drv" \
        --test peer-echo="$tests/echo.rs" --test peer-pool-leak="$tests/pool_leak.rs" --sim "$sim"
    py member "$ws/Cargo.toml" kmdf-sim-peer-tests
    # Inside the workspace, where wdk-build looks for the top-level manifest
    # from a dependency's build script (OUT_DIR).
    export CARGO_TARGET_DIR="$ws/target"
    drive_all "$ws" DriverSync kmdf-sim-peer-tests peer-echo
    drive_all "$ws" fail_driver_pool_leak kmdf-sim-peer-tests peer-pool-leak
fi

if [[ -n "$wdr" ]]; then
    root="$scratch/windows-drivers-rs"
    "$compat/patch.sh" --lay "$root/crates" "$wdr"
    for ex in kmdf wdm; do
        copy "$wdr/examples/sample-$ex-driver" "$root/examples/sample-$ex-driver"
        py rlib "$root/examples/sample-$ex-driver/Cargo.toml"
        py tests "$root/tests-$ex" "kmdf-sim-peer-$ex" "sample-$ex-driver=../examples/sample-$ex-driver" \
            --test "peer-$ex"="$tests/wdr_sample_$ex.rs" --sim "$sim" --root
    done
    export CARGO_TARGET_DIR="$root/target"
    drive_all "$root/tests-kmdf" sample-kmdf-driver kmdf-sim-peer-kmdf peer-kmdf
    drive_all "$root/tests-wdm" sample-wdm-driver kmdf-sim-peer-wdm peer-wdm
fi

echo
echo "peer-samples: summary"
for line in "${summary[@]}"; do
    echo "  $line"
done
exit $failed
