#!/usr/bin/env bash
# Runs microsoft/Windows-rust-driver-samples' KMDF drivers, unmodified, on
# kmdf-sim: builds a scratch Cargo workspace whose member manifests point at
# the samples' own src/lib.rs and build.rs, with wdk, wdk-sys, wdk-alloc,
# wdk-panic and wdk-build resolved to kmdf-sim/compat (a Cargo-level change
# only; no source file of theirs is copied or edited), then runs the tests
# of kmdf-sim/compat/peer-tests against them.
#
#   kmdf-sim/scripts/peer-samples.sh <path to Windows-rust-driver-samples> [--keep <dir>]
#
# Needs cargo and python3 (3.11+, for tomllib); fetches the samples' own
# crates.io dependencies (anyhow, paste) if they are not cached. Not run by
# CI (CI never reaches GitHub); CI runs kmdf-sim/compat's own sample driver.
set -euo pipefail

usage() {
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

[[ $# -ge 1 ]] || usage
case "$1" in -h|--help) usage ;; esac
samples=$(cd "$1" 2>/dev/null && pwd) || { echo "peer-samples: $1 is not a directory" >&2; exit 2; }
shift
scratch=""
if [[ $# -gt 0 ]]; then
    [[ "$1" == "--keep" && $# -eq 2 ]] || usage
    mkdir -p "$2"
    scratch=$(cd "$2" && pwd)
fi

here=$(cd "$(dirname "$0")" && pwd)
sim=$(cd "$here/.." && pwd)
for d in general/echo/kmdf/driver/DriverSync tools/dv/kmdf/fail_driver_pool_leak; do
    if [[ ! -f "$samples/$d/Cargo.toml" || ! -f "$samples/$d/src/lib.rs" ]]; then
        echo "peer-samples: $samples/$d/Cargo.toml or src/lib.rs is missing;" \
             "pass the root of a Windows-rust-driver-samples checkout" >&2
        exit 2
    fi
done
[[ -f "$samples/Cargo.toml" ]] || { echo "peer-samples: no workspace Cargo.toml in $samples" >&2; exit 2; }
python3 -c 'import tomllib' 2>/dev/null || { echo "peer-samples: needs python3 >= 3.11 (tomllib)" >&2; exit 2; }

if [[ -z "$scratch" ]]; then
    scratch=$(mktemp -d -t kmdf-sim-peers.XXXXXX)
    trap 'rm -rf "$scratch"' EXIT
fi
echo "peer-samples: scratch workspace $scratch"

python3 "$here/peer_workspace.py" "$samples" "$sim" "$scratch"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$scratch/target}"
status=0
for t in peer-echo peer-pool-leak; do
    echo "peer-samples: cargo test -p $t"
    if ! cargo test --manifest-path "$scratch/Cargo.toml" -p "$t" -- --nocapture --test-threads 1; then
        status=1
    fi
done
if [[ $status -eq 0 ]]; then
    echo "peer-samples: PASS (DriverSync served and restarted clean; fail_driver_pool_leak caught at unload)"
else
    echo "peer-samples: FAIL (see above)" >&2
fi
exit $status
